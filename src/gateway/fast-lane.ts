// The fast lane: the gateway's own reader for the plainest, most common request — GET or HEAD,
// no body, no Upgrade/Expect, a well-formed HTTP/1.x head — and a raw-socket writer for its
// answer. Everything else (a body, any oddity in the head, a head too large, a static path
// the fast lane declines) goes to node:http on the same socket, bytes and all, so llhttp and
// the request guard keep the last word on anything unusual.
//
// Why: in front of uWSGI on the 2-core bench machine, node:http's per-request objects
// (IncomingMessage, ServerResponse and their events) were the largest cost left in the
// gateway after the backend side was trimmed; the fast lane serves those requests with one
// parse, one write and no stream objects (`npm run bench gateway`, figures in the README).
//
// The parse is deliberately strict and conservative: a head is only accepted when every
// line is exactly what RFC 9112 allows (CRLF line ends, token field names, no obs-fold, no
// control bytes). Returning null is always safe: node:http then parses the same bytes.

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { errorPageText, type ResponseSink, rawErrorResponse } from './proxy.js';

export interface SimpleHead {
  method: 'GET' | 'HEAD';
  /** The request-target as sent (origin-form). */
  target: string;
  httpVersion: '1.0' | '1.1';
  /** Name/value pairs as sent (latin1), like node's rawHeaders. */
  rawHeaders: string[];
  /** RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`. */
  keepAlive: boolean;
}

// RFC 9112 §3: request-line = method SP request-target SP HTTP-version. Only GET/HEAD with an
// origin-form target of visible ASCII; anything else is node:http's.
const REQUEST_LINE = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.([01])$/;
// RFC 9110 §5.1 field-name = token; §5.5 field-value: VCHAR / obs-text / SP / HTAB inside.
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t\x20-\x7e\x80-\xff]*?)[ \t]*$/;
/** More fields than this is unusual enough for node:http (which enforces maxHeadersCount). */
const MAX_FIELDS = 100;

/**
 * Parse the head text (latin1, without the final CRLF CRLF) of a request the fast lane may
 * serve; null for anything else. Pure.
 */
export function parseSimpleHead(head: string): SimpleHead | null {
  const lines = head.split('\r\n');
  const line = REQUEST_LINE.exec(lines[0] as string);
  if (line === null) return null;
  if (lines.length - 1 > MAX_FIELDS) return null;
  const httpVersion = line[3] === '1' ? '1.1' : '1.0';
  let close = false;
  let keepAliveToken = false;
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const field = FIELD_LINE.exec(lines[i] as string);
    // A bare CR or LF stays inside a split line and fails the value pattern; so does obs-fold.
    if (field === null) return null;
    const name = field[1] as string;
    const value = field[2] as string;
    const length = name.length;
    // Expect (100-continue needs an interim answer), Upgrade (WebSocket, h2c), Content-Length
    // (a body, even 0: the full path decides) and Transfer-Encoding: all node:http's.
    if (length === 6 || length === 7 || length === 14 || length === 17) {
      const lower = name.toLowerCase();
      if (
        lower === 'expect' ||
        lower === 'upgrade' ||
        lower === 'content-length' ||
        lower === 'transfer-encoding'
      )
        return null;
    } else if (length === 10 && name.toLowerCase() === 'connection') {
      for (const token of value.toLowerCase().split(',')) {
        const t = token.trim();
        if (t === 'close') close = true;
        else if (t === 'keep-alive') keepAliveToken = true;
        else if (t === 'upgrade') return null;
      }
    }
    rawHeaders.push(name, value);
  }
  const keepAlive = !close && (httpVersion === '1.1' || keepAliveToken);
  return { method: line[1] as 'GET' | 'HEAD', target: line[2] as string, httpVersion, rawHeaders, keepAlive };
}

/**
 * False when a partial head can already be seen not to be fast-lane material: a bare LF
 * (RFC 9112 §2.2: node rejects it), or a complete request line that is not a plain GET/HEAD.
 * Pure.
 */
export function mayBecomeSimpleHead(partial: Buffer): boolean {
  let lf = partial.indexOf(0x0a);
  if (lf < 0) {
    const start = partial.toString('latin1', 0, 5);
    return (
      start.startsWith('GET ') || start === 'HEAD ' || 'GET '.startsWith(start) || 'HEAD '.startsWith(start)
    );
  }
  if (lf === 0 || partial[lf - 1] !== 0x0d) return false;
  if (!REQUEST_LINE.test(partial.toString('latin1', 0, lf - 1))) return false;
  for (lf = partial.indexOf(0x0a, lf + 1); lf >= 0; lf = partial.indexOf(0x0a, lf + 1))
    if (partial[lf - 1] !== 0x0d) return false;
  return true;
}

/** node's rule for header bytes (checkInvalidHeaderChar): HTAB, SP–~ and obs-text only. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const VALID_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

let cachedDate = '';
let cachedDateSecond = -1;
/** The Date header value, formatted at most once a second (as node and nginx do). */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedDateSecond) {
    cachedDateSecond = second;
    cachedDate = new Date(now).toUTCString();
  }
  return cachedDate;
}

export interface RawSinkOptions {
  method: string;
  httpVersion: '1.0' | '1.1';
  /** The connection may carry another request after this answer. */
  keepAlive: boolean;
  keepAliveSeconds: number;
}

/**
 * The ResponseSink of a fast-lane request: builds the head itself and writes head + body in
 * one socket write. The same checks as node's writeHead apply (a bad status or header byte
 * throws before anything is sent). Streams of unknown length use chunked coding on HTTP/1.1
 * and end-of-connection on HTTP/1.0; writes respect the socket's backpressure.
 */
export class RawResponseSink implements ResponseSink {
  headersSent = false;
  /** False once the answer requires closing the connection (close-delimited body, error). */
  keepAlive: boolean;
  readonly #socket: Socket;
  readonly #options: RawSinkOptions;
  #head: string | null = null;
  #hasLength = false;

  constructor(socket: Socket, options: RawSinkOptions) {
    this.#socket = socket;
    this.#options = options;
    this.keepAlive = options.keepAlive;
  }

  writeHead(status: number, statusText: string | undefined, headers: string[]): void {
    if (!Number.isInteger(status) || status < 100 || status > 999)
      throw new Error(`invalid status code ${status}`);
    const reason = statusText ?? STATUS_CODES[status] ?? '';
    if (INVALID_VALUE.test(reason)) throw new Error('invalid character in the status text');
    let head = `HTTP/1.1 ${status} ${reason}\r\n`;
    let hasDate = false;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i] as string;
      const value = headers[i + 1] as string;
      if (!VALID_NAME.test(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
      if (INVALID_VALUE.test(value)) throw new Error(`invalid character in header ${name}`);
      if (name.length === 14 && name.toLowerCase() === 'content-length') this.#hasLength = true;
      else if (name.length === 4 && name.toLowerCase() === 'date') hasDate = true;
      head += `${name}: ${value}\r\n`;
    }
    if (!hasDate) head += `Date: ${httpDate()}\r\n`;
    this.#head = head;
  }

  /** The staged head with its connection fields and the blank line. */
  #finishHead(extra: string): string {
    const o = this.#options;
    const connection = !this.keepAlive
      ? 'Connection: close\r\n'
      : o.httpVersion === '1.1'
        ? `Connection: keep-alive\r\nKeep-Alive: timeout=${o.keepAliveSeconds}\r\n`
        : 'Connection: keep-alive\r\n';
    return `${this.#head ?? ''}${extra}${connection}\r\n`;
  }

  end(body?: Buffer): void {
    const head = this.#finishHead('');
    this.headersSent = true;
    const send = body !== undefined && body.length > 0 && this.#options.method !== 'HEAD' ? body : null;
    if (send === null) {
      this.#socket.write(head, 'latin1');
      return;
    }
    const headLength = head.length;
    const out = Buffer.allocUnsafe(headLength + send.length);
    out.write(head, 0, headLength, 'latin1');
    send.copy(out, headLength);
    this.#socket.write(out);
  }

  async pipeFrom(early: readonly Buffer[], body: Readable): Promise<number> {
    const chunked = !this.#hasLength && this.#options.httpVersion === '1.1';
    // HTTP/1.0 without a length: the body ends when the connection does (RFC 9112 §6.3).
    if (!this.#hasLength && !chunked) this.keepAlive = false;
    const socket = this.#socket;
    socket.write(this.#finishHead(chunked ? 'Transfer-Encoding: chunked\r\n' : ''), 'latin1');
    this.headersSent = true;
    let bytes = 0;
    const send = async (chunk: Buffer): Promise<void> => {
      if (chunk.length === 0) return;
      bytes += chunk.length;
      if (socket.destroyed) throw new Error('client connection closed');
      let more: boolean;
      if (chunked) {
        // RFC 9112 §7.1: size in hex, CRLF, data, CRLF — corked into one writev.
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        more = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else {
        more = socket.write(chunk);
      }
      if (!more) await drained(socket);
    };
    for (const chunk of early) await send(chunk);
    for await (const chunk of body) await send(chunk as Buffer);
    if (chunked) socket.write('0\r\n\r\n', 'latin1');
    return bytes;
  }

  sendError(status: number, extra: Record<string, string> = {}): { status: number; bytes: number } {
    if (this.headersSent) {
      this.#socket.destroy();
      return { status, bytes: 0 };
    }
    const text = errorPageText(status);
    const headers = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(text.length)];
    for (const [name, value] of Object.entries(extra)) {
      if (name.toLowerCase() === 'connection' && value.toLowerCase() === 'close') this.keepAlive = false;
      else headers.push(name, value);
    }
    this.writeHead(status, undefined, headers);
    this.end(Buffer.from(text, 'latin1'));
    return { status, bytes: text.length };
  }

  destroy(): void {
    this.keepAlive = false;
    this.#socket.destroy();
  }
}

/** Resolve when the socket drained its write buffer; reject when it closed first. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('client connection closed'));
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

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
  serve(head: SimpleHead, connection: FastConnection): Promise<boolean> | null;
  /** Give the socket (with the unread bytes pushed back) to node:http. */
  handOver(socket: Socket): void;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

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

  /** Take the next complete head from the pending bytes, if any. */
  #next(): void {
    const pending = this.#pending;
    if (pending === null || !this.#owned) return;
    const options = this.#lane.options;
    const end = pending.indexOf(HEAD_END);
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
    const serving = head === null || this.#closeAfter ? null : options.serve(head, this);
    if (serving === null) {
      this.#handOver();
      return;
    }
    this.#pending = pending.length > end + HEAD_END.length ? pending.subarray(end + HEAD_END.length) : null;
    this.#headStartedAt = 0;
    this.#busy = true;
    // While the backend works its own timeouts apply: #timeout ignores a busy connection, and
    // the timer is left as it is (re-arming it twice per request showed in the profile).
    serving.then(
      (keepAlive) => this.#answered(keepAlive),
      () => this.#answered(false),
    );
  }

  #answered(keepAlive: boolean): void {
    this.#busy = false;
    this.onAbort = null;
    if (!keepAlive || this.#closeAfter || this.socket.destroyed) {
      // end() flushes the answer first, then sends FIN.
      if (!this.socket.destroyed) this.socket.end();
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

  /** Close idle connections now and busy ones after their answer. */
  drain(): void {
    for (const c of [...this.connections]) c.drain();
  }

  /** Cut every connection (the shutdown deadline passed). */
  destroyAll(): void {
    for (const c of [...this.connections]) c.socket.destroy();
  }
}
