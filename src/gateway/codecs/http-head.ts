// The fast lane's request-head parser (pure): the plainest, most common request — GET or HEAD,
// no body, no Upgrade/Expect, a well-formed HTTP/1.x head — or null for anything else. It also
// takes what node's parser cannot: a request whose method is a token nginx takes but
// llhttp does not know (WebDAV/DeltaV's VERSION-CONTROL, LABEL, ORDERPATCH, MKREDIRECTREF…,
// any extension method), with no body or a Content-Length one — node:http answers those 400
// ("Invalid method encountered") while nginx passes them to the app.
//
// The parse is deliberately strict and conservative: a head is only accepted when every
// line is exactly what RFC 9112 allows (CRLF line ends, token field names, no obs-fold, no
// control bytes). Returning null is always safe: node:http then parses the same bytes.

import { METHODS } from 'node:http';

export interface SimpleHead {
  /** GET, HEAD, or an extension method node's parser does not know. */
  method: string;
  /** The request-target as sent (origin-form). */
  target: string;
  httpVersion: '1.0' | '1.1';
  /** Name/value pairs as sent (latin1), like node's rawHeaders. */
  rawHeaders: string[];
  /** RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`. */
  keepAlive: boolean;
  /** The body's Content-Length (0: no body; only an extension method has one). */
  contentLength: number;
  /** An extension method's body is chunked (`Transfer-Encoding: chunked`, nothing else). */
  chunked: boolean;
}

// RFC 9112 §3: request-line = method SP request-target SP HTTP-version. Only GET/HEAD with an
// origin-form target of visible ASCII; anything else is node:http's.
const REQUEST_LINE = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.([01])$/;
// The same with an extension method. RFC 9110 §9.1 allows any token; nginx (the reference)
// takes upper-case letters, `_` and `-` only (ngx_http_parse_request_line answers 400 to
// `get`, `M1` or `A.B`), which covers every method in IANA's registry — so does the gateway.
const TOKEN_REQUEST_LINE = /^([A-Z_-]+) (\/[\x21-\x7e]*) HTTP\/1\.([01])$/;
// RFC 9110 §5.1 field-name = token; §5.5 field-value: VCHAR / obs-text / SP / HTAB inside.
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t\x20-\x7e\x80-\xff]*?)[ \t]*$/;
/** More fields than this is unusual enough for node:http (which enforces maxHeadersCount). */
const MAX_FIELDS = 100;
/** The methods llhttp parses (node's http.METHODS); the fast lane carries every other token. */
const NODE_METHODS: ReadonlySet<string> = new Set(METHODS);

/** True for a method token node's parser refuses, which only the fast lane can serve (pure). */
export function isExtensionMethod(method: string): boolean {
  return !NODE_METHODS.has(method);
}

/**
 * Parse the head text (latin1, without the final CRLF CRLF) of a request the fast lane may
 * serve; null for anything else. Pure.
 */
export function parseSimpleHead(head: string): SimpleHead | null {
  const lines = head.split('\r\n');
  let line = REQUEST_LINE.exec(lines[0] as string);
  let extension = false;
  if (line === null) {
    line = TOKEN_REQUEST_LINE.exec(lines[0] as string);
    if (line === null || !isExtensionMethod(line[1] as string)) return null;
    extension = true;
  }
  if (lines.length - 1 > MAX_FIELDS) return null;
  const httpVersion = line[3] === '1' ? '1.1' : '1.0';
  let close = false;
  let keepAliveToken = false;
  let contentLength = -1;
  let chunked = false;
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const field = FIELD_LINE.exec(lines[i] as string);
    // A bare CR or LF stays inside a split line and fails the value pattern; so does obs-fold.
    if (field === null) return null;
    const name = field[1] as string;
    const value = field[2] as string;
    const length = name.length;
    // Expect (100-continue needs an interim answer), Upgrade (WebSocket, h2c), Content-Length
    // (a body, even 0: the full path decides) and Transfer-Encoding: all node:http's — except
    // an extension method's one Content-Length or `chunked`, since node cannot parse it at all.
    if (length === 6 || length === 7 || length === 14 || length === 17) {
      const lower = name.toLowerCase();
      if (lower === 'content-length' && extension && contentLength < 0 && /^\d{1,15}$/.test(value))
        contentLength = Number(value);
      else if (lower === 'transfer-encoding' && extension && !chunked && value.toLowerCase() === 'chunked')
        chunked = true;
      else if (
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
  // Both framings: the request guard refuses it (RFC 9112 §6.3, 400); no body is read.
  if (chunked && contentLength >= 0) {
    chunked = false;
    contentLength = -1;
  }
  return {
    method: line[1] as string,
    target: line[2] as string,
    httpVersion,
    rawHeaders,
    keepAlive,
    contentLength: Math.max(contentLength, 0),
    chunked,
  };
}

// RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT. llhttp also parses RTSP/1.0 and
// ICE/1.0 request lines and reports them as version 1.0 — indistinguishable from HTTP/1.0
// after node's parse — while nginx answers 400 to any protocol name but HTTP.
const OTHER_PROTOCOL_LINE = /^[^ ]+ [^ ]+ (?!HTTP\/)[A-Za-z][A-Za-z0-9+.-]*\/\d+(?:\.\d+)?$/;

/**
 * The status to refuse a complete request line with before node:http sees it — 400 for a
 * protocol other than HTTP (RTSP/1.0, ICE/1.0) — or null. Pure.
 */
export function refuseRequestLine(line: string): 400 | null {
  return OTHER_PROTOCOL_LINE.test(line) ? 400 : null;
}

/**
 * False when a partial head can already be seen not to be fast-lane material: a bare LF
 * (RFC 9112 §2.2: node rejects it), a complete request line that is not a plain GET/HEAD or an
 * extension method, or a complete field line that is not a valid field — so node:http, which
 * parses as bytes arrive, refuses an invalid head at once instead of the fast lane holding it
 * until the header timeout. Pure.
 */
export function mayBecomeSimpleHead(partial: Buffer): boolean {
  const lf = partial.indexOf(0x0a);
  if (lf < 0) {
    // The method so far (as TOKEN_REQUEST_LINE takes it); once complete, GET, HEAD or an
    // extension method (POST, PUT… are node:http's at once).
    const start = partial.toString('latin1', 0, Math.min(partial.length, 32));
    const m = /^([A-Z_-]+)( |$)/.exec(start);
    if (m === null) return false;
    const method = m[1] as string;
    return m[2] === '' || method === 'GET' || method === 'HEAD' || isExtensionMethod(method);
  }
  if (lf === 0 || partial[lf - 1] !== 0x0d) return false;
  const line = partial.toString('latin1', 0, lf - 1);
  if (!REQUEST_LINE.test(line)) {
    const m = TOKEN_REQUEST_LINE.exec(line);
    if (m === null || !isExtensionMethod(m[1] as string)) return false;
  }
  for (
    let from = lf + 1, next = partial.indexOf(0x0a, from);
    next >= 0;
    from = next + 1, next = partial.indexOf(0x0a, from)
  ) {
    if (partial[next - 1] !== 0x0d) return false;
    if (!FIELD_LINE.test(partial.toString('latin1', from, next - 1))) return false;
  }
  return true;
}
