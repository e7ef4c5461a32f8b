// request-framing: what the front does with several requests on one connection (RFC 9112),
// nginx's behaviour being the bar. Raw bytes on one socket, because a well-behaved client
// never sends them — but anything sharing connections in front of the stack (a CDN, a load
// balancer) forwards whatever its clients pipeline:
// - a request refused for its head (HTTP/1.1 without Host) closes the connection, and the
//   request pipelined behind it never reaches the app (request smuggling);
// - a request the app ran is answered even when bad bytes follow it (the answer first, then
//   the 400 or the close), not replaced by a 400;
// - an RTSP/1.0 request line is 400 (node's parser would take it for HTTP/1.0), and so is
//   one pipelined behind a request with a framing field (Content-Length): every request on a
//   connection is read by the same rules, whatever came before it (the gateway once handed
//   such a connection to node's parser, which then served the RTSP line as HTTP/1.0);
// - a request carrying an Upgrade the front does not tunnel (h2c) is an ordinary request,
//   and the one pipelined behind it is answered too.
// Every check judges the answers the client reads; with the probe app, its request counter
// also shows what reached the app.

import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readCounter } from './counter.js';
import { httpRequest, mountedPath, type Target, tlsClientOptions } from './http.js';
import { fail, pass, type ProbeContext, type ProbeDefinition } from './types.js';

/** What the client read on one connection: the status of each answer, and whether it closed. */
export interface RawExchange {
  statuses: number[];
  closed: boolean;
  error: string | null;
}

interface Check {
  name: string;
  exchange: RawExchange;
  /** Requests the app counted during the check (null without the probe app's counter). */
  reached: number | null;
}

interface Observed {
  plainStatus: number | null;
  checks: Check[];
  error: string | null;
}

/** The statuses of every answer in `bytes` (HTTP/1.x status lines at answer boundaries). Pure. */
export function answerStatuses(bytes: Buffer): number[] {
  const statuses: number[] = [];
  let at = 0;
  const text = bytes.toString('latin1');
  while (at < text.length) {
    const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text.slice(at));
    if (m === null) break;
    const status = Number(m[1]);
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd < 0) {
      statuses.push(status);
      break;
    }
    const head = text.slice(at, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    statuses.push(status);
    at = headEnd + 4;
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      // Skip chunks to the last one (size 0) and its empty trailer.
      for (;;) {
        const lineEnd = text.indexOf('\r\n', at);
        if (lineEnd < 0) return statuses;
        const size = Number.parseInt(text.slice(at, lineEnd), 16);
        at = lineEnd + 2 + size + 2;
        if (size === 0 || Number.isNaN(size)) break;
      }
    } else if (length !== null) at += Number(length[1]);
    else if (status !== 304 && status !== 204 && !(status >= 100 && status < 200)) break;
  }
  return statuses;
}

/** Send `bytes` on one connection; collect until the front closes or `idleMs` of silence. */
export function rawExchange(target: Target, bytes: string, idleMs = 1_500): Promise<RawExchange> {
  return new Promise((resolve) => {
    // Over TLS when the front's app path is https (the http addresses may only redirect).
    const socket = target.tls
      ? tlsConnect({ port: target.port, host: target.host, ...tlsClientOptions(target.tls) })
      : connect(target.port, target.host);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean, error: string | null) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ statuses: answerStatuses(Buffer.concat(chunks)), closed, error });
    };
    socket.setTimeout(idleMs, () => finish(false, null));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => finish(true, null));
    socket.on('close', () => finish(true, null));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(true, err.code === 'ECONNRESET' ? null : err.message),
    );
    socket.write(bytes, 'latin1');
  });
}

async function counted(ctx: ProbeContext, name: string, bytes: string): Promise<Check> {
  const before = await readCounter(ctx);
  const exchange = await rawExchange(ctx.front, bytes);
  const after = await readCounter(ctx);
  return { name, exchange, reached: before === null || after === null ? null : after - before };
}

export const requestFramingProbe: ProbeDefinition<Observed> = {
  id: 'request-framing',
  title: 'pipelined requests: nothing smuggled past a refusal, every request the app ran answered',
  phase: 'serial',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) => (ctx.plan.front.kind === 'none' ? 'no proxy: the app server parses requests itself' : null),
  expect: () =>
    'refused head: one 400, closed, nothing reaches the app; app answer before a trailing-garbage 400; RTSP/1.0 → 400, alone and behind a request with Content-Length; an untunnelled Upgrade and the request after it both answered',
  async observe(ctx) {
    const path = mountedPath(ctx.front, ctx.probe ? '/stackgen-verify/framing' : '/');
    const host = `Host: ${ctx.front.hostHeader ?? 'localhost'}\r\n`;
    try {
      const plain = await httpRequest(ctx.front, ctx.probe ? '/stackgen-verify/framing' : '/', {
        signal: ctx.signal,
      });
      const checks: Check[] = [];
      checks.push(
        await counted(
          ctx,
          'smuggled behind a refused head',
          `GET ${path} HTTP/1.1\r\n\r\nGET ${path}?smuggled=1 HTTP/1.1\r\n${host}\r\n`,
        ),
      );
      checks.push(
        await counted(
          ctx,
          'garbage after a request with a body',
          `GET ${path} HTTP/1.1\r\n${host}Content-Length: 0\r\n\r\ngarbage\r\n\r\n`,
        ),
      );
      checks.push(await counted(ctx, 'RTSP/1.0 request line', `GET ${path} RTSP/1.0\r\n${host}\r\n`));
      checks.push(
        await counted(
          ctx,
          'RTSP/1.0 behind a request with Content-Length',
          `GET ${path} HTTP/1.1\r\n${host}Content-Length: 0\r\n\r\nGET ${path} RTSP/1.0\r\n${host}\r\n`,
        ),
      );
      if (!ctx.plan.topology.paths.some((p) => p.kind === 'websocket'))
        checks.push(
          await counted(
            ctx,
            'pipelined behind an untunnelled Upgrade',
            `GET ${path} HTTP/1.1\r\n${host}Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\nGET ${path} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`,
          ),
        );
      return { plainStatus: plain.status, checks, error: null };
    } catch (err) {
      return { plainStatus: null, checks: [], error: (err as Error).message };
    }
  },
  judge(o) {
    if (o.error !== null || o.plainStatus === null) return fail(`plain request failed: ${o.error}`);
    const plain = o.plainStatus;
    const problems: string[] = [];
    const shown = (c: Check) =>
      `[${c.exchange.statuses.join(', ')}]${c.exchange.closed ? ' closed' : ' open'}${c.reached === null ? '' : `, app reached ${c.reached}×`}`;
    for (const c of o.checks) {
      const s = c.exchange.statuses;
      const ok =
        c.name === 'smuggled behind a refused head'
          ? s.length === 1 && s[0] === 400 && c.exchange.closed && (c.reached ?? 0) === 0
          : c.name === 'garbage after a request with a body'
            ? s[0] === plain &&
              (s.length === 1 ? c.exchange.closed : s.length === 2 && s[1] === 400) &&
              (c.reached ?? 1) === 1
            : c.name === 'RTSP/1.0 request line'
              ? s.length === 1 && s[0] === 400 && (c.reached ?? 0) === 0
              : c.name === 'RTSP/1.0 behind a request with Content-Length'
                ? s.length === 2 && s[0] === plain && s[1] === 400 && (c.reached ?? 1) === 1
                : s.length === 2 && s[0] === plain && s[1] === plain && (c.reached ?? 2) === 2;
      if (!ok) problems.push(`${c.name}: ${shown(c)}`);
    }
    if (problems.length > 0) return fail(problems.join('; '));
    return pass(o.checks.map((c) => `${c.name}: ${shown(c)}`).join('; '));
  },
};
