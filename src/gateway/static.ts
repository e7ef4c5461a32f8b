// Static files: the location prefix is stripped and the rest is looked up below `root`
// (nginx `alias` semantics). Safety first: the path is already normalised by the request
// guard (no `..` left), and the realpath must stay below the root's realpath unless the
// location allows symlinks out (nginx disable_symlinks → 403). Conditional requests
// (RFC 9110 §13), single byte ranges (RFC 9110 §14) and precompressed `.gz` siblings
// (nginx gzip_static) are supported. The decisions are pure functions; serveStatic is the shell.

import { createReadStream, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import type { StaticLocation } from './config.js';
import MIME_TYPES from './data/mime-types.json' with { type: 'json' };
import type { ResponseSink } from './response-sink.js';

const MIME: Record<string, string> = MIME_TYPES;

/** Content-Type for a file name, from the extension table in data/mime-types.json. */
export function contentTypeFor(file: string): string {
  return MIME[extname(file).slice(1).toLowerCase()] ?? 'application/octet-stream';
}

/** A name the static server never publishes (`.env`, `.git`): answered 404, as if absent. */
export const isDotName = (segment: string) => segment.startsWith('.') && segment !== '.' && segment !== '..';

/** staticFilePath's answer for a dotfile: the request is answered 404. */
export const HIDDEN = Symbol('hidden');

/** Cache-Control of an immutable (hashed-name) file: a year, never revalidated (RFC 8246). */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/**
 * The file path for a normalised URL path below a static location, or null when the path
 * could leave the root (defence in depth: the guard has already resolved dot segments), or
 * HIDDEN for a dotfile.
 */
export function staticFilePath(loc: StaticLocation, path: string): string | null | typeof HIDDEN {
  if (!path.startsWith(loc.path)) return null;
  const rest = path.slice(loc.path.length);
  const segments = rest.split('/');
  if (segments.some((s) => s === '..' || s === '.' || s.includes('\0') || s.includes('\\'))) return null;
  // Dotfiles are never published, whatever the directory holds: .env, .git/, .htpasswd.
  if (segments.some(isDotName)) return HIDDEN;
  return join(loc.root, ...segments.filter((s) => s !== ''));
}

/** nginx-style strong ETag: hex mtime seconds - hex size. */
export function etagFor(st: Pick<Stats, 'mtimeMs' | 'size'>): string {
  return `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`;
}

export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * RFC 9110 §14.2: one `bytes=` range → partial; several ranges are answered with the whole
 * representation (allowed: "a server MAY ignore the Range header field"); a syntactically
 * invalid Range is ignored; a valid one outside the file is 416.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' };
  const m = /^bytes=\s*(\d*)-(\d*)\s*$/.exec(header);
  if (!m) return { kind: 'full' };
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

/**
 * RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since; both yield 304 for GET/HEAD.
 * Comparison of If-None-Match is weak (§8.8.3.2).
 */
export function isNotModified(
  headers: { 'if-none-match'?: string | undefined; 'if-modified-since'?: string | undefined },
  etag: string,
  mtimeMs: number,
): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) {
    if (inm.trim() === '*') return true;
    return inm.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
  }
  const ims = headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}

/** True when Accept-Encoding admits gzip (RFC 9110 §12.5.3: q=0 means "not acceptable"). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  for (const part of acceptEncoding.split(',')) {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

export interface StaticResult {
  status: number;
  bytes: number;
}

const isInside = (file: string, root: string) => file === root || file.startsWith(root + sep);

async function statIfFile(path: string): Promise<Stats | null> {
  try {
    const st = await stat(path);
    return st.isFile() ? st : null;
  } catch {
    return null;
  }
}

/** What serveStatic reads of a request: the method and the (lower-case) conditional headers. */
export interface StaticRequest {
  method: string;
  headers: {
    'accept-encoding'?: string | undefined;
    'if-none-match'?: string | undefined;
    'if-modified-since'?: string | undefined;
    'if-range'?: string | undefined;
    range?: string | undefined;
  };
}

/** Serve one request from a static location; answers every case itself. */
export async function serveStatic(
  req: StaticRequest,
  sink: ResponseSink,
  loc: StaticLocation,
  path: string,
  extraHeaders: ReadonlyArray<[string, string]>,
): Promise<StaticResult> {
  const simple = (status: number, text: string, headers: Array<[string, string]> = []): StaticResult => {
    const body = `${status} ${text}\n`;
    sink.writeHead(status, undefined, [
      'Content-Type',
      'text/plain; charset=utf-8',
      'Content-Length',
      String(body.length),
      ...headers.flat(),
    ]);
    sink.end(req.method === 'HEAD' ? undefined : Buffer.from(body, 'latin1'));
    return { status, bytes: body.length };
  };
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return simple(405, 'Method Not Allowed', [['Allow', 'GET, HEAD']]);
  const found = staticFilePath(loc, path);
  if (found === null) return simple(400, 'Bad Request');
  if (found === HIDDEN) return simple(404, 'Not Found');
  let file = found;

  let st: Stats;
  try {
    st = await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' ? simple(403, 'Forbidden') : simple(404, 'Not Found');
  }
  if (st.isDirectory()) {
    if (!path.endsWith('/')) {
      // nginx answers a directory without its slash with a redirect to the slashed URL.
      const location = encodeURI(`${path}/`);
      return simple(301, 'Moved Permanently', [['Location', location]]);
    }
    file = join(file, loc.index);
    const index = await statIfFile(file);
    if (index === null) return simple(403, 'Forbidden');
    st = index;
  } else if (!st.isFile()) {
    return simple(403, 'Forbidden');
  }

  let rootReal: string;
  let fileReal: string;
  try {
    [rootReal, fileReal] = await Promise.all([realpath(loc.root), realpath(file)]);
  } catch {
    return simple(404, 'Not Found');
  }
  if (!loc.followSymlinks && !isInside(fileReal, rootReal)) return simple(403, 'Forbidden');

  // gzip_static: a `.gz` sibling (itself inside the root) is sent as-is to clients that take gzip.
  let encoding: string | null = null;
  let sendPath = fileReal;
  let sendStat = st;
  const gzStat = await statIfFile(`${fileReal}.gz`);
  if (gzStat !== null && acceptsGzip(req.headers['accept-encoding'])) {
    let gzReal = '';
    try {
      gzReal = await realpath(`${fileReal}.gz`);
    } catch {}
    if (gzReal !== '' && (loc.followSymlinks || isInside(gzReal, rootReal))) {
      encoding = 'gzip';
      sendPath = gzReal;
      sendStat = gzStat;
    }
  }

  const etag = etagFor(sendStat);
  const headers: Array<[string, string]> = [
    ['Content-Type', contentTypeFor(file)],
    ['Last-Modified', new Date(Math.floor(sendStat.mtimeMs / 1000) * 1000).toUTCString()],
    ['ETag', etag],
    ['Accept-Ranges', 'bytes'],
  ];
  if (gzStat !== null) headers.push(['Vary', 'Accept-Encoding']);
  if (encoding !== null) headers.push(['Content-Encoding', encoding]);
  if (loc.immutable) {
    headers.push(['Cache-Control', IMMUTABLE_CACHE_CONTROL]);
  } else if (loc.expiresMs !== null) {
    headers.push(['Cache-Control', `max-age=${Math.floor(loc.expiresMs / 1000)}`]);
    headers.push(['Expires', new Date(Date.now() + loc.expiresMs).toUTCString()]);
  }
  for (const [name, value] of extraHeaders) headers.push([name, value]);

  if (isNotModified(req.headers, etag, sendStat.mtimeMs)) {
    sink.writeHead(304, undefined, headers.flat());
    sink.end();
    return { status: 304, bytes: 0 };
  }

  const ifRange = req.headers['if-range'];
  const range =
    ifRange === undefined || ifRange === etag
      ? parseRange(req.headers.range, sendStat.size)
      : ({ kind: 'full' } as const);
  if (range.kind === 'unsatisfiable') {
    headers.push(['Content-Range', `bytes */${sendStat.size}`], ['Content-Length', '0']);
    sink.writeHead(416, undefined, headers.flat());
    sink.end();
    return { status: 416, bytes: 0 };
  }
  const start = range.kind === 'partial' ? range.start : 0;
  const end = range.kind === 'partial' ? range.end : sendStat.size - 1;
  const length = Math.max(0, end - start + 1);
  const status = range.kind === 'partial' ? 206 : 200;
  if (status === 206) headers.push(['Content-Range', `bytes ${start}-${end}/${sendStat.size}`]);
  headers.push(['Content-Length', String(length)]);
  sink.writeHead(status, undefined, headers.flat());
  if (req.method === 'HEAD' || length === 0) {
    sink.end();
    return { status, bytes: 0 };
  }
  await sink.pipeFrom([], createReadStream(sendPath, { start, end }));
  return { status, bytes: length };
}
