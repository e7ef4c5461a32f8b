// request-timeout: a request running longer than serve.timeout is killed by the app server
// itself (uWSGI harakiri, gunicorn's sync-worker timeout), and the client gets the front's
// 502 for that kill — before the front's own read timeout would have answered 504 while the
// worker ran on. Then the app server serves again (the killed worker was replaced).
// Runs only where a kill exists (catalog requestKill) and serve.timeout is short enough to
// wait for: test stacks with a small timeout (test/fixtures/timeouts/) prove it on every
// verify target; a production timeout (60 s) is skipped, not waited out.

import { parseDuration } from '../gateway/config.js';
import { SERVERS } from '../topology/catalog/servers.js';
import { probePaths } from './contract.js';
import { httpRequest } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

/** The longest serve.timeout verify waits out. */
export const MAX_WAITED_TIMEOUT_S = 10;
/** How long the replaced worker may take to serve again. */
const RESPAWN_MS = 10_000;

interface Observed {
  status: number | null;
  ms: number;
  error?: string;
  /** The status of the next request (200: the killed worker was replaced). */
  after: number | null;
  afterError?: string;
}

function readMs(ctx: { plan: { spec: { proxy: { timeouts: { read: string } } } } }): number {
  return parseDuration(ctx.plan.spec.proxy.timeouts.read) ?? 0;
}

export const requestTimeoutProbe: ProbeDefinition<Observed> = {
  id: 'request-timeout',
  title: "a request past serve.timeout → the app server's kill (502) before the proxy's 504",
  phase: 'exclusive',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip(ctx) {
    const { serve } = ctx.plan.spec;
    if (ctx.plan.front.kind === 'none') return 'no proxy: no read timeout to race';
    const app = ctx.plan.appServer;
    if (!app || !SERVERS[app.server].requestKill[app.concurrency])
      return `no per-request kill under ${app ? `${SERVERS[app.server].title} ${app.concurrency}` : 'CGI'}`;
    if (serve.timeout > MAX_WAITED_TIMEOUT_S)
      return `serve.timeout ${serve.timeout} s is longer than verify waits (${MAX_WAITED_TIMEOUT_S} s)`;
    return null;
  },
  expect: (ctx) =>
    `502 after ${ctx.plan.spec.serve.timeout}–${readMs(ctx) / 1000} s (serve.timeout … proxy read timeout), then 200`,
  async observe(ctx) {
    const read = readMs(ctx);
    // Sleeps past the proxy's read timeout: only the app server's kill can end it sooner.
    const sleepMs = read + 2000;
    const t0 = performance.now();
    let first: { status: number | null; ms: number; error?: string };
    try {
      const answer = await httpRequest(ctx.front, probePaths.slow(sleepMs), {
        signal: ctx.signal,
        timeoutMs: sleepMs + 5000,
      });
      first = { status: answer.status, ms: Math.round(performance.now() - t0) };
    } catch (err) {
      first = { status: null, ms: Math.round(performance.now() - t0), error: (err as Error).message };
    }
    // The app server must serve again: the killed worker was replaced, not lost.
    const deadline = performance.now() + RESPAWN_MS;
    let after: number | null = null;
    let afterError: string | undefined;
    while (performance.now() < deadline && after !== 200) {
      try {
        after = (await httpRequest(ctx.front, probePaths.slow(10), { signal: ctx.signal, timeoutMs: 5000 }))
          .status;
      } catch (err) {
        afterError = (err as Error).message;
      }
      if (after !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    return { ...first, after, ...(afterError && after !== 200 ? { afterError } : {}) };
  },
  judge(o, ctx) {
    const killAt = ctx.plan.spec.serve.timeout * 1000;
    const read = readMs(ctx);
    if (o.status === null) return fail(`no answer after ${o.ms} ms: ${o.error}`);
    if (o.status === 504)
      return fail(`504 after ${o.ms} ms: the proxy's read timeout answered, not the app server's kill`);
    if (o.status !== 502) return fail(`${o.status} after ${o.ms} ms`);
    if (o.ms < killAt) return fail(`502 after ${o.ms} ms, before serve.timeout (${killAt} ms)`);
    if (o.ms >= read) return fail(`502 only after ${o.ms} ms, past the proxy's read timeout (${read} ms)`);
    if (o.after !== 200)
      return fail(
        `502 after ${o.ms} ms, but then ${o.after ?? o.afterError}: the app server did not serve again`,
      );
    return pass(`502 after ${o.ms} ms (killed at serve.timeout ${killAt} ms < read ${read} ms), then 200`);
  },
};
