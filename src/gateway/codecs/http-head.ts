// The gateway's HTTP/1.x request-head parser (pure): every request head of every HTTP/1.x
// connection is read here (fast-lane.ts), so one set of rules — RFC 9112 as nginx applies
// it — decides what a request is. There is no second parser behind it: node's llhttp used to
// take every head this one declined, and on a connection it had taken it was both laxer
// (it reads `GET / RTSP/1.0` as HTTP/1.0) and stricter (it refuses extension methods such as
// DeltaV's LABEL, which nginx passes) than this file, so the same bytes were answered
// differently depending on what came before them on the connection.
//
// The parse is strict: a head is only accepted when every line is exactly what RFC 9112
// allows (CRLF line ends, token field names, no obs-fold, no control bytes); anything else is
// refused with the status nginx answers. What a field *means* (Host, Content-Length,
// Transfer-Encoding, the target's path) is the request guard's (request-guard.ts): this file
// only finds the framing the guard then checks.

export interface RequestHead {
  /** An upper-case token ([A-Z_-]+, nginx's method rule). */
  method: string;
  /** The request-target as sent (origin-form, absolute-form or `*`; the guard decides). */
  target: string;
  httpVersion: '1.0' | '1.1';
  /** Name/value pairs as sent (latin1), like node's rawHeaders. */
  rawHeaders: string[];
  /** RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`. */
  keepAlive: boolean;
  /** The body's Content-Length when exactly one well-formed one was sent (else 0: the guard refuses). */
  contentLength: number;
  /** A Transfer-Encoding field was sent (the guard accepts exactly `chunked`, without Content-Length). */
  chunked: boolean;
  /** RFC 9110 §10.1.1: `Expect: 100-continue` on HTTP/1.1 — the client waits for a 100 before its body. */
  expectContinue: boolean;
  /**
   * An Upgrade field with the `upgrade` Connection token (RFC 9110 §7.8; llhttp's rule too):
   * a WebSocket or h2c request, for upgrade.ts.
   */
  upgrade: boolean;
}

/** A head refused before the guard sees it, with the status nginx answers. */
export interface HeadRefusal {
  refused: 400 | 405 | 505;
  reason: string;
}

// RFC 9112 §3: request-line = method SP request-target SP HTTP-version. nginx (the reference)
// takes a method of upper-case letters, `_` and `-` only (ngx_http_parse_request_line answers
// 400 to `get`, `M1` or `A.B`), which covers every method in IANA's registry.
const METHOD = /^[A-Z_-]+$/;
// Visible ASCII and obs-text (nginx passes high-bit bytes; the guard decodes the path).
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;
// RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT.
const HTTP_VERSION = /^HTTP\/(\d)\.(\d)$/;
// Another protocol's version (RTSP/1.0, ICE/1.0): nginx answers 400 to any protocol name but HTTP.
const OTHER_VERSION = /^[A-Za-z][A-Za-z0-9+.-]*\/\d+(?:\.\d+)?$/;
// RFC 9110 §5.1 field-name = token; §5.5 field-value: VCHAR / obs-text / SP / HTAB inside.
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t\x20-\x7e\x80-\xff]*?)[ \t]*$/;

const refuse = (refused: HeadRefusal['refused'], reason: string): HeadRefusal => ({ refused, reason });

/** Check a complete request line (without CRLF); the refusal, or its three parts. Pure. */
function parseRequestLine(
  line: string,
): HeadRefusal | [method: string, target: string, version: '1.0' | '1.1'] {
  const parts = line.split(' ');
  // Two parts: HTTP/0.9's `GET /` (no headers, no Host, no framing): nginx answers 400.
  if (parts.length !== 3) return refuse(400, 'malformed request line');
  const [method, target, version] = parts as [string, string, string];
  if (!METHOD.test(method)) return refuse(400, 'invalid method token');
  if (!TARGET.test(target)) return refuse(400, 'invalid request-target');
  const v = HTTP_VERSION.exec(version);
  if (v === null)
    return refuse(
      400,
      OTHER_VERSION.test(version) ? `not an HTTP request line (${version})` : 'invalid version',
    );
  if (v[1] !== '1' || (v[2] !== '0' && v[2] !== '1'))
    // RFC 9110 §15.6.6: 505 for a version the server does not support; HTTP/0.x has no
    // head to speak of, so it is malformed (400) rather than unsupported.
    return v[1] === '0'
      ? refuse(400, 'HTTP/0.x request')
      : refuse(505, `HTTP/${v[1]}.${v[2]} is not supported`);
  // CONNECT is for forward proxies; an origin gateway refuses it (nginx: 405).
  if (method === 'CONNECT') return refuse(405, 'CONNECT');
  return [method, target, v[2] === '1' ? '1.1' : '1.0'];
}

/**
 * Parse a complete head (latin1, without the final CRLF CRLF and without leading empty
 * lines): the request, or the status to refuse it with. Pure.
 */
export function parseRequestHead(head: string): RequestHead | HeadRefusal {
  const lines = head.split('\r\n');
  const line = parseRequestLine(lines[0] as string);
  if (!Array.isArray(line)) return line;
  const [method, target, httpVersion] = line;
  let close = false;
  let keepAliveToken = false;
  let upgradeToken = false;
  let upgradeField = false;
  let contentLengths = 0;
  let contentLength = 0;
  let chunked = false;
  let expectContinue = false;
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const field = FIELD_LINE.exec(lines[i] as string);
    // A bare CR or LF stays inside a split line and fails the value pattern; so does obs-fold
    // (RFC 9112 §5.2: a server MUST reject it or replace it; nginx rejects) and a space
    // before the colon (RFC 9112 §5.1: MUST be rejected with 400).
    if (field === null) return refuse(400, 'invalid header line');
    const name = field[1] as string;
    const value = field[2] as string;
    const length = name.length;
    // Only the names that frame or route the request are looked at (by length first: this runs
    // for every field of every request).
    if (length === 6 || length === 7 || length === 10 || length === 14 || length === 17) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        contentLengths++;
        if (/^\d{1,15}$/.test(value)) contentLength = Number(value);
      } else if (lower === 'transfer-encoding') chunked = true;
      else if (lower === 'expect') expectContinue = value.toLowerCase() === '100-continue';
      else if (lower === 'upgrade') upgradeField = true;
      else if (lower === 'connection')
        for (const token of value.toLowerCase().split(',')) {
          const t = token.trim();
          if (t === 'close') close = true;
          else if (t === 'keep-alive') keepAliveToken = true;
          else if (t === 'upgrade') upgradeToken = true;
        }
    }
    rawHeaders.push(name, value);
  }
  return {
    method,
    target,
    httpVersion,
    rawHeaders,
    keepAlive: !close && (httpVersion === '1.1' || keepAliveToken),
    // Two Content-Lengths or a malformed one: no body is read (the guard answers 400 and the
    // connection closes, so nothing after this head is parsed as a request).
    contentLength: contentLengths === 1 && !chunked ? contentLength : 0,
    chunked,
    // nginx sends 100 Continue on HTTP/1.1 only, and ignores other expectations.
    expectContinue: expectContinue && httpVersion === '1.1',
    upgrade: upgradeField && upgradeToken,
  };
}

/**
 * A head still arriving that is already invalid — a bare LF (RFC 9112 §2.2), a request line
 * or a complete field line that can never become valid — is refused at once instead of when
 * the header timeout fires (nginx parses as bytes arrive, too); null while it may still be
 * fine. Expects leading empty lines removed. Pure.
 */
export function partialHeadRefusal(partial: Buffer): HeadRefusal | null {
  const lf = partial.indexOf(0x0a);
  if (lf < 0) {
    // The method so far, once it is complete: a token of nginx's method rule.
    const start = partial.toString('latin1', 0, Math.min(partial.length, 64));
    return /^[A-Z_-]*(?: |$)/.test(start) ? null : refuse(400, 'invalid method token');
  }
  if (lf === 0 || partial[lf - 1] !== 0x0d) return refuse(400, 'bare LF');
  const line = parseRequestLine(partial.toString('latin1', 0, lf - 1));
  // A CONNECT line is complete but its head is not: the 405 waits for the head.
  if (!Array.isArray(line) && line.refused !== 405) return line;
  for (
    let from = lf + 1, next = partial.indexOf(0x0a, from);
    next >= 0;
    from = next + 1, next = partial.indexOf(0x0a, from)
  ) {
    if (partial[next - 1] !== 0x0d) return refuse(400, 'bare LF');
    if (!FIELD_LINE.test(partial.toString('latin1', from, next - 1)))
      return refuse(400, 'invalid header line');
  }
  return null;
}
