// Incremental decoder for the records a FastCGI application sends back (FastCGI Specification
// §6.2: "the application sends [...] FCGI_STDOUT and FCGI_STDERR [...] then FCGI_END_REQUEST").
// push(chunk) accepts any split of the byte stream. Stream content is handed out as slices of
// the input as soon as it arrives (no per-record buffering), so a 64 KiB STDOUT record is never
// copied. Management records (FCGI_GET_VALUES_RESULT, FCGI_UNKNOWN_TYPE) are skipped.

import { StackgenError } from '../../../errors.js';
import { FCGI_HEADER_LENGTH, RecordType, readRecordHeader } from './header.js';
import { END_REQUEST_BODY_LENGTH, readEndRequestBody } from './record.js';

export type FastcgiEvent =
  | { type: typeof RecordType.Stdout; requestId: number; data: Buffer }
  | { type: typeof RecordType.Stderr; requestId: number; data: Buffer }
  | { type: typeof RecordType.EndRequest; requestId: number; appStatus: number; protocolStatus: number };

const State = {
  Header: 0,
  Content: 1,
  Padding: 2,
} as const;
type State = (typeof State)[keyof typeof State];

export class FastcgiRecordDecoder {
  #state: State = State.Header;
  readonly #header = Buffer.alloc(FCGI_HEADER_LENGTH);
  #headerFill = 0;
  #type = 0;
  #requestId = 0;
  #contentLeft = 0;
  #paddingLeft = 0;
  /** END_REQUEST bodies are the only content gathered across chunks (8 bytes). */
  readonly #endBody = Buffer.alloc(END_REQUEST_BODY_LENGTH);
  #endFill = 0;

  /** True between records: no partial record is pending. */
  get atRecordBoundary(): boolean {
    return this.#state === State.Header && this.#headerFill === 0;
  }

  /** Feed bytes; returns the events completed by them, in order. Throws SG_ERR_UPSTREAM_MALFORMED. */
  push(chunk: Buffer): FastcgiEvent[] {
    const events: FastcgiEvent[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.#state) {
        case State.Header: {
          const take = Math.min(FCGI_HEADER_LENGTH - this.#headerFill, chunk.length - offset);
          chunk.copy(this.#header, this.#headerFill, offset, offset + take);
          this.#headerFill += take;
          offset += take;
          if (this.#headerFill < FCGI_HEADER_LENGTH) break;
          this.#headerFill = 0;
          const header = readRecordHeader(this.#header);
          this.#type = header.type;
          this.#requestId = header.requestId;
          this.#contentLeft = header.contentLength;
          this.#paddingLeft = header.paddingLength;
          if (this.#type === RecordType.EndRequest && header.contentLength !== END_REQUEST_BODY_LENGTH) {
            throw malformed(`FCGI_END_REQUEST with a ${header.contentLength}-byte body (expected 8)`);
          }
          this.#endFill = 0;
          this.#state = State.Content;
          this.#afterContent(events);
          break;
        }
        case State.Content: {
          const take = Math.min(this.#contentLeft, chunk.length - offset);
          if (this.#type === RecordType.Stdout || this.#type === RecordType.Stderr) {
            events.push({
              type: this.#type,
              requestId: this.#requestId,
              data: chunk.subarray(offset, offset + take),
            } as FastcgiEvent);
          } else if (this.#type === RecordType.EndRequest) {
            chunk.copy(this.#endBody, this.#endFill, offset, offset + take);
            this.#endFill += take;
          }
          offset += take;
          this.#contentLeft -= take;
          this.#afterContent(events);
          break;
        }
        case State.Padding: {
          const take = Math.min(this.#paddingLeft, chunk.length - offset);
          offset += take;
          this.#paddingLeft -= take;
          if (this.#paddingLeft === 0) this.#state = State.Header;
          break;
        }
      }
    }
    return events;
  }

  #afterContent(events: FastcgiEvent[]): void {
    if (this.#contentLeft > 0) return;
    if (this.#type === RecordType.EndRequest) {
      const end = readEndRequestBody(this.#endBody);
      events.push({ type: RecordType.EndRequest, requestId: this.#requestId, ...end });
    }
    this.#state = this.#paddingLeft > 0 ? State.Padding : State.Header;
  }
}

function malformed(what: string): StackgenError {
  return new StackgenError('SG_ERR_UPSTREAM_MALFORMED', `Malformed FastCGI response: ${what}.`);
}
