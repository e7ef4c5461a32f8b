// The fast lane's request-head parser (pure): the plainest, most common request — GET or HEAD,
// no body, no Upgrade/Expect, a well-formed HTTP/1.x head — or null for anything else.
//
// The parse is deliberately strict and conservative: a head is only accepted when every
// line is exactly what RFC 9112 allows (CRLF line ends, token field names, no obs-fold, no
// control bytes). Returning null is always safe: node:http then parses the same bytes.

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
