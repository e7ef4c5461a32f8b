// The request guard: refuses what nginx refuses, before any byte reaches a backend. Pure: it
// sees the request line and raw headers as the lane's parser read them (codecs/http-head.ts
// for HTTP/1.x, node:http2 for h2) and returns either a normalised view of the request or the
// status to answer. The head parser already refuses what is malformed as bytes (bare LF,
// obs-fold, control bytes, a bad request line); the meaning of the fields — Host, duplicate
// or malformed Content-Length, Transfer-Encoding, CL+TE together, the target's path — is
// checked here, for every lane.

export interface GuardInput {
  method: string;
  /** node's req.httpVersion: '0.9', '1.0', '1.1', '2.0'… */
  httpVersion: string;
  /** The request-target exactly as sent. */
  url: string;
  rawHeaders: readonly string[];
}

export interface GuardAccepted {
  ok: true;
  httpVersion: '1.0' | '1.1';
  /** Origin-form target (absolute-form is reduced to path + query). */
  rawTarget: string;
  rawPath: string;
  query: string;
  /** Percent-decoded, slashes merged, dot segments resolved (nginx's $uri). */
  path: string;
  /** Same as `path` but with %2F kept encoded: tells whether an encoded slash moves a boundary. */
  pathKeepingEncodedSlashes: string;
  /** Host from the absolute-form authority, else the Host header, else null (HTTP/1.0). */
  host: string | null;
  /** rawHeaders minus names nginx ignores (underscores, invalid characters). */
  rawHeaders: string[];
  /** True when the body is chunked (so its length is only known after reading it). */
  chunked: boolean;
  contentLength: number | null;
}

export interface GuardRejected {
  ok: false;
  status: 400 | 501 | 505;
  reason: string;
}

export type GuardResult = GuardAccepted | GuardRejected;

const reject = (status: GuardRejected['status'], reason: string): GuardRejected => ({
  ok: false,
  status,
  reason,
});

// RFC 9110 §5.1 field-name = token; nginx (underscores_in_headers off, ignore_invalid_headers
// on) additionally drops names with `_` so HTTP_X_A can't be forged by sending `X_A`.
const VALID_HEADER_NAME = /^[A-Za-z0-9-]+$/;

// RFC 9112 §3.2 / RFC 3986 §3.2.2: Host = uri-host [ ":" port ]; uri-host is an IP-literal
// in brackets or a reg-name of unreserved / pct-encoded / sub-delims characters.
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d{0,5})?$/;

/** Check one parsed request; pure. */
export function guardRequest(input: GuardInput): GuardResult {
  // RFC 9112 §2.3: a server answers 505 for a major version it does not support; HTTP/0.9
  // has no headers at all (no Host, no framing) and nginx answers it 400.
  if (input.httpVersion === '0.9') return reject(400, 'HTTP/0.9 request');
  if (input.httpVersion !== '1.0' && input.httpVersion !== '1.1')
    return reject(505, `HTTP/${input.httpVersion} is not supported`);
  const httpVersion = input.httpVersion;

  const rawHeaders: string[] = [];
  let hostCount = 0;
  let host: string | null = null;
  const transferCodings: string[] = [];
  let contentLengths = 0;
  let contentLength: number | null = null;
  const raw = input.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (!VALID_HEADER_NAME.test(name)) continue;
    const lower = name.length === 4 || name.length === 14 || name.length === 17 ? name.toLowerCase() : '';
    if (lower === 'host') {
      hostCount++;
      host = value;
    } else if (lower === 'transfer-encoding') {
      for (const coding of value.split(',')) transferCodings.push(coding.trim().toLowerCase());
    } else if (lower === 'content-length') {
      contentLengths++;
      if (!/^\d{1,15}$/.test(value)) return reject(400, 'invalid Content-Length');
      contentLength = Number(value);
    }
    rawHeaders.push(name, value);
  }

  // RFC 9112 §3.2: "A server MUST respond with a 400 … to any HTTP/1.1 request message that
  // lacks a Host header field and to any request message that contains more than one Host
  // header field line or a Host header field with an invalid field value."
  if (hostCount > 1) return reject(400, 'duplicate Host header');
  if (host !== null && (host === '' ? httpVersion === '1.1' : !VALID_HOST.test(host)))
    return reject(400, 'invalid Host header');
  if (host === null && httpVersion === '1.1') return reject(400, 'missing Host header');
  if (contentLengths > 1) return reject(400, 'duplicate Content-Length');

  if (transferCodings.length > 0) {
    // RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message containing a
    // Transfer-Encoding header field MUST treat the message as if the framing is faulty".
    if (httpVersion === '1.0') return reject(400, 'Transfer-Encoding in an HTTP/1.0 request');
    // RFC 9112 §6.3 rule 3: CL and TE together "ought to be handled as an error" — the
    // classic request-smuggling vector, so refuse rather than pick one.
    if (contentLength !== null) return reject(400, 'both Content-Length and Transfer-Encoding');
    // RFC 9112 §6.1: "A server that receives a request message with a transfer coding it does
    // not understand SHOULD respond with 501"; nginx accepts exactly one `chunked`.
    if (transferCodings.length !== 1 || transferCodings[0] !== 'chunked')
      return reject(501, `unsupported Transfer-Encoding: ${transferCodings.join(', ')}`);
  }

  // RFC 9112 §3.2: origin-form for ordinary requests; absolute-form must be accepted, and
  // (§3.2.2) "the server MUST ignore the received Host header field … and instead use the
  // host information of the request-target" — that is also what nginx does.
  let target = input.url;
  if (!target.startsWith('/')) {
    const m = /^[hH][tT][tT][pP][sS]?:\/\/([^/?#]*)(.*)$/.exec(target);
    if (!m) return reject(400, 'request-target is neither origin-form nor absolute-form');
    const authority = m[1] ?? '';
    if (authority === '' || authority.includes('@') || !VALID_HOST.test(authority))
      return reject(400, 'invalid authority in absolute-form request-target');
    host = authority;
    target = m[2] === '' || m[2] === undefined ? '/' : m[2].startsWith('/') ? m[2] : `/${m[2]}`;
    // The app must see that one host everywhere: HTTP_HOST (the forwarded Host field) and
    // X-Forwarded-Host agree, as nginx's `proxy_set_header Host $host` makes them. A Host
    // field the client sent next to the absolute-form target is replaced, a missing one added.
    replaceHostField(rawHeaders, authority);
  }
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const rawPath = q >= 0 ? target.slice(0, q) : target;
  const query = q >= 0 ? target.slice(q + 1) : '';

  const decoded = decodePath(rawPath, false);
  if (typeof decoded !== 'string') return decoded;
  const path = normalisePath(decoded);
  if (path === null) return reject(400, 'path escapes above the root');
  const keeping = rawPath.includes('%2') ? decodePath(rawPath, true) : decoded;
  if (typeof keeping !== 'string') return keeping;
  const pathKeepingEncodedSlashes = keeping === decoded ? path : normalisePath(keeping);
  if (pathKeepingEncodedSlashes === null) return reject(400, 'path escapes above the root');

  return {
    ok: true,
    httpVersion,
    rawTarget: target,
    rawPath,
    query,
    path,
    pathKeepingEncodedSlashes,
    host,
    rawHeaders,
    chunked: transferCodings.length > 0,
    contentLength,
  };
}

/** Set the (single, already checked) Host field of `rawHeaders` to `host`, in place. */
function replaceHostField(rawHeaders: string[], host: string): void {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if ((rawHeaders[i] as string).length === 4 && (rawHeaders[i] as string).toLowerCase() === 'host') {
      rawHeaders[i + 1] = host;
      return;
    }
  rawHeaders.unshift('Host', host);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Percent-decode a path as UTF-8. NUL (%00) is refused: it truncates paths in C backends.
 * Malformed escapes and invalid UTF-8 are refused too (nginx passes the bytes; a JS string
 * cannot carry them losslessly, and no sane client sends them).
 */
function decodePath(rawPath: string, keepEncodedSlashes: boolean): string | GuardRejected {
  if (!rawPath.includes('%')) return rawPath;
  const bytes: number[] = [];
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c !== 0x25) {
      if (c > 0x7f) bytes.push(...Buffer.from(rawPath[i] as string, 'utf8'));
      else bytes.push(c);
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return reject(400, 'malformed percent-encoding in path');
    const byte = Number.parseInt(hex, 16);
    if (byte === 0) return reject(400, 'NUL (%00) in path');
    if (byte === 0x2f && keepEncodedSlashes) bytes.push(0x25, 0x32, hex.charCodeAt(1));
    else bytes.push(byte);
    i += 2;
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return reject(400, 'path is not valid UTF-8 after percent-decoding');
  }
}

/**
 * nginx's URI normalisation on a decoded path: merge_slashes, then RFC 3986 §5.2.4
 * remove_dot_segments. Returns null when `..` would climb above `/` (nginx answers 400).
 */
export function normalisePath(decoded: string): string | null {
  if (!decoded.includes('//') && !decoded.includes('/.')) return decoded;
  const segments = decoded.split('/');
  const out: string[] = [];
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const seg = segments[i] as string;
    if (seg === '' && i !== last) continue;
    if (seg === '.') {
      if (i === last) out.push('');
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
      if (i === last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return `/${out.join('/')}`;
}
