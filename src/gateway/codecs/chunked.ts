// Incremental decoder for the HTTP/1.1 chunked transfer coding (RFC 9112 §7.1):
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
// Used when a backend that answers with a raw HTTP/1.1 head (uWSGI over uwsgi, NPH scripts)
// chunks its body: the gateway re-frames the body for its own client, so it must remove the
// coding (RFC 9110 §7.6.1: Transfer-Encoding is hop-by-hop). Data is returned as slices of the
// input; nothing is copied. Trailer fields are read and dropped (RFC 9110 §6.5.1 allows it).

import { StackgenError } from '../../errors.js';

const CR = 0x0d;
const LF = 0x0a;
/** 13 hex digits = 52 bits: the largest chunk size a JS number holds exactly. */
const MAX_SIZE_DIGITS = 13;
/** Bound on chunk extensions and the trailer section, so a backend cannot make us scan forever. */
const MAX_METADATA_BYTES = 16 * 1024;

const State = {
  Size: 0,
  Extension: 1,
  SizeLf: 2,
  Data: 3,
  DataCr: 4,
  DataLf: 5,
  TrailerLineStart: 6,
  TrailerLine: 7,
  TrailerLf: 8,
  EndLf: 9,
  Done: 10,
} as const;
type State = (typeof State)[keyof typeof State];

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

export class ChunkedDecoder {
  #state: State = State.Size;
  #size = 0;
  #sizeDigits = 0;
  #metadataBytes = 0;
  #rest: Buffer = Buffer.alloc(0);

  /** True once the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** Bytes that followed the end of the chunked body in the last push (normally none). */
  get rest(): Buffer {
    return this.#rest;
  }

  /** Feed bytes; returns the body data they contained. Throws SG_ERR_UPSTREAM_MALFORMED. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.#state) {
        case State.Size: {
          const byte = chunk[i]!;
          const digit = HEX[byte]!;
          if (digit >= 0) {
            if (++this.#sizeDigits > MAX_SIZE_DIGITS) throw malformed('chunk size too large');
            this.#size = this.#size * 16 + digit;
            i++;
          } else if (this.#sizeDigits === 0) {
            throw malformed(`chunk size expected, got byte 0x${byte.toString(16)}`);
          } else if (byte === CR) {
            this.#state = State.SizeLf;
            i++;
          } else if (byte === 0x3b || byte === 0x20 || byte === 0x09) {
            // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): read and ignored.
            this.#state = State.Extension;
            i++;
          } else {
            throw malformed(`bad byte 0x${byte.toString(16)} in chunk size`);
          }
          break;
        }
        case State.Extension: {
          const cr = chunk.indexOf(CR, i);
          const end = cr < 0 ? n : cr;
          this.#countMetadata(end - i);
          i = end;
          if (cr >= 0) {
            this.#state = State.SizeLf;
            i++;
          }
          break;
        }
        case State.SizeLf: {
          if (chunk[i] !== LF) throw malformed('chunk size line not ended by CRLF');
          i++;
          if (this.#size === 0) {
            this.#state = State.TrailerLineStart;
          } else {
            this.#state = State.Data;
          }
          break;
        }
        case State.Data: {
          const take = Math.min(this.#size, n - i);
          out.push(chunk.subarray(i, i + take));
          i += take;
          this.#size -= take;
          if (this.#size === 0) this.#state = State.DataCr;
          break;
        }
        case State.DataCr: {
          if (chunk[i] !== CR) throw malformed('chunk data not followed by CRLF');
          i++;
          this.#state = State.DataLf;
          break;
        }
        case State.DataLf: {
          if (chunk[i] !== LF) throw malformed('chunk data not followed by CRLF');
          i++;
          this.#sizeDigits = 0;
          this.#state = State.Size;
          break;
        }
        case State.TrailerLineStart: {
          if (chunk[i] === CR) {
            this.#state = State.EndLf;
            i++;
          } else {
            this.#state = State.TrailerLine;
          }
          break;
        }
        case State.TrailerLine: {
          const cr = chunk.indexOf(CR, i);
          const end = cr < 0 ? n : cr;
          this.#countMetadata(end - i);
          i = end;
          if (cr >= 0) {
            this.#state = State.TrailerLf;
            i++;
          }
          break;
        }
        case State.TrailerLf: {
          if (chunk[i] !== LF) throw malformed('trailer field not ended by CRLF');
          i++;
          this.#state = State.TrailerLineStart;
          break;
        }
        case State.EndLf: {
          if (chunk[i] !== LF) throw malformed('chunked body not ended by CRLF');
          i++;
          this.#state = State.Done;
          this.#rest = chunk.subarray(i);
          return out;
        }
        case State.Done:
          this.#rest = chunk.subarray(i);
          return out;
      }
    }
    return out;
  }

  #countMetadata(bytes: number): void {
    this.#metadataBytes += bytes;
    if (this.#metadataBytes > MAX_METADATA_BYTES) throw malformed('chunk extensions or trailers over 16 KiB');
  }
}

function malformed(what: string): StackgenError {
  return new StackgenError('SG_ERR_UPSTREAM_MALFORMED', `Malformed chunked response body: ${what}.`);
}
