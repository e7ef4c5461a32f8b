// The HTTP/2 lane: a stream of an h2 session (negotiated by ALPN on a TLS listener, server.ts)
// enters the same guard → route → static | proxy pipeline as an HTTP/1.1 request (dispatch.ts),
// with the same limits and body buffering (body.ts), and its answer goes out through an
// Http2ResponseSink. The request is mapped onto the HTTP/1.1 view the guard and the backends
// know (RFC 9113 §8.3.1: :authority stands in for Host), so nothing h2 reaches a transport.

import {
  constants as h2,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { statusFor } from '../errors.js';
import { checkDeclaredLength, DEFAULT_MEMORY_LIMIT, readRequestBody } from './body.js';
import { type BodySource, dispatch, headerRecord, peerOf, routeHead } from './dispatch.js';
import { errorPageText } from './error-page.js';
import {
  type Front,
  type GatewayState,
  holdState,
  logAccess,
  logInternalError,
  releaseState,
} from './gateway-state.js';
import { HOP_BY_HOP } from './hop-by-hop.js';
import type { ProxyOutcome } from './proxy.js';
import { assertValidHead, type ResponseSink } from './response-sink.js';
import { Cancellation } from './transport.js';

/**
 * An h2 request head as the flat HTTP/1.1 header list the guard checks (pure): pseudo-header
 * fields dropped, :authority as Host when no Host field came (RFC 9113 §8.3.1), and — for a
 * body without content-length, which h2 allows (its frames carry the end) —
 * `Transfer-Encoding: chunked`, so the guard sees "a body of unknown length" exactly as for a
 * chunked HTTP/1.1 request: it is read whole first and reaches the backend with its length.
 * The synthetic field is hop-by-hop and never forwarded.
 */
export function h2RequestHeaders(headers: IncomingHttpHeaders, endAfterHeaders: boolean): string[] {
  const raw: string[] = [];
  let hasHost = false;
  let hasLength = false;
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    if (name === 'host') hasHost = true;
    else if (name === 'content-length') hasLength = true;
    for (const v of Array.isArray(value) ? value : [value]) raw.push(name, v);
  }
  const authority = headers[':authority'];
  if (!hasHost && typeof authority === 'string') raw.unshift('host', authority);
  if (!endAfterHeaders && !hasLength) raw.push('transfer-encoding', 'chunked');
  return raw;
}

/**
 * The size of a header list as RFC 9113 §6.5.2 counts it for SETTINGS_MAX_HEADER_LIST_SIZE:
 * "the uncompressed size of field names and values in octets plus an overhead of 32 octets
 * for each field" (pure).
 */
export function headerListSize(headers: IncomingHttpHeaders): number {
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) size += name.length + Buffer.byteLength(v) + 32;
  }
  return size;
}

/** The 'stream' listener of the gateway's h2 server: one request on one stream. */
export function serveH2Stream(front: Front, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  const s = front.state;
  const method = String(headers[':method'] ?? '');
  const target = String(headers[':path'] ?? '');
  const socket = stream.session?.socket;
  holdState(s);
  stream.on('error', () => {});
  handle(s, stream, headers, method, target).then(
    (outcome) => {
      logAccess(s, socket?.remoteAddress, method, target, outcome);
      releaseState(s);
    },
    (err: unknown) => {
      logInternalError(s, method, target, err);
      if (!stream.destroyed) stream.close(h2.NGHTTP2_INTERNAL_ERROR);
      releaseState(s);
    },
  );
}

const LOCAL = { upstreamMs: null, upstream: null } as const;
/** How long a refused upload may keep sending after our answer (as the fast lane's). */
const LINGER_MS = 2_000;

async function handle(
  s: GatewayState,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  method: string,
  target: string,
): Promise<ProxyOutcome> {
  const sink = new Http2ResponseSink(stream, method);
  // node advertises SETTINGS_MAX_HEADER_LIST_SIZE but does not enforce it on what arrives:
  // max_header_size is checked here, as llhttp checks it for HTTP/1.1 (431 either way).
  if (headerListSize(headers) > s.config.maxHeaderBytes) {
    const out = sink.sendError(431);
    if (!stream.endAfterHeaders) sink.stopReading();
    return { ...out, ...LOCAL };
  }
  const routed = routeHead(
    s,
    {
      method,
      // The guard's (and the backends') view of the request is HTTP/1.1: h2 has its
      // semantics (RFC 9113 §8), and the transports speak 1.1 or CGI to the app.
      httpVersion: '1.1',
      url: target,
      rawHeaders: h2RequestHeaders(headers, stream.endAfterHeaders),
    },
    'https',
  );
  if (!routed.ok) {
    const out = sink.sendError(
      routed.status,
      routed.redirectTo === undefined ? {} : { Location: routed.redirectTo },
    );
    // A refused request's body is not read: RST_STREAM(NO_ERROR) asks the client to stop
    // sending it (RFC 9113 §8.1), the h2 form of HTTP/1.1's "Connection: close".
    if (routed.hasBody) sink.stopReading();
    return { ...out, ...LOCAL };
  }
  const cancellation = new Cancellation();
  const onClose = () => {
    if (!sink.finished) cancellation.abort();
  };
  stream.once('close', onClose);
  try {
    return await dispatch(s, routed, {
      method,
      peer: peerOf(stream.session?.socket ?? {}),
      sink,
      signal: cancellation,
      staticHeaders: () => headerRecord(routed.guard.rawHeaders),
      body: h2Body(s, stream, sink),
      mayRedirect: true,
    });
  } finally {
    stream.off('close', onClose);
  }
}

/** The body of an h2 request, with the fast lane's limits and answers (413, 408). */
function h2Body(s: GatewayState, stream: ServerHttp2Stream, sink: Http2ResponseSink): BodySource {
  const refuse = (status: number): ProxyOutcome => {
    const out = sink.sendError(status);
    sink.stopReading();
    return { ...out, ...LOCAL };
  };
  return {
    discard: () => stream.resume(),
    async read(guard) {
      const cfg = s.config;
      const tooLarge = checkDeclaredLength(guard.contentLength, cfg.maxBodyBytes);
      if (tooLarge !== null) return refuse(statusFor(tooLarge));
      try {
        return await readRequestBody(stream, {
          maxBytes: cfg.maxBodyBytes,
          timeoutMs: cfg.timeouts.clientBodyMs,
          memoryLimit: DEFAULT_MEMORY_LIMIT,
        });
      } catch (err) {
        const status = statusFor(err);
        if (status === 413 || status === 408) return refuse(status);
        sink.destroy();
        return { status: 499, bytes: 0, ...LOCAL };
      }
    },
  };
}

/**
 * Field names RFC 9113 §8.2.2 forbids in h2 ("connection-specific header fields"): the
 * hop-by-hop set; node refuses to send them (ERR_HTTP2_INVALID_CONNECTION_HEADERS), so they
 * are left out rather than failing the answer.
 */
const NOT_IN_H2: ReadonlySet<string> = HOP_BY_HOP;

/**
 * The ResponseSink of an h2 stream: the same head checks as node's writeHead (a bad status
 * or header byte throws before anything is sent), lower-case field names, repeated fields
 * kept as repeats (Set-Cookie), no connection-specific fields, no DATA for HEAD / 204 / 304.
 */
export class Http2ResponseSink implements ResponseSink {
  headersSent = false;
  /** The answer is complete (the stream ended on our side). */
  finished = false;
  readonly #stream: ServerHttp2Stream;
  readonly #method: string;
  #head: OutgoingHttpHeaders | null = null;
  #status = 200;

  constructor(stream: ServerHttp2Stream, method: string) {
    this.#stream = stream;
    this.#method = method;
    stream.once('finish', () => {
      this.finished = true;
    });
  }

  writeHead(status: number, statusText: string | undefined, headers: string[]): void {
    assertValidHead(status, statusText, headers);
    const head: OutgoingHttpHeaders = { [h2.HTTP2_HEADER_STATUS]: status };
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = (headers[i] as string).toLowerCase();
      if (NOT_IN_H2.has(name)) continue;
      const value = headers[i + 1] as string;
      const prev = head[name];
      head[name] =
        prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
    }
    this.#head = head;
    this.#status = status;
  }

  /** No DATA frames: HEAD, 204 and 304 have no content (RFC 9110 §6.4.1). */
  get #bodiless(): boolean {
    return this.#method === 'HEAD' || this.#status === 204 || this.#status === 304;
  }

  #respond(endStream: boolean): void {
    this.headersSent = true;
    if (endStream) this.finished = true;
    this.#stream.respond(this.#head ?? { [h2.HTTP2_HEADER_STATUS]: 200 }, { endStream });
  }

  end(body?: Buffer): void {
    if (this.#stream.destroyed) return;
    const send = body !== undefined && body.length > 0 && !this.#bodiless ? body : null;
    this.#respond(send === null);
    if (send !== null) this.#stream.end(send);
    this.finished = true;
  }

  async pipeFrom(early: readonly Buffer[], body: Readable): Promise<number> {
    if (this.#stream.destroyed) throw new Error('client stream closed');
    if (this.#bodiless) {
      this.#respond(true);
      body.resume();
      return 0;
    }
    this.#respond(false);
    let bytes = 0;
    for (const chunk of early) {
      bytes += chunk.length;
      this.#stream.write(chunk);
    }
    body.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    await pipeline(body, this.#stream);
    this.finished = true;
    return bytes;
  }

  sendError(status: number, extra: Record<string, string> = {}): { status: number; bytes: number } {
    if (this.headersSent) {
      this.destroy();
      return { status, bytes: 0 };
    }
    const text = errorPageText(status);
    const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(text.length)];
    for (const [name, value] of Object.entries(extra)) headers.push(name, value);
    this.writeHead(status, undefined, headers);
    this.end(Buffer.from(text, 'latin1'));
    return { status, bytes: text.length };
  }

  /**
   * After an early answer (413, a refusal): drop what the client still sends, and if it is
   * still sending after LINGER_MS, RST_STREAM(NO_ERROR) — RFC 9113 §8.1 lets a server "request
   * that the client abort transmission of a request without error" once its response is
   * complete. Not at once: a reset may overtake the answer's DATA still queued (the h2 form of
   * nginx's lingering close).
   */
  stopReading(): void {
    const stream = this.#stream;
    stream.resume();
    const timer = setTimeout(() => {
      if (!stream.destroyed) stream.close(h2.NGHTTP2_NO_ERROR);
    }, LINGER_MS);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  }

  destroy(): void {
    if (!this.#stream.destroyed) this.#stream.close(h2.NGHTTP2_INTERNAL_ERROR);
  }
}
