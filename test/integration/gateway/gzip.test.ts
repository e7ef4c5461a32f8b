// On-the-fly gzip through the front in-process (scripted backends): a large text answer is
// compressed and decodes to the app's bytes on both lanes; what nginx leaves alone is left
// alone; a streamed answer still arrives chunk by chunk; `gzip: false` turns it off.

import { request } from 'node:http';
import { Readable } from 'node:stream';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayLocation } from '../../../src/gateway/config.js';
import { answer, type Harness, scriptedLocation, startHarness } from '../../helpers/gateway-harness.js';
import { httpCall } from '../../helpers/http-client.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const TEXT = 'stackgen gzip harness line, the same words again and again\n'.repeat(90); // ~5 KB
const GZIP = ['Accept-Encoding', 'gzip'];

async function start(config: { gzip?: boolean } = {}): Promise<Harness> {
  h = await startHarness({
    locations: [scriptedLocation('/', 'app')],
    config,
    scripts: {
      app: (req) => {
        if (req.rawPath === '/small') return answer(200, 'tiny');
        if (req.rawPath === '/image')
          return { status: 200, headers: [['Content-Type', 'image/png']], body: Buffer.from(TEXT) };
        if (req.rawPath === '/etag') return answer(200, TEXT, [['ETag', '"v1"']]);
        if (req.rawPath === '/stream')
          return {
            status: 200,
            headers: [['Content-Type', 'text/event-stream']],
            body: Readable.from(
              (async function* () {
                for (let i = 0; i < 4; i++) {
                  yield Buffer.from(`data: event ${i}\n\n`);
                  await new Promise((r) => setTimeout(r, 150));
                }
              })(),
            ),
          };
        return answer(200, TEXT);
      },
    },
  });
  return h;
}

describe('gateway gzip', () => {
  it('a 5 KB text answer arrives gzip-compressed with Vary and decodes to the same bytes (fast lane)', async () => {
    const g = await start();
    const res = await httpCall(g.port, { path: '/', headers: GZIP });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    expect(res.body.length).toBeLessThan(TEXT.length / 4);
    expect(gunzipSync(res.body).toString()).toBe(TEXT);
  });

  it('the same through the node:http lane (a request with a body)', async () => {
    const g = await start();
    const res = await httpCall(g.port, {
      method: 'POST',
      path: '/',
      headers: GZIP,
      body: Buffer.from('x=1'),
    });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.body).toString()).toBe(TEXT);
  });

  it('makes a strong ETag weak', async () => {
    const g = await start();
    const res = await httpCall(g.port, { path: '/etag', headers: GZIP });
    expect(res.headers.etag).toBe('W/"v1"');
  });

  it('leaves alone a small answer, an image, a HEAD and a client without gzip', async () => {
    const g = await start();
    const small = await httpCall(g.port, { path: '/small', headers: GZIP });
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.body.toString()).toBe('tiny');
    const image = await httpCall(g.port, { path: '/image', headers: GZIP });
    expect(image.headers['content-encoding']).toBeUndefined();
    expect(image.body.toString()).toBe(TEXT);
    const head = await httpCall(g.port, { method: 'HEAD', path: '/', headers: GZIP });
    expect(head.headers['content-encoding']).toBeUndefined();
    expect(head.headers.vary).toBeUndefined();
    for (const headers of [[], ['Accept-Encoding', 'gzip;q=0, br']]) {
      const plain = await httpCall(g.port, { path: '/', headers });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.toString()).toBe(TEXT);
    }
  });

  it('a streamed answer is flushed chunk by chunk', async () => {
    const g = await start();
    const arrivals: Array<{ at: number; bytes: Buffer }> = [];
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: g.port,
          path: '/stream',
          headers: { 'Accept-Encoding': 'gzip' },
          agent: false,
        },
        (res) => {
          res.on('data', (c: Buffer) => arrivals.push({ at: performance.now(), bytes: c }));
          res.on('end', () => resolve(res.headers));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(headers['content-encoding']).toBe('gzip');
    expect(headers['transfer-encoding']).toBe('chunked');
    // Four events 150 ms apart: they must not arrive together at the end.
    expect(arrivals.length).toBeGreaterThanOrEqual(4);
    const spread = (arrivals.at(-1)?.at ?? 0) - (arrivals[0]?.at ?? 0);
    expect(spread).toBeGreaterThan(300);
    // The first chunk decodes on its own (Z_SYNC_FLUSH): the first event is readable at once.
    const first = gunzipSync(arrivals[0]?.bytes ?? Buffer.alloc(0), { finishFlush: constants.Z_SYNC_FLUSH });
    expect(first.toString()).toBe('data: event 0\n\n');
    const all = gunzipSync(Buffer.concat(arrivals.map((a) => a.bytes)));
    expect(all.toString()).toBe([0, 1, 2, 3].map((i) => `data: event ${i}\n\n`).join(''));
  });

  it('gzip: false sends every answer as the app wrote it', async () => {
    const g = await start({ gzip: false });
    const res = await httpCall(g.port, { path: '/', headers: GZIP });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBeUndefined();
    expect(res.body.toString()).toBe(TEXT);
  });

  it('static text files are compressed on the fly too; a .gz sibling, an image, a range and a 304 are left as they are', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stackgen-gzip-static-'));
    try {
      writeFileSync(join(root, 'app.css'), TEXT);
      writeFileSync(join(root, 'logo.png'), TEXT);
      writeFileSync(join(root, 'pre.js'), TEXT);
      writeFileSync(join(root, 'pre.js.gz'), gzipSync(Buffer.from(TEXT), { level: 9 }));
      const statics: GatewayLocation = {
        kind: 'static',
        path: '/static/',
        root,
        followSymlinks: false,
        expiresMs: null,
        immutable: false,
        index: 'index.html',
      };
      h = await startHarness({
        locations: [statics, scriptedLocation('/', 'app')],
        scripts: { app: () => answer(200, TEXT) },
      });
      const css = await httpCall(h.port, { path: '/static/app.css', headers: GZIP });
      expect(css.status).toBe(200);
      expect(css.headers['content-encoding']).toBe('gzip');
      expect(css.headers.vary).toBe('Accept-Encoding');
      expect(css.headers['accept-ranges']).toBeUndefined();
      expect(String(css.headers.etag)).toMatch(/^W\//);
      expect(gunzipSync(css.body).toString()).toBe(TEXT);
      // The weak ETag still validates: a revalidation is a 304, not a second download.
      const again = await httpCall(h.port, {
        path: '/static/app.css',
        headers: [...GZIP, 'If-None-Match', String(css.headers.etag)],
      });
      expect(again.status).toBe(304);
      const png = await httpCall(h.port, { path: '/static/logo.png', headers: GZIP });
      expect(png.headers['content-encoding']).toBeUndefined();
      // gzip_static: the precompressed sibling's own bytes, not compressed twice.
      const pre = await httpCall(h.port, { path: '/static/pre.js', headers: GZIP });
      expect(pre.headers['content-encoding']).toBe('gzip');
      expect(pre.body.equals(readFileSync(join(root, 'pre.js.gz')))).toBe(true);
      const range = await httpCall(h.port, {
        path: '/static/app.css',
        headers: [...GZIP, 'Range', 'bytes=0-9'],
      });
      expect(range.status).toBe(206);
      expect(range.headers['content-encoding']).toBeUndefined();
      expect(range.body.toString()).toBe(TEXT.slice(0, 10));
      const plain = await httpCall(h.port, { path: '/static/app.css' });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.toString()).toBe(TEXT);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
