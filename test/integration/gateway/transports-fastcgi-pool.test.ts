// The FastCGI transport's connection pool against fcgiwrap (Debian package), running the CGI
// fixture test/fixtures/gateway/echo.cgi. Observed with fcgiwrap 1.1.0: it honours
// FCGI_KEEP_CONN (the connection stays open after END_REQUEST and serves the next request), and
// with -f it forwards the script's stderr as FCGI_STDERR records. uWSGI's fastcgi-socket does
// not keep connections (see transports-wsgi.test.ts), so the pool is proven here.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { UpstreamTarget } from '../../../src/gateway/transport.js';
import { type FastcgiTransport, createFastcgiTransport } from '../../../src/gateway/transports/fastcgi.js';
import type { FastcgiTransportOptions } from '../../../src/gateway/transports/fastcgi.js';
import { gatewayRequest, memoryBody, readBody, rejection } from '../../helpers/gateway-request.js';
import { freePort, waitUntilConnectable } from '../../helpers/ports.js';
import { type StartedProcess, startProcess } from '../../helpers/processes.js';
import { describeWith } from '../../helpers/tools.js';

const SCRIPT = join(import.meta.dirname, '../../fixtures/gateway/echo.cgi');
const TIMEOUTS = { connectMs: 2000, readMs: 10_000, sendMs: 10_000 };

describeWith({ tools: ['fcgiwrap'] })('fastcgi transport pool against fcgiwrap', () => {
  let fcgiwrap: StartedProcess;
  let target: UpstreamTarget;
  const transports: FastcgiTransport[] = [];

  beforeAll(async () => {
    const port = await freePort();
    target = { scheme: 'fastcgi', address: { kind: 'tcp', host: '127.0.0.1', port } };
    // -c 4: four preforked children, so concurrent requests really run concurrently.
    // -f: forward the script's stderr over FastCGI (FCGI_STDERR) instead of fcgiwrap's stderr.
    fcgiwrap = startProcess('/usr/sbin/fcgiwrap', ['-c', '4', '-f', '-s', `tcp:127.0.0.1:${port}`], {
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
    });
    await waitUntilConnectable({ host: '127.0.0.1', port });
  });

  // Each kept-open connection holds one of fcgiwrap's preforked children for as long as it
  // stays open: pools left over from an earlier test would starve the next one.
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
  });

  afterAll(async () => {
    await fcgiwrap?.stop();
  });

  function transport(options: FastcgiTransportOptions = {}): FastcgiTransport {
    const t = createFastcgiTransport(target, { params: [['SCRIPT_FILENAME', SCRIPT]], ...options });
    transports.push(t);
    return t;
  }

  it('reuses one kept-open connection for sequential requests (FCGI_KEEP_CONN honoured)', async () => {
    const t = transport();
    for (let i = 0; i < 5; i++) {
      const response = await t.request(
        gatewayRequest({
          method: 'POST',
          rawTarget: `/x?i=${i}`,
          body: memoryBody(Buffer.from(`body ${i}`)),
        }),
        TIMEOUTS,
      );
      expect(response.status).toBe(201);
      const seen = JSON.parse((await readBody(response.body)).toString()) as {
        environ: Record<string, string>;
      };
      expect(seen.environ['QUERY_STRING']).toBe(`i=${i}`);
      expect(seen.environ['FCGI_ROLE']).toBe('RESPONDER');
    }
    expect(t.stats()).toMatchObject({ created: 1, reused: 4, open: 1, idle: 1 });
  });

  it('opens a new connection per request when keepConn is off', async () => {
    const t = transport({ keepConn: false });
    for (let i = 0; i < 3; i++) await readBody((await t.request(gatewayRequest(), TIMEOUTS)).body);
    expect(t.stats()).toMatchObject({ created: 3, reused: 0 });
  });

  it('caps open connections at maxConnections and queues the rest (FIFO)', async () => {
    const t = transport({ maxConnections: 2 });
    const started = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        t.request(gatewayRequest({ rawTarget: `/q?mode=slow&s=0.3&i=${i}` }), TIMEOUTS).then(async (r) => {
          expect(r.status).toBe(200);
          return (await readBody(r.body)).toString();
        }),
      ),
    );
    expect(responses).toEqual(Array(6).fill('slow done'));
    const stats = t.stats();
    expect(stats.created).toBeLessThanOrEqual(2);
    expect(stats.queued).toBe(0);
    // 6 requests × 0.3 s over 2 connections: at least 3 rounds.
    expect(Date.now() - started).toBeGreaterThanOrEqual(850);
  });

  it('a request queued longer than the connect timeout is SG_ERR_UPSTREAM_TIMEOUT, nothing sent', async () => {
    const t = transport({ maxConnections: 1 });
    const first = t.request(gatewayRequest({ rawTarget: '/q?mode=slow&s=1' }), TIMEOUTS);
    const err = await rejection(t.request(gatewayRequest(), { ...TIMEOUTS, connectMs: 200 }));
    expect(err.code).toBe('SG_ERR_UPSTREAM_TIMEOUT');
    expect(err).toMatchObject({ sentAnything: false, details: { phase: 'connect', queued: true } });
    expect((await readBody((await first).body)).toString()).toBe('slow done');
    expect(t.stats().queued).toBe(0);
  });

  it('forwards FCGI_STDERR to the logger line by line', async () => {
    const lines: string[] = [];
    const t = transport({ logger: (line) => lines.push(line) });
    const response = await t.request(gatewayRequest({ rawTarget: '/x?mode=stderr&n=3' }), TIMEOUTS);
    expect((await readBody(response.body)).toString()).toBe('ok');
    expect(lines.map((l) => l.replace(/^\[[^\]]+\] /, ''))).toEqual([
      'warning line 0',
      'warning line 1',
      'warning line 2',
    ]);
  });

  it('caps the stderr logged per request', async () => {
    const lines: string[] = [];
    const t = transport({ logger: (line) => lines.push(line), stderrLimitBytes: 200 });
    const response = await t.request(gatewayRequest({ rawTarget: '/x?mode=stderr&n=1000' }), TIMEOUTS);
    expect((await readBody(response.body)).toString()).toBe('ok');
    const logged = lines.filter((l) => l.includes('warning line')).map((l) => l.replace(/^\[[^\]]+\] /, ''));
    // 200 bytes of "warning line N\n" lines: at most 200 bytes of text, cut at the limit.
    expect(logged.join('\n').length).toBeLessThanOrEqual(200);
    expect(logged.length).toBeGreaterThan(5);
    expect(lines.at(-1)).toContain('stderr truncated');
  });

  it('handles Status and a local redirect through the CGI response parser', async () => {
    const t = transport();
    const teapot = await t.request(gatewayRequest({ rawTarget: '/x?mode=status' }), TIMEOUTS);
    expect([teapot.status, teapot.statusText]).toEqual([418, "I'm a teapot"]);
    expect((await readBody(teapot.body)).toString()).toBe('teapot');
    const redirect = await t.request(gatewayRequest({ rawTarget: '/x?mode=redirect-local' }), TIMEOUTS);
    expect(redirect.localRedirect).toBe('/elsewhere?x=1');
    await readBody(redirect.body);
    // Both ran on the same kept-open connection.
    expect(t.stats().created).toBe(1);
  });

  it('a connection the backend closed while idle is not reused (stale keep-alive)', async () => {
    // A unix socket: a TCP port would sit in TIME_WAIT after the restart and fcgiwrap cannot
    // bind it again (no SO_REUSEADDR).
    const dir = mkdtempSync(join(tmpdir(), 'sg-fcgi-'));
    const path = join(dir, 'fcgiwrap.sock');
    const start = (): StartedProcess =>
      startProcess('/usr/sbin/fcgiwrap', ['-c', '2', '-s', `unix:${path}`], {
        env: { PATH: '/usr/bin:/bin' },
      });
    let backend = start();
    try {
      await waitUntilConnectable({ path });
      const t = createFastcgiTransport(
        { scheme: 'fastcgi', address: { kind: 'unix', path } },
        { params: [['SCRIPT_FILENAME', SCRIPT]] },
      );
      transports.push(t);
      await readBody((await t.request(gatewayRequest(), TIMEOUTS)).body);
      expect(t.stats()).toMatchObject({ open: 1, idle: 1 });
      // Restart the backend: the idle connection dies under the pool.
      await backend.stop();
      rmSync(path, { force: true });
      backend = start();
      await waitUntilConnectable({ path });
      const response = await t.request(gatewayRequest({ rawTarget: '/x?after=restart' }), TIMEOUTS);
      expect(response.status).toBe(201);
      await readBody(response.body);
      expect(t.stats()).toMatchObject({ created: 2, open: 1 });
    } finally {
      await backend.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
