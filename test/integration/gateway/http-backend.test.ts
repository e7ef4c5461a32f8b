// The gateway in front of real gunicorn (HTTP), a raw WebSocket-style echo backend, a dead
// backend and a static directory — one gateway process, configured by a YAML file.

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningGateway, rawRequest, startGateway } from '../../helpers/gateway-process.js';
import { httpCall, json } from '../../helpers/http-client.js';
import { freePort, waitUntilConnectable } from '../../helpers/ports.js';
import { type StartedProcess, startProcess } from '../../helpers/processes.js';
import { describeWith } from '../../helpers/tools.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'gateway');

interface Echo {
  environ: Record<string, string>;
  path_info_utf8: string;
  body_sha256: string;
  body_length: number;
}

describeWith({ tools: ['/usr/bin/gunicorn'], pythonModules: ['flask'] })(
  'gateway → gunicorn over HTTP',
  () => {
    let dir: string;
    let gunicorn: StartedProcess;
    let gateway: RunningGateway;
    let wsBackend: Server;
    let port: number;
    const bigStatic = randomBytes(200_000);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sg-gw-http-'));
      const appPort = await freePort();
      const deadPort = await freePort();
      gunicorn = startProcess('/usr/bin/gunicorn', [
        '--bind',
        `127.0.0.1:${appPort}`,
        '--workers',
        '2',
        '--chdir',
        FIXTURES,
        'echo_app:application',
      ]);
      // The WebSocket-ish backend: answers 101 and echoes raw bytes over the upgraded socket.
      wsBackend = createServer((_req, res) => res.end('not an upgrade'));
      wsBackend.on('upgrade', (req, socket, head) => {
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\nX-Seen-XFF: ${req.headers['x-forwarded-for']}\r\n\r\n`,
        );
        if (head.length > 0) socket.write(head);
        socket.pipe(socket);
      });
      await new Promise<void>((r) => wsBackend.listen(0, '127.0.0.1', r));
      const wsPort = (wsBackend.address() as { port: number }).port;

      const staticDir = join(dir, 'static');
      mkdirSync(join(staticDir, 'sub'), { recursive: true });
      writeFileSync(join(staticDir, 'big.bin'), bigStatic);
      writeFileSync(join(staticDir, 'app.js'), 'console.log("plain")\n');
      writeFileSync(join(staticDir, 'app.js.gz'), gzipSync('console.log("plain")\n'));
      writeFileSync(join(dir, 'secret.txt'), 'secret');
      symlinkSync(join(dir, 'secret.txt'), join(staticDir, 'leak.txt'));
      writeFileSync(
        join(dir, 'gateway.yaml'),
        `# test gateway
listen: ["127.0.0.1:0"]
server_name: gw.test
max_body: 10m
timeouts: {read: 1500ms, connect: 1s, shutdown: 2s}
security_headers: {X-Content-Type-Options: nosniff}
locations:
  - path: /static/
    static: {root: ${staticDir}, expires: 1h}
  - path: /dead/
    upstream: ["http://127.0.0.1:${deadPort}"]
  - path: /ws/
    upstream: ["http://127.0.0.1:${wsPort}"]
    websocket: true
  - path: /
    upstream: ["http://127.0.0.1:${appPort}"]
`,
      );
      await waitUntilConnectable({ host: '127.0.0.1', port: appPort });
      gateway = await startGateway(['--config', join(dir, 'gateway.yaml')]);
      port = gateway.port;
    });

    afterAll(async () => {
      await gateway?.proc.stop();
      await gunicorn?.stop();
      wsBackend?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('forwards a GET with its query and decodes a non-ASCII path', async () => {
      const res = await httpCall(port, { path: '/caf%C3%A9/x?a=1&b=%20' });
      expect(res.status).toBe(200);
      const echo = json<Echo>(res);
      expect(echo.path_info_utf8).toBe('/café/x');
      expect(echo.environ['QUERY_STRING']).toBe('a=1&b=%20');
      expect(echo.environ['RAW_URI']).toBe('/caf%C3%A9/x?a=1&b=%20');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    });

    it('streams a 5 MB POST body intact (sha256 checked by the app)', async () => {
      const body = randomBytes(5 * 1024 * 1024);
      const res = await httpCall(port, { method: 'POST', path: '/upload', body });
      const echo = json<Echo>(res);
      expect(echo.body_length).toBe(body.length);
      expect(echo.body_sha256).toBe(createHash('sha256').update(body).digest('hex'));
    });

    it('de-chunks a chunked upload and sends it with a Content-Length', async () => {
      const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(3)];
      const res = await httpCall(port, { method: 'POST', path: '/upload', body: parts });
      const echo = json<Echo>(res);
      expect(echo.body_length).toBe(70_003 + 1000);
      expect(echo.body_sha256).toBe(createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
      expect(echo.environ['CONTENT_LENGTH']).toBe('71003');
    });

    it('streams a large response (20 MB) completely', async () => {
      const res = await httpCall(port, { path: '/big?n=20000000' });
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(20_000_000);
      expect(res.body.subarray(0, 16).toString()).toBe('0123456789abcdef');
    });

    it('keeps duplicate response headers and relays custom statuses', async () => {
      const res = await httpCall(port, { path: '/status/418' });
      expect(res.status).toBe(418);
      const multi = res.rawHeaders.filter(
        (_, i, all) => i % 2 === 1 && all[i - 1]?.toLowerCase() === 'x-multi',
      );
      expect(multi).toEqual(['a', 'b']);
    });

    it('replaces spoofed X-Forwarded-*, drops Proxy and underscore headers', async () => {
      const res = await httpCall(port, {
        path: '/h',
        headers: [
          'X-Forwarded-For',
          '6.6.6.6',
          'X-Forwarded-Proto',
          'https',
          'X-Forwarded-Host',
          'evil.test',
          'X-Real-IP',
          '6.6.6.6',
          'Proxy',
          'http://evil:3128',
          'X_Evil',
          'underscore',
          'X-Dup',
          'a',
          'X-Dup',
          'b',
        ],
      });
      const env = json<Echo>(res).environ;
      expect(env['HTTP_X_FORWARDED_FOR']).toBe('127.0.0.1');
      expect(env['HTTP_X_FORWARDED_PROTO']).toBe('http');
      expect(env['HTTP_X_FORWARDED_HOST']).toBe(`127.0.0.1:${port}`);
      expect(env['HTTP_X_REAL_IP']).toBe('127.0.0.1');
      expect(env['HTTP_PROXY']).toBeUndefined();
      expect(Object.keys(env).filter((k) => k.includes('EVIL'))).toEqual([]);
      expect(env['HTTP_X_DUP']).toBe('a,b');
    });

    it('answers 413 from the declared length without reading the body', async () => {
      const started = Date.now();
      const res = await rawRequest(
        port,
        `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n`,
      );
      expect(res.status).toBe(413);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('answers 413 for a chunked body that grows over max_body', async () => {
      const big = Array.from({ length: 11 }, () => Buffer.alloc(1024 * 1024, 0x61));
      const res = await httpCall(port, { method: 'POST', path: '/upload', body: big }).catch((e: Error) => e);
      // Either the 413 arrives, or the connection is cut while we are still sending.
      if (!(res instanceof Error)) expect(res.status).toBe(413);
    });

    it('502 when the backend is down, 504 when it is too slow', async () => {
      const down = await httpCall(port, { path: '/dead/x' });
      expect(down.status).toBe(502);
      const started = Date.now();
      const slow = await httpCall(port, { path: '/slow?s=4' });
      expect(slow.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(3500);
      await gateway.waitForOutput(/upstream http:\/\/127\.0\.0\.1:\d+: .*\[SG_ERR_UPSTREAM_TIMEOUT\]/);
    });

    it('survives a client that disconnects mid-upload', async () => {
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n`);
          socket.write(Buffer.alloc(1_000_000));
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 100);
        });
      });
      const after = await httpCall(port, { path: '/after' });
      expect(after.status).toBe(200);
    });

    it('tunnels an Upgrade to the backend and echoes bytes both ways', async () => {
      const socket = connect(port, '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (c: Buffer) => received.push(c));
      socket.write(
        'GET /ws/chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n',
      );
      await new Promise((r) => setTimeout(r, 300));
      socket.write('ping-1');
      await new Promise((r) => setTimeout(r, 300));
      socket.destroy();
      const text = Buffer.concat(received).toString('latin1');
      expect(text).toMatch(/^HTTP\/1\.1 101 /);
      expect(text).toMatch(/X-Seen-XFF: 127\.0\.0\.1\r\n/);
      expect(text.endsWith('\r\n\r\nping-1')).toBe(true);
    });

    it('serves an Upgrade where websocket is not enabled as the plain request it also is (as nginx), then the next', async () => {
      const plain = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const res = await rawRequest(
        port,
        'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      );
      expect(res.status).not.toBe(101);
      expect(res.status).toBe(plain.status);
      expect([...res.raw.toString('latin1').matchAll(/HTTP\/1\.1 \d{3} /g)]).toHaveLength(2);
    });

    it('serves static files with ETag/304, Range/206/416, .gz siblings and Cache-Control', async () => {
      const full = await httpCall(port, { path: '/static/big.bin' });
      expect(full.status).toBe(200);
      expect(full.body.equals(bigStatic)).toBe(true);
      expect(full.headers['cache-control']).toBe('max-age=3600');
      const etag = full.headers.etag as string;
      const again = await httpCall(port, { path: '/static/big.bin', headers: ['If-None-Match', etag] });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      const lm = full.headers['last-modified'] as string;
      expect(
        (await httpCall(port, { path: '/static/big.bin', headers: ['If-Modified-Since', lm] })).status,
      ).toBe(304);
      const range = await httpCall(port, { path: '/static/big.bin', headers: ['Range', 'bytes=100-199'] });
      expect(range.status).toBe(206);
      expect(range.headers['content-range']).toBe(`bytes 100-199/${bigStatic.length}`);
      expect(range.body.equals(bigStatic.subarray(100, 200))).toBe(true);
      const tooFar = await httpCall(port, { path: '/static/big.bin', headers: ['Range', 'bytes=999999-'] });
      expect(tooFar.status).toBe(416);
      const head = await httpCall(port, { method: 'HEAD', path: '/static/big.bin' });
      expect(head.headers['content-length']).toBe(String(bigStatic.length));
      const gz = await httpCall(port, { path: '/static/app.js', headers: ['Accept-Encoding', 'gzip'] });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gz.headers.vary).toBe('Accept-Encoding');
      expect(gz.headers['content-type']).toBe('text/javascript; charset=utf-8');
      const plain = await httpCall(port, { path: '/static/app.js' });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.toString()).toBe('console.log("plain")\n');
    });

    it.each(['/static/../secret.txt', '/static/%2e%2e/secret.txt'])(
      '%s is normalised to /secret.txt before routing (nginx), so it never reaches the static root',
      async (path) => {
        const res = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        expect(res.status).toBe(200);
        // Answered by the app behind `/` (proxy_pass passes the raw target on, as nginx does).
        expect(JSON.parse(res.body.toString())).toHaveProperty('body_sha256');
      },
    );

    it.each([
      ['/static/../../secret.txt', 400],
      ['/static/%2e%2e/%2e%2e/secret.txt', 400],
      ['/static/..%2Fsecret.txt', 400],
      ['/static/leak.txt', 403],
      ['/static/nothere.txt', 404],
      ['/static/sub/', 403],
      ['/static/%00x', 400],
    ])('static traversal attempt %s → %i', async (path, status) => {
      const res = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(res.status).toBe(status);
      expect(res.body.toString()).not.toContain('secret');
    });
  },
);
