// The streamed body of a backend response, as the Readable the proxy core pipes to the client.
// The transport feeds it the bytes after the head; it undoes the chunked coding when the head
// said so, stops at Content-Length, and reports a short body as SG_ERR_UPSTREAM_RESET (a body
// cut short must never look complete to the client). Backpressure: deliver() returns false
// when the consumer is full; the transport pauses its source until `resume` is called.

import { Readable } from 'node:stream';
import type { StackgenError } from '../../errors.js';
import { ChunkedDecoder } from '../codecs/chunked.js';
import type { ResponseHead } from '../codecs/cgi-response.js';
import type { UpstreamResponse } from '../transport.js';

export interface UpstreamBodySource {
  /** The consumer wants more: resume reading from the backend. */
  resume(): void;
  /** The consumer went away (or the body failed): release the backend connection/process. */
  release(error: Error | null): void;
  /** Build the error for a body cut short ("closed after N of M bytes"). */
  truncated(what: string): StackgenError;
}

/** False for responses that never carry a body (RFC 9110 §6.4.1: HEAD, 1xx, 204, 304). */
export function responseHasBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200;
}

/** The answer a CGI-style transport resolves with: the parsed head and its body. */
export function upstreamResponse(head: ResponseHead, body: UpstreamResponse['body']): UpstreamResponse {
  return {
    status: head.status,
    statusText: head.statusText,
    headers: head.headers,
    body,
    localRedirect: head.localRedirect,
  };
}

export class UpstreamBody extends Readable {
  readonly #source: UpstreamBodySource;
  readonly #chunked: ChunkedDecoder | null;
  /** Bytes still expected when Content-Length is known, else -1 (read until the source ends). */
  #remaining: number;
  #complete = false;
  #overrun = false;

  constructor(source: UpstreamBodySource, head: ResponseHead, hasBody: boolean) {
    super({ highWaterMark: 64 * 1024 });
    this.#source = source;
    this.#chunked = hasBody && head.chunked ? new ChunkedDecoder() : null;
    this.#remaining = !hasBody ? 0 : this.#chunked !== null ? -1 : (head.contentLength ?? -1);
    if (this.#remaining === 0) this.#finish();
  }

  /** All the body arrived (the source may end or be reused now). */
  get complete(): boolean {
    return this.#complete;
  }

  /**
   * Bytes came after the end of the body (past Content-Length, after the last chunk): the
   * backend is confused about framing, so its connection must not carry another exchange.
   */
  get overrun(): boolean {
    return this.#overrun;
  }

  /** Bytes from the backend; false when the consumer is full (pause the source). */
  deliver(bytes: Buffer): boolean {
    if (this.#complete || this.destroyed || bytes.length === 0) return true;
    if (this.#chunked !== null) {
      // A malformed chunk is thrown to the transport, which destroys the body with it.
      let more = true;
      for (const data of this.#chunked.push(bytes)) more = this.push(data);
      if (this.#chunked.done) {
        this.#overrun = this.#chunked.rest.length > 0;
        this.#finish();
      }
      return more;
    }
    if (this.#remaining >= 0) {
      if (bytes.length >= this.#remaining) {
        // Bytes past Content-Length are not part of this response (nginx drops them too).
        this.#overrun = bytes.length > this.#remaining;
        this.push(bytes.subarray(0, this.#remaining));
        this.#remaining = 0;
        this.#finish();
        return true;
      }
      this.#remaining -= bytes.length;
    }
    return this.push(bytes);
  }

  /** The source ended (EOF, END_REQUEST, process exit): complete, or fail when cut short. */
  sourceEnded(): void {
    if (this.#complete || this.destroyed) return;
    if (this.#chunked !== null) {
      this.destroy(this.#source.truncated('ended inside a chunked body'));
    } else if (this.#remaining > 0) {
      this.destroy(this.#source.truncated(`ended ${this.#remaining} bytes short of Content-Length`));
    } else {
      this.#finish();
    }
  }

  #finish(): void {
    this.#complete = true;
    this.push(null);
  }

  override _read(): void {
    this.#source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#source.release(error);
    callback(error);
  }
}
