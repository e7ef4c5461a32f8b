// The fast lane: the gateway's own HTTP/1.x connection loop. It owns every plain and TLS
// HTTP/1.x connection for its whole life and serves every request on it — GET/HEAD, requests
// with a Content-Length or chunked body (read here with the limits of body.ts: 413, 408, a
// malformed chunk 400, 100-continue), every method nginx takes, and the refusals nginx gives
// (400/405/431/505 for a head, 408 for a head too slow) — one at a time, in order, and nothing
// after an answer that closes. An Upgrade head is the one thing it gives away: the socket goes
// to upgrade.ts (a tunnel), or comes back here as a plain request.
//
// Why one parser for everything: the gateway used to hand any head this lane declined (a body,
// an oddity) to node:http on the same socket, and from then on llhttp parsed the connection —
// laxer than this lane (`GET / RTSP/1.0` served as HTTP/1.0, where nginx answers 400) and
// stricter (`LABEL` or any extension method answered 400, where nginx passes it). The same
// bytes got different answers depending on what preceded them on the connection. Now the rules
// are codecs/http-head.ts + request-guard.ts for every request, whatever came before.
//
// Why not node:http at all: in front of uWSGI on the 2-core bench machine, node:http's
// per-request objects (IncomingMessage, ServerResponse and their events) were the largest cost
// left in the gateway; this lane serves a request with one parse, one write and no stream
// objects for bodiless requests (`npm run bench gateway`, figures in the README).

import type { Server, Socket } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import { statusFor } from '../errors.js';
import { checkDeclaredLength, DEFAULT_MEMORY_LIMIT, markBodyMalformed, readRequestBody } from './body.js';
import { ChunkedDecoder } from './codecs/chunked.js';
import {
  type HeadRefusal,
  parseRequestHead,
  partialHeadRefusal,
  type RequestHead,
} from './codecs/http-head.js';
import { type BodySource, connectionScheme, dispatch, headerRecord, peerOf, routeHead } from './dispatch.js';
import { rawErrorResponse } from './error-page.js';
import { type Front, holdState, logAccess, logInternalError, releaseState } from './gateway-state.js';
import { RawResponseSink } from './response-sink.js';
import { Cancellation } from './transport.js';
import { serveUpgrade } from './upgrade.js';

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);
/** How long a closing connection may keep sending before it is cut (nginx's lingering_time, shortened). */
const LINGER_MS = 2_000;
/** RFC 9110 §15.2.1: the interim answer a client that sent `Expect: 100-continue` waits for. */
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

export interface FastLaneOptions {
  /** Largest head the fast lane reads (nginx large_client_header_buffers): longer is 431. */
  maxHeaderBytes(): number;
  /** nginx client_header_timeout: a head must be complete this long after its first byte. */
  headerTimeoutMs(): number;
  /** nginx keepalive_timeout: an idle connection closes after this. */
  keepAliveMs(): number;
  /**
   * Serve a parsed head on `connection`. Resolves once the answer is written, with whether the
   * connection may carry another request.
   */
  serve(head: RequestHead, connection: FastConnection, body: FastBody | null): Promise<boolean>;
  /** Answer a head refused before the guard (a malformed head, 431, 408) and log it. */
  refuse(status: number, line: string, connection: FastConnection): void;
  /** An Upgrade head: the socket (detached from the lane) and the bytes that followed the head. */
  upgrade(head: RequestHead, socket: Socket, rest: Buffer): void;
}

/**
 * The body of a request (Content-Length, or chunked and de-chunked here), as a stream body.ts
 * can read (it looks at `complete`, as on node's IncomingMessage). Fed by FastConnection from
 * the socket's bytes, with backpressure: body.ts spills a large body to a file as it arrives,
 * so an upload is never held in memory whole.
 */
export class FastBody extends PassThrough {
  complete = false;
  /** Some body bytes arrived (a 100 Continue is no longer needed). */
  started = false;
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

/** The first line of `bytes` (for the access line of a refused head), at most 512 bytes. */
function firstLine(bytes: Buffer): string {
  const lf = bytes.indexOf(0x0a);
  const end = Math.min(lf < 0 ? bytes.length : lf, 512);
  return bytes.toString('latin1', 0, end > 0 && bytes[end - 1] === 0x0d ? end - 1 : end);
}

/** One client connection, for its whole life (or until an Upgrade takes it). */
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
    // Refused, upgraded or answered with a close: nothing more is read as a request.
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
    body.started = true;
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

  /** Take the next complete head from the pending bytes, if any: serve, refuse or upgrade it. */
  #next(): void {
    let pending = this.#pending;
    if (pending === null || !this.#owned || this.#closeAfter) return;
    // RFC 9112 §2.2: "a server that is expecting to receive and parse a request-line SHOULD
    // ignore at least one empty line (CRLF) received prior to the request-line" (nginx does).
    let skip = 0;
    while (skip + 1 < pending.length && pending[skip] === 0x0d && pending[skip + 1] === 0x0a) skip += 2;
    if (skip > 0) {
      pending = skip === pending.length ? null : pending.subarray(skip);
      this.#pending = pending;
      if (pending === null) return;
    }
    const options = this.#lane.options;
    const end = pending.indexOf(HEAD_END);
    if (end < 0) {
      if (this.#headStartedAt === 0) {
        this.#headStartedAt = Date.now();
        this.#setTimer(options.headerTimeoutMs());
      }
      // Refused as soon as it cannot become valid; too big (431); or too slow overall (a byte
      // at a time resets an idle timer, not this: 408).
      const refusal = partialHeadRefusal(pending);
      if (refusal !== null) this.#refuse(refusal.refused, pending);
      else if (pending.length > options.maxHeaderBytes()) this.#refuse(431, pending);
      else if (Date.now() - this.#headStartedAt > options.headerTimeoutMs()) this.#refuse(408, pending);
      return;
    }
    if (end + HEAD_END.length > options.maxHeaderBytes()) {
      // RFC 6585 §5: 431 Request Header Fields Too Large.
      this.#refuse(431, pending);
      return;
    }
    const head: RequestHead | HeadRefusal = parseRequestHead(pending.toString('latin1', 0, end));
    if ('refused' in head) {
      this.#refuse(head.refused, pending);
      return;
    }
    const rest = pending.length > end + HEAD_END.length ? pending.subarray(end + HEAD_END.length) : null;
    this.#pending = null;
    this.#headStartedAt = 0;
    if (head.upgrade) {
      this.#detach();
      options.upgrade(head, this.socket, rest ?? EMPTY);
      return;
    }
    const body = head.chunked
      ? new FastBody('chunked')
      : head.contentLength > 0
        ? new FastBody(head.contentLength)
        : null;
    // Body bytes that came with the head: the client did not wait for a 100 Continue.
    if (body !== null && rest !== null) body.started = true;
    const serving = options.serve(head, this, body);
    this.#body = body;
    if (rest !== null) {
      if (body !== null) this.#feedBody(rest);
      else this.#pending = rest;
    }
    this.#busy = true;
    // While the backend works its own timeouts apply: #timeout ignores a busy connection, and
    // the timer is left as it is (re-arming it twice per request showed in the profile).
    serving.then(
      (keepAlive) => this.#answered(keepAlive),
      () => this.#answered(false),
    );
  }

  /**
   * Answer a head refused before the guard, log it, and read nothing more as a request: its
   * framing cannot be trusted, so whatever follows is dropped (lingering close, as nginx).
   */
  #refuse(status: number, pending: Buffer): void {
    this.#owned = false;
    this.#pending = null;
    this.#lane.options.refuse(status, firstLine(pending), this);
    this.#linger();
  }

  /** After our last answer: drop what the client still sends for a moment, then cut. */
  #linger(): void {
    if (this.socket.destroyed) return;
    this.socket.resume();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
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
      // Lingering close (as nginx): the rest of a body is read and dropped for a moment, so the
      // client reads our answer instead of a reset.
      if (unreadBody) this.#linger();
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

  /** Let upgrade.ts have the socket: the lane's listeners off, paused until the tunnel pipes it. */
  #detach(): void {
    const socket = this.socket;
    this.#owned = false;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('timeout', this.#onTimeout);
    socket.off('close', this.#onClose);
    socket.off('error', this.#onError);
    socket.setTimeout(0);
    // Without a 'data' listener a flowing socket would drop bytes; pipe() resumes it.
    socket.pause();
    this.#lane.connections.delete(this);
  }

  #end(): void {
    // The client closed its side. As nginx (499, "client prematurely closed connection"), a
    // request in flight is abandoned.
    this.#closeAfter = true;
    if (this.#busy) this.onAbort?.();
    this.socket.end();
  }

  #timeout(): void {
    if (this.#busy) return;
    if (this.#pending !== null) {
      // A head started and stalled: nginx answers 408 (client_header_timeout).
      this.#refuse(408, this.#pending);
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
   * Take a connection back with `bytes` to read first (upgrade.ts: an Upgrade that is not
   * tunnelled, its head rewritten, then whatever the client pipelined after it).
   */
  restart(socket: Socket, bytes: Buffer): void {
    // Paused while the bytes go back and the listeners attach: a flowing stream would not
    // re-emit unshifted bytes to a listener added later. Resumed once the listeners are on.
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
 * Put the fast lane in front of `server`: node's own 'connection' listener (its HTTP parser)
 * is removed, so every socket the server accepts — or is given, as TLS sockets are — is the
 * lane's. `tunnels` collects the open WebSocket tunnels for shutdown.
 */
export function addFastLane(server: Server, front: Front, tunnels: Set<Duplex>): FastLane {
  for (const l of server.listeners('connection')) server.removeListener('connection', l as () => void);
  const lane: FastLane = new FastLane({
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
    upgrade: (head, socket, rest) =>
      serveUpgrade(
        front,
        tunnels,
        { method: head.method, url: head.target, httpVersion: head.httpVersion, rawHeaders: head.rawHeaders },
        socket,
        rest,
        (s, bytes) => lane.restart(s as Socket, bytes),
      ),
  });
  server.on('connection', (socket: Socket) => lane.accept(socket));
  return lane;
}

/** Serve a parsed head through dispatch (or answer the guard's / router's refusal). */
function serveFast(
  front: Front,
  head: RequestHead,
  conn: FastConnection,
  body: FastBody | null,
): Promise<boolean> {
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
  const socket = conn.socket;
  const sink = new RawResponseSink(socket, {
    method: head.method,
    httpVersion: head.httpVersion,
    // Draining: this answer is the connection's last (nginx closes keep-alive on shutdown).
    keepAlive: head.keepAlive && !front.draining,
    keepAliveSeconds: Math.floor(s.config.timeouts.keepaliveMs / 1000),
  });
  holdState(s);
  if (!routed.ok) {
    // A refusal that may leave unread bytes (a body, a head whose framing the guard refused)
    // closes: nothing after it is parsed as a request (request smuggling).
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
    body: body === null ? null : fastBodySource(s, sink, socket, head, body),
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

/**
 * A request body, read whole before the backend is contacted (body.ts: in memory up to
 * client_body_buffer_size, then spilled to a file), with nginx's limits: a declared length
 * over max_body is 413 before a byte is read (and before any 100 Continue).
 */
function fastBodySource(
  s: Front['state'],
  sink: RawResponseSink,
  socket: Socket,
  head: RequestHead,
  body: FastBody,
): BodySource {
  return {
    discard: () => body.resume(),
    async read(guard) {
      const cfg = s.config;
      const tooLarge = checkDeclaredLength(guard.contentLength, cfg.maxBodyBytes);
      if (tooLarge !== null)
        return { ...sink.sendError(statusFor(tooLarge), { Connection: 'close' }), ...LOCAL };
      // nginx (ngx_http_test_expect) sends the interim answer when it starts reading the body,
      // i.e. only for a request it will forward: a 404 or a 413 is answered without it.
      if (head.expectContinue && !body.started && !socket.destroyed) socket.write(CONTINUE, 'latin1');
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
