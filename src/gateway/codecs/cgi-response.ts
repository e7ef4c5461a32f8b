// Incremental parser for the head of what a backend sends back over uwsgi, SCGI, FastCGI or CGI.
// Two forms exist:
// - raw HTTP (uWSGI over the uwsgi protocol, NPH scripts — RFC 3875 §5): "HTTP/1.1 200 OK" then
//   header fields, as in RFC 9112 §4;
// - CGI (RFC 3875 §6): header fields only, with `Status: 404 Not Found` (§6.3.3) and `Location`
//   (§6.3.2) carrying what a status line would, lines ended by LF or CRLF (§6.3: "NL").
// push(chunk) accepts any split of the input. The head is bounded (64 KiB by default); anything
// that does not parse is SG_ERR_UPSTREAM_MALFORMED, so the proxy core answers 502.

import { STATUS_CODES } from 'node:http';
import { StackgenError } from '../../errors.js';

export type ResponseHeadMode = 'auto' | 'http' | 'cgi';

export interface ResponseHead {
  /** Which form the backend used: a raw status line, or CGI header fields. */
  form: 'http' | 'cgi';
  status: number;
  statusText: string;
  /** Header fields in order, names as sent; hop-by-hop fields and CGI `Status` removed. */
  headers: Array<[string, string]>;
  /**
   * RFC 3875 §6.2.2 local redirect: `Location: /path` and no Status. The gateway must serve that
   * path itself ("the server MUST generate the response that it would have produced in response
   * to a request containing the URL").
   */
  localRedirect: string | undefined;
  /** The body uses the chunked transfer coding (its header was removed): de-chunk it. */
  chunked: boolean;
  /** The declared Content-Length, or null when absent (or overridden by chunked). */
  contentLength: number | null;
  /**
   * The raw form's connection may carry another exchange (RFC 9112 §9.3): HTTP/1.1 without
   * `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`. Always false for CGI.
   */
  keepAlive: boolean;
  /** Bytes after the head in the chunk that completed it: the start of the body. */
  rest: Buffer;
}

export const DEFAULT_MAX_HEAD_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;

const State = {
  FirstLine: 0,
  Fields: 1,
  Done: 2,
} as const;
type State = (typeof State)[keyof typeof State];

// RFC 9110 §5.6.2: token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-"
// / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) {
  TCHAR[c] = 1;
  TCHAR[c + 0x20] = 1;
}

/**
 * Fields that describe one connection, not the message (RFC 9110 §7.6.1), plus the legacy
 * Proxy-Connection; never forwarded to the client. Keyed by length so most names are rejected
 * without lowercasing them.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);
const SPECIAL_NAME_LENGTHS = new Set([2, 6, 7, 8, 10, 14, 16, 17]);

export class ResponseHeadDecoder {
  readonly #mode: ResponseHeadMode;
  readonly #maxHeadBytes: number;
  #state: State = State.FirstLine;
  #form: 'http' | 'cgi' = 'cgi';
  /** Pieces of a line that spans chunks, joined only once its LF arrives. */
  #partial: Buffer[] = [];
  #headBytes = 0;
  #status = 0;
  #statusText = '';
  /** The minor digit of the status line's HTTP-version (HTTP/1.0 or HTTP/1.1). */
  #httpMinor = 0;
  #cgiStatusSeen = false;
  #headers: Array<[string, string]> = [];
  #location: string | undefined;
  #chunked = false;
  #contentLength: number | null = null;
  #connectionTokens: string[] | null = null;

  constructor(mode: ResponseHeadMode = 'auto', maxHeadBytes = DEFAULT_MAX_HEAD_BYTES) {
    this.#mode = mode;
    this.#maxHeadBytes = maxHeadBytes;
  }

  /** Bytes of head consumed so far (0 means the backend sent nothing yet). */
  get headBytes(): number {
    return this.#headBytes;
  }

  /** Feed bytes; returns the head once complete (with the body bytes that followed), else null. */
  push(chunk: Buffer): ResponseHead | null {
    if (this.#state === State.Done)
      throw new StackgenError('SG_ERR_INTERNAL', 'Response head already parsed.');
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (lf < 0) {
        this.#count(chunk.length - start);
        this.#partial.push(chunk.subarray(start));
        return null;
      }
      this.#count(lf + 1 - start);
      let line = chunk.subarray(start, lf);
      if (this.#partial.length > 0) {
        this.#partial.push(line);
        line = Buffer.concat(this.#partial);
        this.#partial = [];
      }
      start = lf + 1;
      const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
      if (end === 0) {
        if (this.#state === State.FirstLine) throw malformed('empty head (no status line or header field)');
        if (this.#finishHead()) return this.#result(chunk.subarray(start));
        continue;
      }
      if (this.#state === State.FirstLine) {
        this.#state = State.Fields;
        if (this.#mode !== 'cgi' && isStatusLine(line)) {
          this.#form = 'http';
          this.#parseStatusLine(line, end);
          continue;
        }
        if (this.#mode === 'http') throw malformed('no HTTP status line');
      }
      this.#parseField(line, end);
    }
    return null;
  }

  #count(bytes: number): void {
    this.#headBytes += bytes;
    if (this.#headBytes > this.#maxHeadBytes) {
      throw malformed(`response head larger than ${this.#maxHeadBytes} bytes`);
    }
  }

  // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
  #parseStatusLine(line: Buffer, end: number): void {
    // "HTTP/1.x " is 9 bytes, then 3 digits.
    if (end < 12 || line[8] !== 0x20 || (end > 12 && line[12] !== 0x20)) {
      throw malformed(`bad status line ${JSON.stringify(line.toString('latin1', 0, end))}`);
    }
    this.#httpMinor = line[7] === 0x31 ? 1 : 0;
    this.#status = parseStatusCode(line, 9);
    if (this.#status < 0)
      throw malformed(`bad status code in ${JSON.stringify(line.toString('latin1', 0, end))}`);
    this.#statusText = end > 13 ? checkedText(line, 13, end) : '';
  }

  // RFC 9112 §5: field-line = field-name ":" OWS field-value OWS
  #parseField(line: Buffer, end: number): void {
    const first = line[0]!;
    if (first === 0x20 || first === 0x09) {
      // RFC 9112 §5.2: obs-fold is deprecated; a proxy may reject the message. We do.
      throw malformed('obsolete line folding in a header field');
    }
    const colon = line.indexOf(COLON);
    if (colon <= 0 || colon >= end) {
      throw malformed(
        `header line without a name and colon: ${JSON.stringify(line.toString('latin1', 0, end))}`,
      );
    }
    for (let i = 0; i < colon; i++) {
      // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon."
      if (TCHAR[line[i]!] !== 1)
        throw malformed(`bad header name ${JSON.stringify(line.toString('latin1', 0, colon))}`);
    }
    let valueStart = colon + 1;
    let valueEnd = end;
    while (valueStart < valueEnd && (line[valueStart] === 0x20 || line[valueStart] === 0x09)) valueStart++;
    while (valueEnd > valueStart && (line[valueEnd - 1] === 0x20 || line[valueEnd - 1] === 0x09)) valueEnd--;
    const name = line.toString('latin1', 0, colon);
    const value = checkedText(line, valueStart, valueEnd);
    if (SPECIAL_NAME_LENGTHS.has(colon) && this.#special(name.toLowerCase(), value)) return;
    this.#headers.push([name, value]);
  }

  /** Handle fields with a meaning for the gateway; true when the field is consumed (not forwarded). */
  #special(lower: string, value: string): boolean {
    switch (lower) {
      case 'status':
        if (this.#form !== 'cgi') return false;
        // RFC 3875 §6.3.3: Status = "Status:" status-code SP reason-phrase NL
        if (this.#cgiStatusSeen) throw malformed('two Status header fields');
        this.#cgiStatusSeen = true;
        this.#status = value.length >= 3 ? parseStatusCode(Buffer.from(value, 'latin1'), 0) : -1;
        if (this.#status < 0 || (value.length > 3 && value.charCodeAt(3) !== 0x20)) {
          throw malformed(`bad Status header ${JSON.stringify(value)}`);
        }
        this.#statusText = value.length > 4 ? value.slice(4).trim() : '';
        return true;
      case 'location':
        this.#location = value;
        return false;
      case 'content-length': {
        // RFC 9110 §8.6: Content-Length = 1*DIGIT; RFC 9112 §6.3: differing values are an error.
        if (!isDigits(value)) throw malformed(`bad Content-Length ${JSON.stringify(value)}`);
        const length = Number(value);
        if (this.#contentLength !== null && this.#contentLength !== length) {
          throw malformed('conflicting Content-Length header fields');
        }
        if (this.#contentLength !== null) return true;
        this.#contentLength = length;
        return false;
      }
      case 'transfer-encoding':
        // Only the chunked coding is undone; any other transfer coding would reach the client
        // as garbage, since the gateway re-frames the body.
        if (value.toLowerCase() !== 'chunked')
          throw malformed(`unsupported Transfer-Encoding ${JSON.stringify(value)}`);
        this.#chunked = true;
        return true;
      case 'connection':
        // RFC 9110 §7.6.1: fields listed in Connection are hop-by-hop too.
        for (const token of value.split(',')) {
          const trimmed = token.trim().toLowerCase();
          if (trimmed === '') continue;
          this.#connectionTokens ??= [];
          this.#connectionTokens.push(trimmed);
        }
        return true;
      default:
        return HOP_BY_HOP.has(lower);
    }
  }

  /** Complete the head; false when it was an interim 1xx response to skip. */
  #finishHead(): boolean {
    if (this.#form === 'http' && this.#status >= 100 && this.#status < 200 && this.#status !== 101) {
      // RFC 9110 §15.2: interim responses precede the final one; the client gets only the final.
      this.#reset();
      return false;
    }
    if (this.#form === 'cgi') this.#resolveCgiStatus();
    if (this.#connectionTokens !== null) {
      const tokens = this.#connectionTokens;
      this.#headers = this.#headers.filter(([name]) => !tokens.includes(name.toLowerCase()));
    }
    if (this.#chunked && this.#contentLength !== null) {
      // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, which must then be removed.
      this.#contentLength = null;
      this.#headers = this.#headers.filter(([name]) => name.toLowerCase() !== 'content-length');
    }
    this.#state = State.Done;
    return true;
  }

  // RFC 3875 §6.2: document response (200 unless Status), local redirect (§6.2.2: a local
  // Location and no Status), client redirect (§6.2.3/§6.2.4: absolute Location → 302 unless a
  // Status says otherwise).
  #resolveCgiStatus(): void {
    const location = this.#location;
    if (this.#cgiStatusSeen) return;
    if (location !== undefined && location.charCodeAt(0) === 0x2f && location.charCodeAt(1) !== 0x2f) {
      this.#status = 200;
      this.#statusText = 'OK';
      return;
    }
    if (location !== undefined) {
      this.#status = 302;
      this.#statusText = 'Found';
      return;
    }
    this.#status = 200;
    this.#statusText = 'OK';
  }

  #result(rest: Buffer): ResponseHead {
    const localRedirect =
      this.#form === 'cgi' &&
      !this.#cgiStatusSeen &&
      this.#location !== undefined &&
      this.#location.charCodeAt(0) === 0x2f &&
      this.#location.charCodeAt(1) !== 0x2f
        ? this.#location
        : undefined;
    const tokens = this.#connectionTokens;
    const keepAlive =
      this.#form === 'http' &&
      (this.#httpMinor === 1
        ? !(tokens?.includes('close') ?? false)
        : (tokens?.includes('keep-alive') ?? false));
    return {
      form: this.#form,
      status: this.#status,
      statusText: this.#statusText === '' ? (STATUS_CODES[this.#status] ?? '') : this.#statusText,
      headers: this.#headers,
      localRedirect,
      chunked: this.#chunked,
      contentLength: this.#contentLength,
      keepAlive,
      rest,
    };
  }

  #reset(): void {
    this.#state = State.FirstLine;
    this.#status = 0;
    this.#statusText = '';
    this.#headers = [];
    this.#location = undefined;
    this.#chunked = false;
    this.#contentLength = null;
    this.#connectionTokens = null;
  }
}

/** "HTTP/1." prefix: the raw form (uWSGI, NPH). A CGI field name cannot contain '/'. */
function isStatusLine(line: Buffer): boolean {
  return (
    line.length >= 8 &&
    line[0] === 0x48 &&
    line[1] === 0x54 &&
    line[2] === 0x54 &&
    line[3] === 0x50 &&
    line[4] === 0x2f &&
    line[5] === 0x31 &&
    line[6] === 0x2e
  );
}

/** Three digits 100..599 at `offset`, or -1. */
function parseStatusCode(buf: Buffer, offset: number): number {
  const a = buf[offset]! - 0x30;
  const b = buf[offset + 1]! - 0x30;
  const c = buf[offset + 2]! - 0x30;
  if (!(a >= 1 && a <= 5 && b >= 0 && b <= 9 && c >= 0 && c <= 9)) return -1;
  return a * 100 + b * 10 + c;
}

function isDigits(value: string): boolean {
  if (value.length === 0 || value.length > 15) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** latin1 text of line[start, end), refusing NUL and CR (RFC 9110 §5.5: they make fields unsafe). */
function checkedText(line: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const c = line[i]!;
    if (c === 0 || c === CR) throw malformed('NUL or CR inside a header field');
  }
  return line.toString('latin1', start, end);
}

function malformed(what: string): StackgenError {
  return new StackgenError('SG_ERR_UPSTREAM_MALFORMED', `Malformed backend response: ${what}.`, {
    hint: 'The backend (or the app behind it) wrote a response head the gateway cannot parse.',
  });
}
