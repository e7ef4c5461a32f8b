// Where an answer goes: node's ServerResponse (a node:http server: tests, tools) or the raw socket of a
// fast-lane connection (RawResponseSink builds the head itself and writes head + body in one
// socket write). Static files and the proxy core write to either without knowing which.

import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorPageText, sendErrorPage } from './error-page.js';

/**
 * Where the proxy core writes an answer: node's ServerResponse (nodeResponseSink) or the fast
 * lane's raw socket (fast-lane.ts). Either way the head is checked before a byte is sent.
 */
export interface ResponseSink {
  readonly headersSent: boolean;
  /** Check and stage the head; throws (nothing sent) on an invalid status or header byte. */
  writeHead(status: number, statusText: string | undefined, headers: string[]): void;
  /** Finish with this body (or none): one write together with a staged head. */
  end(body?: Buffer): void;
  /**
   * Send the staged head, then `early` and the rest of `body` with backpressure. Resolves
   * with the body bytes sent; rejects when the body fails (the caller then cuts the sink).
   */
  pipeFrom(early: readonly Buffer[], body: Readable): Promise<number>;
  /** A short plain-text error answer (or a cut connection when the head is gone already). */
  sendError(status: number, extra?: Record<string, string>): { status: number; bytes: number };
  destroy(): void;
}

/** The sink for a request that came through node:http. */
export function nodeResponseSink(res: ServerResponse): ResponseSink {
  return {
    get headersSent() {
      return res.headersSent;
    },
    writeHead(status, statusText, headers) {
      if (statusText !== undefined) res.writeHead(status, statusText, headers);
      else res.writeHead(status, headers);
    },
    end(body) {
      res.end(body);
    },
    async pipeFrom(early, body) {
      let bytes = 0;
      for (const chunk of early) {
        bytes += chunk.length;
        res.write(chunk);
      }
      body.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      await pipeline(body, res);
      return bytes;
    },
    sendError: (status, extra) => sendErrorPage(res, status, extra),
    destroy() {
      res.destroy();
    },
  };
}

/** node's rule for header bytes (checkInvalidHeaderChar): HTAB, SP–~ and obs-text only. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const VALID_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Throw (as node's writeHead does) on an invalid status code, status text or header byte. */
export function assertValidHead(
  status: number,
  statusText: string | undefined,
  headers: readonly string[],
): void {
  if (!Number.isInteger(status) || status < 100 || status > 999)
    throw new Error(`invalid status code ${status}`);
  if (statusText !== undefined && INVALID_VALUE.test(statusText))
    throw new Error('invalid character in the status text');
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    if (!VALID_NAME.test(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
    if (INVALID_VALUE.test(headers[i + 1] as string)) throw new Error(`invalid character in header ${name}`);
  }
}

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
