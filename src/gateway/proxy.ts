// The proxy core: sends one buffered request to a backend of the matched location through
// the Transport interface (it knows no wire protocol), retries where that is safe, maps
// failures to 502/504/500 as nginx does, and streams the answer to the client with
// backpressure. A bad backend answer costs one request, never the gateway.

import type { Readable } from 'node:stream';
import { isStackgenError, statusFor, UpstreamError } from '../errors.js';
import { connectionOptions, HOP_BY_HOP, headerValue } from './hop-by-hop.js';
import { escapeLogField, type GatewayLogger } from './log.js';
import type { ResponseSink } from './response-sink.js';
import type { GatewayRequest, TransportTimeouts, UpstreamResponse } from './transport.js';
import type { Backend, UpstreamPool } from './upstream-pool.js';

export interface ProxyOutcome {
  status: number;
  bytes: number;
  upstreamMs: number | null;
  upstream: string | null;
}

// RFC 9110 §9.2.2: idempotent methods may be repeated after a failure "before the client is
// able to read the server's response"; nginx proxy_next_upstream retries only those.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Response header pairs as forwarded to the client (pure): hop-by-hop fields and those the
 * backend's Connection header names are removed; security headers are added where the
 * backend did not set the same field. Returns node's flat [name, value, …] form.
 */
export function responseHeadersForClient(
  headers: ReadonlyArray<readonly [string, string]>,
  securityHeaders: ReadonlyArray<readonly [string, string]>,
): string[] {
  const connectionTokens = connectionOptions(
    headers.length,
    (i) => (headers[i] as readonly [string, string])[0],
    (i) => (headers[i] as readonly [string, string])[1],
  );
  const out: string[] = [];
  const present = securityHeaders.length > 0 ? new Set<string>() : null;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || connectionTokens.includes(lower)) continue;
    present?.add(lower);
    out.push(name, value);
  }
  for (const [name, value] of securityHeaders) if (!present?.has(name.toLowerCase())) out.push(name, value);
  return out;
}

export interface ProxyArgs {
  sink: ResponseSink;
  request: GatewayRequest;
  pool: UpstreamPool;
  timeouts: TransportTimeouts;
  securityHeaders: ReadonlyArray<readonly [string, string]>;
  logger: GatewayLogger;
  /**
   * Serve a CGI local redirect (RFC 3875 §6.2.2) through the router. The redirected request's
   * own redispatch answers 500: a second redirect is a cycle (nginx ends one with 500 too).
   */
  redispatch: (path: string) => Promise<ProxyOutcome>;
}

/** Forward one request and write the answer to the sink. Never rejects. */
export async function proxyRequest(args: ProxyArgs): Promise<ProxyOutcome> {
  const { sink, request, pool, logger } = args;
  const started = performance.now();
  const tried = new Set<Backend>();
  let backend: Backend | null = null;
  let response: UpstreamResponse | null = null;
  let failure: unknown = null;
  while (response === null) {
    backend = pool.pick(tried, Date.now());
    if (backend === null) break;
    tried.add(backend);
    try {
      response = await backend.transport.request(request, args.timeouts);
    } catch (err) {
      failure = err;
      if (request.signal.aborted) break;
      if (isStackgenError(err, 'SG_ERR_UPSTREAM_CONNECT')) pool.markDown(backend, Date.now());
      const nothingSent = err instanceof UpstreamError && !err.sentAnything;
      const retry = nothingSent && IDEMPOTENT.has(request.method) && pool.backends.length > tried.size;
      logger.error(
        `${upstreamLine(backend.name, err)} while "${request.method} ${request.rawTarget}"` +
          (retry ? ', trying the next backend' : ''),
      );
      if (!retry) break;
    }
  }
  const upstreamMs = performance.now() - started;
  const upstream = backend?.name ?? null;

  if (response === null) {
    if (request.signal.aborted) return { status: 499, bytes: 0, upstreamMs, upstream };
    const status = statusFor(failure);
    return { ...sink.sendError(status), upstreamMs, upstream };
  }

  const body = response.body;
  const complete = Buffer.isBuffer(body) ? body : null;
  const stream = complete === null ? (body as Readable) : null;

  if (response.localRedirect !== undefined) {
    stream?.resume();
    const outcome = await args.redispatch(response.localRedirect);
    return { ...outcome, upstreamMs, upstream };
  }

  const status = response.status;
  const bodyless = request.method === 'HEAD' || status === 204 || status === 304 || status < 200;
  // Most answers are small and already here (or one event-loop turn away) when the head is:
  // send them with a Content-Length in one write instead of chunk by chunk (nginx's
  // proxy_buffering does the same). Larger or slower bodies stream with backpressure.
  const early =
    bodyless || stream === null
      ? { chunks: bodyless ? [] : [complete as Buffer], complete: true }
      : await takeBuffered(stream);
  if (stream?.errored && early.complete === false && early.chunks.length === 0) {
    logger.error(
      `${upstreamLine(upstream, stream.errored)} before the body of "${escapeLogField(request.rawTarget)}"`,
    );
    return { ...sink.sendError(502), upstreamMs, upstream };
  }
  let payload: Buffer | null = null;
  try {
    const flat = responseHeadersForClient(response.headers, args.securityHeaders);
    if (early.complete && !bodyless) {
      payload = early.chunks.length === 1 ? (early.chunks[0] as Buffer) : Buffer.concat(early.chunks);
      if (!hasHeader(flat, 'content-length')) flat.push('Content-Length', String(payload.length));
    }
    sink.writeHead(status, response.statusText, flat);
  } catch (err) {
    // node refuses invalid status codes and header bytes (CR/LF, NUL, bad token chars).
    // Nothing has reached the client yet, so it gets a clean 502 instead.
    stream?.destroy();
    logger.error(
      `upstream ${upstream}: invalid response head (${describeError(err)}) for "${request.rawTarget}"`,
    );
    return { ...sink.sendError(502), upstreamMs, upstream };
  }
  if (bodyless) {
    stream?.resume();
    sink.end();
    return { status, bytes: 0, upstreamMs, upstream };
  }
  if (payload !== null) {
    sink.end(payload);
    return { status, bytes: payload.length, upstreamMs, upstream };
  }
  try {
    const bytes = await sink.pipeFrom(early.chunks, stream as Readable);
    return { status, bytes, upstreamMs, upstream };
  } catch (err) {
    // Headers are gone already: the only honest signal left is to cut the connection (nginx
    // does the same), so the client sees a truncated response rather than a "complete" one.
    if (!request.signal.aborted)
      logger.error(`${upstreamLine(upstream, err)} while streaming "${escapeLogField(request.rawTarget)}"`);
    sink.destroy();
    return { status, bytes: 0, upstreamMs, upstream };
  }
}

/** Largest body collected before the head is sent (beyond it, stream). */
const COLLECT_LIMIT = 64 * 1024;

/**
 * Read what the backend has already delivered, waiting at most one event-loop turn for
 * more. `complete` is true when that is the whole body (so it can go out in one write).
 */
function takeBuffered(body: Readable): Promise<{ chunks: Buffer[]; complete: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (complete: boolean) => {
      if (done) return;
      done = true;
      clearImmediate(turn);
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
      resolve({ chunks, complete });
    };
    const onReadable = () => {
      while (size <= COLLECT_LIMIT) {
        const chunk = body.read() as Buffer | null;
        if (chunk === null) break;
        chunks.push(chunk);
        size += chunk.length;
      }
      if (size > COLLECT_LIMIT) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = () => finish(false);
    // Two turns: the body's last bytes and the backend's EOF often land one poll apart.
    let turn = setImmediate(() => {
      turn = setImmediate(() => finish(false));
    });
    body.on('readable', onReadable);
    body.once('end', onEnd);
    body.once('error', onError);
  });
}

function hasHeader(flat: readonly string[], lower: string): boolean {
  return headerValue(flat, lower) !== undefined;
}

/**
 * A log line's start for a failure of backend `name`: an upstream error's message names its
 * target already (`upstream NAME: cannot connect…`); anything else gets the same prefix.
 */
export function upstreamLine(name: string | null, err: unknown): string {
  if (err instanceof UpstreamError && err.target !== undefined) return describeError(err);
  return `upstream ${name}: ${describeError(err)}`;
}

function describeError(err: unknown): string {
  if (isStackgenError(err)) return `${err.message} [${err.code}]`;
  return err instanceof Error ? err.message : String(err);
}
