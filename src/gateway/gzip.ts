// On-the-fly gzip of the app's answers, as nginx's gzip filter does it (gzip on, gzip_types,
// gzip_min_length 1024, gzip_proxied any, gzip_vary on, gzip_comp_level 5 — the rendered
// site.conf). The rules are pure functions; gzipResponseSink is a ResponseSink decorator that
// decides from the head and compresses what the proxy core or the static handler writes (a
// static file with a precompressed `.gz` sibling is sent as it is: gzip_static).

import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { constants, createGzip, gzipSync } from 'node:zlib';
import { headerValue } from './hop-by-hop.js';
import { assertValidHead, type ResponseSink } from './response-sink.js';
import { acceptsGzip } from './static.js';

/** gzip_min_length 1024: below it the gzip header and the CPU cost more than they save. */
export const GZIP_MIN_LENGTH = 1024;
/** gzip_comp_level 5: nearly all of level 9's ratio for a fraction of its CPU. */
const GZIP_LEVEL = 5;

/** nginx's gzip_types of the rendered site.conf (text/html is nginx's built-in), exact types. */
const GZIP_TYPES = new Set([
  'application/javascript',
  'application/json',
  'application/ld+json',
  'application/manifest+json',
  'application/xml',
  'application/rss+xml',
  'application/atom+xml',
  'application/wasm',
  'application/vnd.ms-fontobject',
  'image/svg+xml',
  'image/x-icon',
  'font/ttf',
  'font/otf',
]);

/** Is this media type text worth compressing? text/*, nginx's list, and any +json / +xml. */
export function compressibleType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return type.startsWith('text/') || GZIP_TYPES.has(type) || type.endsWith('+json') || type.endsWith('+xml');
}

export interface GzipRequest {
  method: string;
  httpVersion: string;
  /** The client's Accept-Encoding (repeats joined with ", "); undefined when absent. */
  acceptEncoding: string | undefined;
}

/** A request header's values joined with ", " (raw [name, value, …] pairs), undefined when absent. */
export function joinedHeader(rawHeaders: readonly string[], lower: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if ((rawHeaders[i] as string).toLowerCase() === lower)
      out = out === undefined ? (rawHeaders[i + 1] as string) : `${out}, ${rawHeaders[i + 1] as string}`;
  return out;
}

/**
 * Should this answer go out gzip-compressed? (pure) nginx's gzip filter answers no for: a
 * client that does not accept gzip (RFC 9110 §12.5.3: `gzip;q=0` refuses it), an HTTP/1.0
 * request (gzip_http_version 1.1), HEAD (no body), a status other than 200/403/404 (so never
 * 1xx/204/206/304), a body already encoded, a type not in gzip_types, and a Content-Length
 * below gzip_min_length (an unknown length — a stream — is compressed). Cache-Control
 * no-transform forbids it too (RFC 9111 §5.2.2.6: "an intermediary MUST NOT transform the
 * content").
 */
export function shouldGzip(req: GzipRequest, status: number, headers: readonly string[]): boolean {
  if (!acceptsGzip(req.acceptEncoding)) return false;
  if (req.httpVersion === '1.0' || req.method === 'HEAD') return false;
  if (status !== 200 && status !== 403 && status !== 404) return false;
  const encoding = headerValue(headers, 'content-encoding');
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
  if (!compressibleType(headerValue(headers, 'content-type'))) return false;
  if (/(^|[\s,])no-transform($|[\s,])/i.test(headerValue(headers, 'cache-control') ?? '')) return false;
  const length = headerValue(headers, 'content-length');
  if (length !== undefined && Number(length) < GZIP_MIN_LENGTH) return false;
  return true;
}

/**
 * The head of a compressed answer (pure): Content-Length and Accept-Ranges dropped (the
 * length is the compressed one now; a byte range of the original no longer applies),
 * `Content-Encoding: gzip`, Accept-Encoding merged into Vary (gzip_vary: a shared cache must
 * not hand the gzip body to a client that did not ask for it), and a strong ETag made weak —
 * the bytes differ, the meaning does not (RFC 9110 §8.8.1; nginx's ngx_http_weak_etag).
 */
export function gzipHeaders(headers: readonly string[]): string[] {
  const out: string[] = [];
  let varied = false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    let value = headers[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'accept-ranges' || lower === 'content-encoding') continue;
    if (lower === 'etag' && value.startsWith('"')) value = `W/${value}`;
    if (lower === 'vary' && !varied) {
      varied = true;
      if (!/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(value))
        value = value.trim() === '' ? 'Accept-Encoding' : `${value}, Accept-Encoding`;
    }
    out.push(name, value);
  }
  if (!varied) out.push('Vary', 'Accept-Encoding');
  out.push('Content-Encoding', 'gzip');
  return out;
}

/**
 * A ResponseSink that gzips the answer when shouldGzip says so and passes everything else to
 * `inner` untouched. The decision is made from the head; a compressed head is checked at
 * writeHead (as node's would be) but sent with the body, when its length is known.
 */
export function gzipResponseSink(inner: ResponseSink, req: GzipRequest): ResponseSink {
  // Most clients of a benchmark or an API send no Accept-Encoding: no wrapper for them.
  if (!acceptsGzip(req.acceptEncoding)) return inner;
  let staged: { status: number; statusText: string | undefined; headers: string[] } | null = null;
  return {
    get headersSent() {
      return inner.headersSent;
    },
    writeHead(status, statusText, headers) {
      if (!shouldGzip(req, status, headers)) {
        staged = null;
        inner.writeHead(status, statusText, headers);
        return;
      }
      assertValidHead(status, statusText, headers);
      staged = { status, statusText, headers: gzipHeaders(headers) };
    },
    end(body) {
      if (staged === null) return inner.end(body);
      const packed = gzipSync(body ?? Buffer.alloc(0), { level: GZIP_LEVEL });
      inner.writeHead(staged.status, staged.statusText, [
        ...staged.headers,
        'Content-Length',
        String(packed.length),
      ]);
      inner.end(packed);
    },
    pipeFrom(early, body) {
      if (staged === null) return inner.pipeFrom(early, body);
      inner.writeHead(staged.status, staged.statusText, staged.headers);
      // Z_SYNC_FLUSH after every write: each chunk the app sends (an SSE event, a long poll's
      // answer) leaves as soon as it came, instead of waiting for a full deflate block.
      const gz = createGzip({ level: GZIP_LEVEL, flush: constants.Z_SYNC_FLUSH });
      for (const chunk of early) gz.write(chunk);
      // A body failure destroys gz, so inner.pipeFrom rejects (and the caller cuts the
      // connection); a client gone destroys gz, and pipeline then the body.
      pipeline(body, gz, () => {});
      return inner.pipeFrom([], gz as Readable);
    },
    sendError: (status, extra) => inner.sendError(status, extra),
    destroy: () => inner.destroy(),
  };
}
