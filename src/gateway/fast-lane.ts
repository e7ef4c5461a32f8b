// The fast lane: the gateway's own connection loop for the plainest, most common request —
// GET or HEAD, no body, no Upgrade/Expect, a well-formed HTTP/1.x head (codecs/http-head.ts) —
// answered through a RawResponseSink (response-sink.ts). Everything else (a body, any oddity in the head, a head too large, a static path
// the fast lane declines) goes to node:http on the same socket, bytes and all, so llhttp and
// the request guard keep the last word on anything unusual. Two kinds of request node:http
// cannot serve stay here instead: an extension method llhttp does not know (WebDAV/DeltaV's
// LABEL, VERSION-CONTROL…; its Content-Length or chunked body is read here), and a request line
// of another protocol (RTSP/1.0, ICE/1.0), which llhttp would take for HTTP/1.0 — refused 400.
//
// Why: in front of uWSGI on the 2-core bench machine, node:http's per-request objects
// (IncomingMessage, ServerResponse and their events) were the largest cost left in the
// gateway after the backend side was trimmed; the fast lane serves those requests with one
// parse, one write and no stream objects (`npm run bench gateway`, figures in the README).

import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { statusFor } from '../errors.js';
import { checkDeclaredLength, DEFAULT_MEMORY_LIMIT, markBodyMalformed, readRequestBody } from './body.js';
import { ChunkedDecoder } from './codecs/chunked.js';
import {
  isExtensionMethod,
  mayBecomeSimpleHead,
  parseSimpleHead,
  refuseRequestLine,
  type SimpleHead,
} from './codecs/http-head.js';
import { type BodySource, connectionScheme, dispatch, headerRecord, peerOf, routeHead } from './dispatch.js';
import { rawErrorResponse } from './error-page.js';
import { type Front, holdState, logAccess, logInternalError, releaseState } from './gateway-state.js';
import { RawResponseSink } from './response-sink.js';
import { Cancellation } from './transport.js';

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** How long a closing connection may keep sending before it is cut (node-lane.ts: the same). */
const LINGER_MS = 2_000;

export interface FastLaneOptions {
  /** Largest head the fast lane reads; a longer one goes to node:http (which answers 431). */
  maxHeaderBytes(): number;
  /** nginx client_header_timeout: a head must be complete this long after its first byte. */
  headerTimeoutMs(): number;
  /** nginx keepalive_timeout: an idle connection closes after this. */
  keepAliveMs(): number;
  /**
   * Serve a parsed head on `connection`, or return null to let node:http have the connection
   * (nothing has been written then). Resolves once the answer is written, with whether the
   * connection may carry another request.
   */
  serve(head: SimpleHead, connection: FastConnection, body: FastBody | null): Promise<boolean> | null;
  /** Answer a request line node:http must not see (another protocol) and log it. */
  refuse(status: number, line: string, connection: FastConnection): void;
  /** Give the socket (with the unread bytes pushed back) to node:http. */
  handOver(socket: Socket): void;
}

/**
 * The body of a fast-lane request (Content-Length, or chunked and de-chunked here), as a
 * stream body.ts can read (it looks at `complete`, as on node's IncomingMessage). Fed by
 * FastConnection from the socket's bytes.
 */
export class FastBody extends PassThrough {
  complete = false;
  /** Bytes still to come of a Content-Length body (unused when chunked). */
  remaining: number;
  /** RFC 9112 §7.1 decoder of a chunked body; null for Content-Length. */
  readonly chunks: ChunkedDecoder | null;
  /** The chunked framing was malformed: the rest of the connection is not read. */
  broken = false;
  constructor(length: number | 'chunked') {
    super();
    this.remaining = length === 'chunked' ? 0 : length;
    this.chunks = length === 'chunked' ? new ChunkedDecoder() : null;
  }
}

/** One client connection while the fast lane owns it. */
export class FastConnection {
  readonly socket: Socket;
  readonly #lane: FastLane;
  /** Bytes read and not yet consumed (a partial head, or pipelined requests). */
  #pending: Buffer | null = null;
  #headStartedAt = 0;
  #busy = false;
  #pausedByUs = false;
  #closeAfter = false;
  #owned = true;
  /** The body being read, until its last byte arrived. */
  #body: FastBody | null = null;
  /** Called when the client goes away while a request is in flight. */
  onAbort: (() => void) | null = null;
  readonly #onData = (chunk: Buffer) => this.#data(chunk);
  readonly #onEnd = () => this.#end();
  readonly #onTimeout = () => this.#timeout();
  readonly #onClose = () => this.#close();
  readonly #onError = () => this.socket.destroy();

  constructor(lane: FastLane, socket: Socket) {
    this.#lane = lane;
    this.socket = socket;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('timeout', this.#onTimeout);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
    this.#setTimer(lane.options.headerTimeoutMs());
  }

  #timerMs = -1;
  /** The socket's idle timeout; only touched when the value changes. */
  #setTimer(ms: number): void {
    if (ms === this.#timerMs) return;
    this.#timerMs = ms;
    this.socket.setTimeout(ms);
  }

  get busy(): boolean {
    return this.#busy;
  }

  /** Draining: close an idle connection now, a busy one after its answer. */
  drain(): void {
    this.#closeAfter = true;
    if (!this.#busy) this.socket.destroy();
  }

  #data(chunk: Buffer): void {
    // Refused here (another protocol) or answered with a close: nothing more is read.
    if (!this.#owned) return;
    if (this.#body !== null) {
      this.#feedBody(chunk);
      return;
    }
    this.#pending = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    if (this.#busy) {
      // Pipelined bytes while an answer is in flight: keep them, but do not buffer without end.
      if (this.#pending.length > this.#lane.options.maxHeaderBytes() && !this.#pausedByUs) {
        this.#pausedByUs = true;
        this.socket.pause();
      }
      return;
    }
    this.#next();
  }

  /** Give the body its bytes from `chunk`; what follows it is the next request's. */
  #feedBody(chunk: Buffer): void {
    const body = this.#body as FastBody;
    if (body.chunks !== null) {
      this.#feedChunked(body, body.chunks, chunk);
      return;
    }
    const take = Math.min(body.remaining, chunk.length);
    body.remaining -= take;
    if (take > 0 && !body.destroyed && !body.write(take === chunk.length ? chunk : chunk.subarray(0, take)))
      this.#waitForBody(body);
    if (body.remaining === 0) {
      body.complete = true;
      body.end();
      this.#body = null;
    }
    if (take < chunk.length) {
      const rest = chunk.subarray(take);
      this.#pending = this.#pending === null ? rest : Buffer.concat([this.#pending, rest]);
    }
  }

  /** Backpressure: the body's reader (or its spill file) is behind; read on once it drains. */
  #waitForBody(body: FastBody): void {
    if (this.socket.isPaused()) return;
    this.socket.pause();
    body.once('drain', () => this.socket.resume());
  }

  #feedChunked(body: FastBody, decoder: ChunkedDecoder, chunk: Buffer): void {
    if (body.broken) return;
    let data: Buffer[];
    try {
      data = decoder.push(chunk);
    } catch (err) {
      // A bad chunk size or line end: the body reader answers 400 and the connection closes
      // (#answered sees the body unfinished); nothing after it is parsed as a request.
      body.broken = true;
      markBodyMalformed(body, err as Error);
      return;
    }
    let more = true;
    for (const d of data) if (d.length > 0 && !body.destroyed) more = body.write(d) && more;
    if (!more) this.#waitForBody(body);
    if (decoder.done) {
      body.complete = true;
      body.end();
      this.#body = null;
      const rest = decoder.rest;
      if (rest.length > 0)
        this.#pending = this.#pending === null ? rest : Buffer.concat([this.#pending, rest]);
    }
  }

  /** Take the next complete head from the pending bytes, if any. */
  #next(): void {
    const pending = this.#pending;
    if (pending === null || !this.#owned) return;
    const options = this.#lane.options;
    const end = pending.indexOf(HEAD_END);
    if (end < 0 && this.#refusedLine(pending)) return;
    if (end < 0) {
      if (this.#headStartedAt === 0) {
        this.#headStartedAt = Date.now();
        this.#setTimer(options.headerTimeoutMs());
      }
      // Not a head the fast lane would take (node:http parses incrementally and answers at
      // once), too big, or too slow overall (a byte at a time resets an idle timer, not
      // this): node:http gives the 400 / 431 / 408 answers.
      if (
        !mayBecomeSimpleHead(pending) ||
        pending.length > options.maxHeaderBytes() ||
        Date.now() - this.#headStartedAt > options.headerTimeoutMs()
      )
        this.#handOver();
      return;
    }
    const head =
      end + HEAD_END.length <= options.maxHeaderBytes()
        ? parseSimpleHead(pending.toString('latin1', 0, end))
        : null;
    const body =
      head === null
        ? null
        : head.chunked
          ? new FastBody('chunked')
          : head.contentLength > 0
            ? new FastBody(head.contentLength)
            : null;
    const serving = head === null || this.#closeAfter ? null : options.serve(head, this, body);
    if (serving === null) {
      if (!this.#refusedLine(pending)) this.#handOver();
      return;
    }
    const rest = pending.length > end + HEAD_END.length ? pending.subarray(end + HEAD_END.length) : null;
    this.#pending = null;
    this.#body = body;
    if (rest !== null) {
      if (body !== null) this.#feedBody(rest);
      else this.#pending = rest;
    }
    this.#headStartedAt = 0;
    this.#busy = true;
    // While the backend works its own timeouts apply: #timeout ignores a busy connection, and
    // the timer is left as it is (re-arming it twice per request showed in the profile).
    serving.then(
      (keepAlive) => this.#answered(keepAlive),
      () => this.#answered(false),
    );
  }

  /**
   * A complete request line of another protocol (RTSP/1.0, ICE/1.0): answered 400 here, since
   * node's parser would serve it as HTTP/1.0. True when refused.
   */
  #refusedLine(pending: Buffer): boolean {
    const lf = pending.indexOf(0x0a);
    if (lf <= 0) return false;
    const line = pending.toString('latin1', 0, pending[lf - 1] === 0x0d ? lf - 1 : lf);
    const status = refuseRequestLine(line);
    if (status === null) return false;
    this.#owned = false;
    this.#pending = null;
    this.#lane.options.refuse(status, line, this);
    return true;
  }

  #answered(keepAlive: boolean): void {
    this.#busy = false;
    this.onAbort = null;
    const unreadBody = this.#body !== null;
    if (this.#body !== null) {
      // Answered before its body was all read (413, 408, a static location): the rest of the
      // body would be taken for the next request, so the connection ends here.
      this.#body.destroy();
      this.#body = null;
      keepAlive = false;
    }
    if (!keepAlive || this.#closeAfter || this.socket.destroyed) {
      // Nothing after an answer that closes is read as a request (as nginx): bytes still
      // arriving are dropped (#data), however they look.
      this.#owned = false;
      // end() flushes the answer first, then sends FIN.
      if (!this.socket.destroyed) this.socket.end();
      if (unreadBody && !this.socket.destroyed) {
        // Lingering close (as nginx, and node-lane.ts refuseBody): the rest of the body is
        // read and dropped for a moment, so the client reads our answer instead of a reset.
        this.socket.resume();
        setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
      }
      return;
    }
    this.#setTimer(
      this.#pending === null ? this.#lane.options.keepAliveMs() : this.#lane.options.headerTimeoutMs(),
    );
    if (this.#pausedByUs) {
      this.#pausedByUs = false;
      this.socket.resume();
    }
    this.#next();
  }

  /** Let node:http have the socket and every unread byte. */
  #handOver(): void {
    const socket = this.socket;
    this.#owned = false;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('timeout', this.#onTimeout);
    socket.off('close', this.#onClose);
    socket.off('error', this.#onError);
    socket.setTimeout(0);
    this.#lane.connections.delete(this);
    // Paused while the bytes go back and node:http attaches: a flowing stream would not
    // re-emit unshifted bytes to a listener added later. Resumed once node:http is wired.
    socket.pause();
    if (this.#pending !== null) socket.unshift(this.#pending);
    this.#pending = null;
    this.#lane.options.handOver(socket);
    process.nextTick(() => socket.resume());
  }

  #end(): void {
    // The client closed its side. As node:http (httpAllowHalfOpen off) and nginx (499,
    // "client prematurely closed connection") do, a request in flight is abandoned.
    this.#closeAfter = true;
    if (this.#busy) this.onAbort?.();
    this.socket.end();
  }

  #timeout(): void {
    if (this.#busy) return;
    if (this.#pending !== null) {
      // A head started and stalled: nginx answers 408 (client_header_timeout).
      this.socket.end(rawErrorResponse(408), 'latin1');
      return;
    }
    this.socket.destroy();
  }

  #close(): void {
    this.#lane.connections.delete(this);
    // A body still arriving ends without `complete`: its reader sees the client gone (499).
    this.#body?.destroy();
    if (this.#busy) this.onAbort?.();
  }
}

/** The fast lane of one gateway process: accepts sockets, tracks them for draining. */
export class FastLane {
  readonly options: FastLaneOptions;
  readonly connections = new Set<FastConnection>();

  constructor(options: FastLaneOptions) {
    this.options = options;
  }

  accept(socket: Socket): void {
    this.connections.add(new FastConnection(this, socket));
  }

  /**
   * Take a connection back from node:http with `bytes` to read first (upgrade.ts: an Upgrade
   * that is not tunnelled, its head rewritten, then whatever the client pipelined after it).
   */
  restart(socket: Socket, bytes: Buffer): void {
    // As in #handOver: paused while the bytes go back, resumed once the listeners are on.
    socket.pause();
    socket.unshift(bytes);
    this.accept(socket);
    process.nextTick(() => socket.resume());
  }

  /** Close idle connections now and busy ones after their answer. */
  drain(): void {
    for (const c of [...this.connections]) c.drain();
  }

  /** Cut every connection (the shutdown deadline passed). */
  destroyAll(): void {
    for (const c of [...this.connections]) c.socket.destroy();
  }
}

/**
 * Put a fast lane in front of node:http on `server`: node's own 'connection' listener is
 * kept aside and called for the sockets the fast lane hands over ('connection' is node's
 * documented way to inject a socket into an http.Server).
 */
export function addFastLane(server: Server, front: Front): FastLane | null {
  const [nodeConnection] = server.listeners('connection') as Array<(socket: Socket) => void>;
  if (nodeConnection === undefined) return null;
  server.removeListener('connection', nodeConnection);
  const lane = new FastLane({
    maxHeaderBytes: () => front.state.config.maxHeaderBytes,
    headerTimeoutMs: () => front.state.config.timeouts.clientHeaderMs,
    keepAliveMs: () => front.state.config.timeouts.keepaliveMs,
    serve: (head, connection, body) => serveFast(front, head, connection, body),
    refuse: (status, line, connection) => {
      const [method = '-', target = '-'] = line.split(' ');
      connection.socket.end(rawErrorResponse(status), 'latin1');
      logAccess(front.state, connection.socket.remoteAddress, method.slice(0, 32), target.slice(0, 256), {
        status,
        bytes: 0,
      });
    },
    handOver: (socket) => nodeConnection.call(server, socket),
  });
  server.on('connection', (socket: Socket) => lane.accept(socket));
  return lane;
}

/** Serve a fast-lane head through dispatch; null hands the request to node:http. */
function serveFast(
  front: Front,
  head: SimpleHead,
  conn: FastConnection,
  body: FastBody | null,
): Promise<boolean> | null {
  if (front.draining) return null;
  const s = front.state;
  const routed = routeHead(
    s,
    {
      method: head.method,
      httpVersion: head.httpVersion,
      url: head.target,
      rawHeaders: head.rawHeaders,
    },
    connectionScheme(conn.socket),
  );
  // An extension method is this lane's alone (node's parser refuses it): so is its refusal.
  const extension = head.method !== 'GET' && head.method !== 'HEAD' && isExtensionMethod(head.method);
  // Other refusals (and their log lines) stay with node:http, which sees the same bytes.
  if (!routed.ok && !extension) return null;
  const socket = conn.socket;
  const sink = new RawResponseSink(socket, {
    method: head.method,
    httpVersion: head.httpVersion,
    keepAlive: head.keepAlive,
    keepAliveSeconds: Math.floor(s.config.timeouts.keepaliveMs / 1000),
  });
  holdState(s);
  if (!routed.ok) {
    // As the node:http lane: a refusal that may leave unread bytes (a body, a bad head) closes.
    const close = routed.by !== 'route' || routed.hasBody || routed.status === 400;
    const out = sink.sendError(routed.status, {
      ...(close ? { Connection: 'close' } : {}),
      ...(routed.redirectTo === undefined ? {} : { Location: routed.redirectTo }),
    });
    logAccess(s, socket.remoteAddress, head.method, head.target, out);
    releaseState(s);
    return Promise.resolve(sink.keepAlive && !front.draining);
  }
  const cancellation = new Cancellation();
  conn.onAbort = () => cancellation.abort();
  return dispatch(s, routed, {
    method: head.method,
    peer: peerOf(socket),
    sink,
    signal: cancellation,
    staticHeaders: () => headerRecord(routed.guard.rawHeaders),
    body: body === null ? null : fastBodySource(s, sink, body),
    mayRedirect: true,
  }).then(
    (outcome) => {
      logAccess(s, socket.remoteAddress, head.method, head.target, outcome);
      releaseState(s);
      return sink.keepAlive && !front.draining;
    },
    (err: unknown) => {
      logInternalError(s, head.method, head.target, err);
      sink.sendError(500, { Connection: 'close' });
      releaseState(s);
      return false;
    },
  );
}

const LOCAL = { upstreamMs: null, upstream: null } as const;

/** A fast-lane body, read whole before the backend is contacted, with node:http's limits. */
function fastBodySource(s: Front['state'], sink: RawResponseSink, body: FastBody): BodySource {
  return {
    discard: () => body.resume(),
    async read(guard) {
      const cfg = s.config;
      const tooLarge = checkDeclaredLength(guard.contentLength, cfg.maxBodyBytes);
      if (tooLarge !== null)
        return { ...sink.sendError(statusFor(tooLarge), { Connection: 'close' }), ...LOCAL };
      try {
        return await readRequestBody(body, {
          maxBytes: cfg.maxBodyBytes,
          timeoutMs: cfg.timeouts.clientBodyMs,
          memoryLimit: DEFAULT_MEMORY_LIMIT,
        });
      } catch (err) {
        const status = statusFor(err);
        if (status === 413 || status === 408 || status === 400)
          return { ...sink.sendError(status, { Connection: 'close' }), ...LOCAL };
        // The client went away (499) or the spill file failed: nobody to answer.
        sink.destroy();
        return { status: 499, bytes: 0, ...LOCAL };
      }
    },
  };
}
