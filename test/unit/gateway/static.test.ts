import { nodeResponseSink } from '../../../src/gateway/response-sink.js';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaticLocation } from '../../../src/gateway/config.js';
import {
  acceptsGzip,
  contentTypeFor,
  isNotModified,
  parseRange,
  HIDDEN,
  IMMUTABLE_CACHE_CONTROL,
  serveStatic,
  staticFilePath,
} from '../../../src/gateway/static.js';

const loc = (root: string, followSymlinks = false, immutable = false): StaticLocation => ({
  kind: 'static',
  path: '/static/',
  root,
  followSymlinks,
  expiresMs: null,
  index: 'index.html',
  immutable,
});

describe('static decisions (pure)', () => {
  it('maps a URL below the prefix into the root (alias semantics)', () => {
    expect(staticFilePath(loc('/srv/s'), '/static/css/a.css')).toBe('/srv/s/css/a.css');
    expect(staticFilePath(loc('/srv/s'), '/static/')).toBe('/srv/s');
  });

  it.each(['/static/../etc/passwd', '/static/a/../../x', '/static/./a', '/other/x', '/static/a\\..\\b'])(
    'refuses %s (defence in depth behind the guard)',
    (path) => expect(staticFilePath(loc('/srv/s'), path)).toBeNull(),
  );

  it.each(['/static/.env', '/static/.git/config', '/static/a/.htpasswd', '/static/.well-known/x'])(
    'hides the dotfile %s (never published, whatever the directory holds)',
    (path) => expect(staticFilePath(loc('/srv/s'), path)).toBe(HIDDEN),
  );

  it.each([
    [undefined, { kind: 'full' }],
    ['bytes=0-9', { kind: 'partial', start: 0, end: 9 }],
    ['bytes=90-', { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-10', { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-1000', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=50-1000', { kind: 'partial', start: 50, end: 99 }],
    ['bytes=100-', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=0-1,5-6', { kind: 'full' }],
    ['bytes=9-3', { kind: 'full' }],
    ['items=0-1', { kind: 'full' }],
  ])('Range %s on 100 bytes', (header, expected) => expect(parseRange(header, 100)).toEqual(expected));

  it('answers 304 on a matching ETag (weak comparison) or a fresh If-Modified-Since', () => {
    const mtime = Date.parse('2024-01-02T03:04:05Z');
    expect(isNotModified({ 'if-none-match': '"a", W/"x"' }, '"x"', mtime)).toBe(true);
    expect(isNotModified({ 'if-none-match': '"a"' }, '"x"', mtime)).toBe(false);
    expect(isNotModified({ 'if-none-match': '*' }, '"x"', mtime)).toBe(true);
    expect(isNotModified({ 'if-modified-since': 'Tue, 02 Jan 2024 03:04:05 GMT' }, '"x"', mtime + 500)).toBe(
      true,
    );
    expect(isNotModified({ 'if-modified-since': 'Tue, 02 Jan 2024 03:04:04 GMT' }, '"x"', mtime)).toBe(false);
    // If-None-Match wins (RFC 9110 §13.2.2)
    expect(
      isNotModified(
        { 'if-none-match': '"a"', 'if-modified-since': 'Tue, 02 Jan 2030 00:00:00 GMT' },
        '"x"',
        mtime,
      ),
    ).toBe(false);
  });

  it.each([
    [undefined, false],
    ['gzip', true],
    ['br, gzip;q=0.5', true],
    ['gzip;q=0', false],
    ['*', true],
    ['identity', false],
  ])('Accept-Encoding %s → gzip %s', (header, expected) => expect(acceptsGzip(header)).toBe(expected));

  it('knows common types and falls back to octet-stream', () => {
    expect(contentTypeFor('a.CSS')).toBe('text/css; charset=utf-8');
    expect(contentTypeFor('x.woff2')).toBe('font/woff2');
    expect(contentTypeFor('noext')).toBe('application/octet-stream');
  });
});

describe('serveStatic path safety', () => {
  let dir: string;
  let server: Server;
  let port: number;
  let follow = false;
  let immutable = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-static-'));
    const root = join(dir, 'root');
    mkdirSync(join(root, 'sub'), { recursive: true });
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(dir, 'secret.txt'), 'secret');
    writeFileSync(join(root, 'ok.txt'), 'ok');
    writeFileSync(join(root, '.env'), 'SECRET_KEY=x');
    mkdirSync(join(root, '.git'));
    writeFileSync(join(root, '.git', 'config'), '[core]');
    writeFileSync(join(root, 'sub', 'index.html'), '<p>index</p>');
    symlinkSync(join(dir, 'secret.txt'), join(root, 'escape.txt'));
    symlinkSync(dir, join(root, 'updir'));
    symlinkSync(join(root, 'ok.txt'), join(root, 'inside.txt'));
    server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      void serveStatic(
        { method: req.method ?? 'GET', headers: req.headers },
        nodeResponseSink(res),
        loc(root, follow, immutable),
        path,
        [['X-Test', '1']],
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fetchFull = (path: string) =>
    new Promise<{ status: number; body: string; cacheControl: string | undefined }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, cacheControl: res.headers['cache-control'] }),
        );
      }).on('error', reject);
    });
  const fetchStatus = async (path: string) => {
    const { status, body } = await fetchFull(path);
    return { status, body };
  };

  it.each([
    ['/static/ok.txt', 200],
    ['/static/inside.txt', 200],
    ['/static/escape.txt', 403],
    ['/static/updir/secret.txt', 403],
    ['/static/missing.txt', 404],
    ['/static/sub/', 200],
    ['/static/sub', 301],
    ['/static/empty/', 403],
    ['/static/.env', 404],
    ['/static/.git/config', 404],
  ])('%s → %i', async (path, status) => {
    expect((await fetchStatus(path)).status).toBe(status);
  });

  it('serves a symlink out of the root when follow_symlinks is on', async () => {
    follow = true;
    try {
      expect(await fetchStatus('/static/escape.txt')).toEqual({ status: 200, body: 'secret' });
    } finally {
      follow = false;
    }
  });

  it("marks an immutable location's files for a year, never revalidated", async () => {
    expect((await fetchFull('/static/ok.txt')).cacheControl).toBeUndefined();
    immutable = true;
    try {
      expect((await fetchFull('/static/ok.txt')).cacheControl).toBe(IMMUTABLE_CACHE_CONTROL);
    } finally {
      immutable = false;
    }
  });
});
