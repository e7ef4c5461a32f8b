// Readiness signals, polled tightly against a deadline: a socket that accepts a connection,
// an HTTP answer through the front. Every poll also asks whether the process is still
// alive, so a server that dies at start fails at once instead of at the deadline.

import { request } from 'node:http';
import { connect } from 'node:net';
import type { BoundEndpoint } from '../render/plan.js';
import { sleep } from './process.js';

export const POLL_MS = 20;

/** One connect attempt: true when the endpoint accepts within `timeoutMs`. */
export function isConnectable(ep: BoundEndpoint, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket =
      ep.kind === 'unix' ? connect({ path: ep.path }) : connect({ host: ep.host, port: ep.port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** One GET: the status, or null when nothing answered within `timeoutMs`. */
export function httpStatus(
  ep: { host: string; port: number },
  path: string,
  timeoutMs = 2000,
  hostHeader?: string,
): Promise<number | null> {
  return new Promise((resolve) => {
    const headers = hostHeader ? { Host: hostHeader } : {};
    const req = request(
      { host: ep.host, port: ep.port, path, agent: false, timeout: timeoutMs, headers },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? null));
        res.once('error', () => resolve(res.statusCode ?? null));
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(null));
    req.end();
  });
}

export type PollOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; why: 'deadline' | 'aborted' | 'gave-up'; detail: string };

/**
 * Poll `check` every POLL_MS until it returns a value, `giveUp` returns a reason (the
 * process died), the deadline passes, or `signal` aborts.
 */
export async function pollUntil<T>(
  check: () => Promise<T | null>,
  options: { deadline: number; giveUp?: () => string | null; signal?: AbortSignal | undefined },
): Promise<PollOutcome<T>> {
  for (;;) {
    if (options.signal?.aborted) return { ok: false, why: 'aborted', detail: 'interrupted' };
    const value = await check();
    if (value !== null) return { ok: true, value };
    const reason = options.giveUp?.() ?? null;
    if (reason !== null) return { ok: false, why: 'gave-up', detail: reason };
    if (Date.now() > options.deadline) return { ok: false, why: 'deadline', detail: 'deadline passed' };
    await sleep(POLL_MS);
  }
}
