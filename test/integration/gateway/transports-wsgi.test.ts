// The uwsgi, SCGI and FastCGI transports against a real uWSGI (Debian package, python3 plugin)
// serving test/fixtures/gateway/echo_app.py on one socket per protocol. The app echoes its
// environ as JSON and hashes the body it read, so each test sees exactly what the app saw.

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GatewayRequest, Transport, UpstreamTarget } from '../../../src/gateway/transport.js';
import { createFastcgiTransport } from '../../../src/gateway/transports/fastcgi.js';
import { createScgiTransport } from '../../../src/gateway/transports/scgi.js';
import { createUwsgiTransport } from '../../../src/gateway/transports/uwsgi.js';
import {
  gatewayRequest,
  memoryBody,
  patternBytes,
  readBody,
  rejection,
  streamed,
} from '../../helpers/gateway-request.js';
import { freePort, waitUntilConnectable } from '../../helpers/ports.js';
import { type StartedProcess, startProcess } from '../../helpers/processes.js';
import { describeWith } from '../../helpers/tools.js';

const APP = join(import.meta.dirname, '../../fixtures/gateway/echo_app.py');
const TIMEOUTS = { connectMs: 2000, readMs: 10_000, sendMs: 10_000 };
const FIVE_MB = 5 * 1024 * 1024;

interface Echo {
  environ: Record<string, string>;
  path_info_utf8: string;
  body_sha256: string;
  body_length: number;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describeWith({ tools: ['uwsgi'] })('transports against uWSGI (uwsgi, scgi, fastcgi sockets)', () => {
  let uwsgi: StartedProcess;
  let dir: string;
  const ports = { uwsgi: 0, scgi: 0, fastcgi: 0, closed: 0 };
  let unixSocket: string;
  const transports: Transport[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-wsgi-'));
    unixSocket = join(dir, 'uwsgi.sock');
    ports.uwsgi = await freePort();
    ports.scgi = await freePort();
    ports.fastcgi = await freePort();
    ports.closed = await freePort();
    uwsgi = startProcess(
      '/usr/bin/uwsgi',
      [
        '--plugin',
        'python3',
        '--socket',
        `127.0.0.1:${ports.uwsgi}`,
        '--socket',
        unixSocket,
        '--scgi-socket',
        `127.0.0.1:${ports.scgi}`,
        '--fastcgi-socket',
        `127.0.0.1:${ports.fastcgi}`,
        '--wsgi-file',
        APP,
        '--master',
        '--processes',
        '4',
        '--die-on-term',
        '--need-app',
        '--disable-logging',
      ],
      // Debian's uWSGI embeds Debian's python: keep pyenv's variables away from it.
      { env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } },
    );
    try {
      for (const port of [ports.uwsgi, ports.scgi, ports.fastcgi]) {
        await waitUntilConnectable({ host: '127.0.0.1', port });
      }
      await waitUntilConnectable({ path: unixSocket });
    } catch (error) {
      throw new Error(`uWSGI did not start: ${String(error)}\n${uwsgi.output()}`);
    }
  });

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await uwsgi?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const tcp = (scheme: UpstreamTarget['scheme'], port: number): UpstreamTarget => ({
    scheme,
    address: { kind: 'tcp', host: '127.0.0.1', port },
  });
  const factories = {
    uwsgi: (target: UpstreamTarget) => createUwsgiTransport(target),
    scgi: (target: UpstreamTarget) => createScgiTransport(target),
    fastcgi: (target: UpstreamTarget) => createFastcgiTransport(target),
  };
  function transport(scheme: keyof typeof factories, port = ports[scheme]): Transport {
    const t = factories[scheme](tcp(scheme, port));
    transports.push(t);
    return t;
  }

  async function echo(t: Transport, overrides: Partial<GatewayRequest>): Promise<Echo> {
    const response = await t.request(gatewayRequest(overrides), TIMEOUTS);
    expect(response.status).toBe(200);
    return JSON.parse((await readBody(response.body)).toString('utf8')) as Echo;
  }

  for (const scheme of ['uwsgi', 'scgi', 'fastcgi'] as const) {
    it(`${scheme}: GET with a query reaches the app with the CGI variables`, async () => {
      const seen = await echo(transport(scheme), {
        rawTarget: '/echo/x?a=1&b=%20',
        rawHeaders: ['Host', 'site.test:8080', 'Accept', 'text/html'],
      });
      expect(seen.environ).toMatchObject({
        REQUEST_METHOD: 'GET',
        REQUEST_URI: '/echo/x?a=1&b=%20',
        PATH_INFO: '/echo/x',
        QUERY_STRING: 'a=1&b=%20',
        SERVER_PROTOCOL: 'HTTP/1.1',
        SERVER_NAME: 'example.test',
        REMOTE_ADDR: '127.0.0.1',
        HTTP_HOST: 'site.test:8080',
        HTTP_ACCEPT: 'text/html',
      });
      expect(seen.body_length).toBe(0);
    });

    it(`${scheme}: POST of 5 MB from memory arrives intact (sha256 computed by the app)`, async () => {
      const body = Buffer.alloc(FIVE_MB);
      for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
      const chunks = [];
      for (let at = 0; at < body.length; at += 65536) chunks.push(body.subarray(at, at + 65536));
      const seen = await echo(transport(scheme), {
        method: 'POST',
        rawHeaders: ['Host', 'x', 'Content-Type', 'application/octet-stream'],
        body: memoryBody(...chunks),
      });
      expect([seen.body_length, seen.body_sha256]).toEqual([FIVE_MB, sha256(body)]);
      expect(seen.environ['CONTENT_LENGTH']).toBe(String(FIVE_MB));
      expect(seen.environ['CONTENT_TYPE']).toBe('application/octet-stream');
    });

    it(`${scheme}: POST of 5 MB from a spooled file arrives intact`, async () => {
      const body = patternBytes(FIVE_MB + 7);
      const path = join(dir, `${scheme}-body.bin`);
      writeFileSync(path, body);
      const seen = await echo(transport(scheme), {
        method: 'POST',
        body: { kind: 'file', length: body.length, path },
      });
      expect([seen.body_length, seen.body_sha256]).toEqual([body.length, sha256(body)]);
    });

    it(`${scheme}: a 20 MB response is streamed (many chunks, exact bytes)`, async () => {
      const n = 20 * 1024 * 1024;
      const response = await transport(scheme).request(
        gatewayRequest({ rawTarget: `/big?n=${n}` }),
        TIMEOUTS,
      );
      let chunks = 0;
      const hash = createHash('sha256');
      let length = 0;
      for await (const chunk of streamed(response.body)) {
        chunks++;
        length += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
      }
      expect(length).toBe(n);
      expect(hash.digest('hex')).toBe(sha256(patternBytes(n)));
      expect(chunks).toBeGreaterThan(10);
    });

    it(`${scheme}: a non-ASCII path reaches the app as PEP 3333 latin-1 octets of its UTF-8`, async () => {
      const seen = await echo(transport(scheme), {
        rawTarget: '/caf%C3%A9/%E6%97%A5',
        pathInfo: '/caf\u00e9/\u65e5',
      });
      expect(seen.path_info_utf8).toBe('/caf\u00e9/\u65e5');
      expect(seen.environ['PATH_INFO']).toBe('/caf\u00c3\u00a9/\u00e6\u0097\u00a5');
    });

    it(`${scheme}: duplicate headers merged, underscore and Proxy headers dropped`, async () => {
      const seen = await echo(transport(scheme), {
        rawHeaders: [
          'X-Dup',
          'one',
          'Cookie',
          'a=1',
          'X-Dup',
          'two',
          'Cookie',
          'b=2',
          'X-Auth-User',
          'alice',
          'X_Auth_User',
          'admin',
          'Proxy',
          'http://attacker.example:3128',
        ],
      });
      expect(seen.environ['HTTP_X_DUP']).toBe('one, two');
      expect(seen.environ['HTTP_COOKIE']).toBe('a=1; b=2');
      expect(seen.environ['HTTP_X_AUTH_USER']).toBe('alice');
      expect(seen.environ).not.toHaveProperty('HTTP_PROXY');
    });

    it(`${scheme}: status, reason phrase and repeated response headers come back in order`, async () => {
      const response = await transport(scheme).request(
        gatewayRequest({ rawTarget: '/status/404' }),
        TIMEOUTS,
      );
      expect([response.status, response.statusText]).toEqual([404, 'Custom Reason']);
      expect(response.headers.filter(([name]) => name === 'X-Multi')).toEqual([
        ['X-Multi', 'a'],
        ['X-Multi', 'b'],
      ]);
      expect((await readBody(response.body)).toString()).toBe('status 404');
    });

    it(`${scheme}: HEAD gets the head and an empty body`, async () => {
      const response = await transport(scheme).request(
        gatewayRequest({ method: 'HEAD', rawTarget: '/status/200' }),
        TIMEOUTS,
      );
      expect(response.status).toBe(200);
      expect((await readBody(response.body)).length).toBe(0);
    });

    it(`${scheme}: a backend that is down is SG_ERR_UPSTREAM_CONNECT, nothing sent`, async () => {
      const err = await rejection(transport(scheme, ports.closed).request(gatewayRequest(), TIMEOUTS));
      expect(err.code).toBe('SG_ERR_UPSTREAM_CONNECT');
      expect(err.message).toContain('ECONNREFUSED');
      expect(err).toMatchObject({ sentAnything: false });
    });

    it(`${scheme}: a backend too slow to answer is SG_ERR_UPSTREAM_TIMEOUT`, async () => {
      const started = Date.now();
      const err = await rejection(
        transport(scheme).request(gatewayRequest({ rawTarget: '/slow?s=3' }), { ...TIMEOUTS, readMs: 300 }),
      );
      expect(err.code).toBe('SG_ERR_UPSTREAM_TIMEOUT');
      expect(err).toMatchObject({ sentAnything: true, details: { phase: 'read' } });
      expect(Date.now() - started).toBeLessThan(2500);
    });

    it(`${scheme}: aborting mid-request destroys the connection at once`, async () => {
      const t = transport(scheme);
      const controller = new AbortController();
      const pending = t.request(
        gatewayRequest({ rawTarget: '/slow?s=3', signal: controller.signal }),
        TIMEOUTS,
      );
      setTimeout(() => controller.abort(), 200);
      const started = Date.now();
      const err = await rejection(pending);
      expect(err.code).toBe('SG_ERR_CLIENT_ABORTED');
      expect(Date.now() - started).toBeLessThan(1500);
      // The transport holds nothing any more, and the backend still serves.
      await t.close();
      const seen = await echo(transport(scheme), {});
      expect(seen.environ['REQUEST_METHOD']).toBe('GET');
    });

    it(`${scheme}: a consumer that stops reading a big body releases the connection`, async () => {
      const t = transport(scheme);
      const response = await t.request(gatewayRequest({ rawTarget: `/big?n=${50 * 1024 * 1024}` }), TIMEOUTS);
      const body = streamed(response.body);
      for await (const _chunk of body) break; // destroys the body after one chunk
      expect(body.destroyed).toBe(true);
      await t.close();
    });
  }

  for (const scheme of ['uwsgi', 'scgi'] as const) {
    it(`${scheme}: a small answer comes back complete, and one socket object serves request after request`, async () => {
      const t = transport(scheme);
      for (let i = 0; i < 5; i++) {
        // The echo app sets Content-Length, so the whole answer is in hand with the head.
        const response = await t.request(gatewayRequest({ rawTarget: `/echo?i=${i}` }), TIMEOUTS);
        expect(Buffer.isBuffer(response.body)).toBe(true);
        const seen = JSON.parse((await readBody(response.body)).toString()) as Echo;
        expect(seen.environ['QUERY_STRING']).toBe(`i=${i}`);
        // The socket closes right after a complete answer; let 'close' return it to the list.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const seen = await echo(t, { rawTarget: '/after-reuse' });
      expect(seen.environ['PATH_INFO']).toBe('/after-reuse');
    });

    it(`${scheme}: a body destroyed after its socket moved on cannot touch the next exchange`, async () => {
      const t = transport(scheme);
      // A small answer without Content-Length ends at EOF: a stream that is complete but not
      // yet read (so not destroyed) when its socket closes and goes back for reuse.
      const small = await t.request(gatewayRequest({ rawTarget: '/big?n=100' }), TIMEOUTS);
      const stale = streamed(small.body);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stale.destroyed).toBe(false);
      const slow = t.request(gatewayRequest({ rawTarget: '/slow?s=0.5' }), TIMEOUTS);
      // Destroying the stale body must not cut the slow request now on the same socket.
      stale.destroy();
      const response = await slow;
      expect(response.status).toBe(200);
      expect((await readBody(response.body)).length).toBeGreaterThan(0);
    });
  }

  it('uwsgi: works over a unix socket too', async () => {
    const t = createUwsgiTransport({ scheme: 'uwsgi', address: { kind: 'unix', path: unixSocket } });
    transports.push(t);
    const seen = await echo(t, { rawTarget: '/unix' });
    expect(seen.environ['PATH_INFO']).toBe('/unix');
  });

  it('uwsgi: a missing unix socket file is SG_ERR_UPSTREAM_CONNECT (ENOENT)', async () => {
    const t = createUwsgiTransport({
      scheme: 'uwsgi',
      address: { kind: 'unix', path: join(dir, 'nope.sock') },
    });
    transports.push(t);
    const err = await rejection(t.request(gatewayRequest(), TIMEOUTS));
    expect(err.code).toBe('SG_ERR_UPSTREAM_CONNECT');
    expect(err.hint).toContain('does not exist');
  });

  it('uwsgi: headers over uWSGI’s default 4096-byte buffer-size make it reset: the error says so', async () => {
    const err = await rejection(
      transport('uwsgi').request(
        gatewayRequest({ rawHeaders: ['Cookie', `big=${'c'.repeat(6000)}`] }),
        TIMEOUTS,
      ),
    );
    expect(err.code).toBe('SG_ERR_UPSTREAM_RESET');
    expect(err.message).toContain('buffer-size');
    expect(err.message).toContain('4096');
    expect(err).toMatchObject({ sentAnything: true });
  });

  it('uwsgi: vars over 64 KiB are refused before connecting (never a wrapped u16)', async () => {
    const err = await rejection(
      transport('uwsgi').request(gatewayRequest({ rawHeaders: ['Cookie', 'c'.repeat(70_000)] }), TIMEOUTS),
    );
    expect(err.code).toBe('SG_ERR_UPSTREAM_REQUEST_TOO_LARGE');
    expect(err).toMatchObject({ sentAnything: false });
  });

  it('fastcgi: uWSGI closes its fastcgi-socket after each response; 30 sequential requests all succeed', async () => {
    // Observed with uWSGI 2.0.21: it ignores FCGI_KEEP_CONN and closes after END_REQUEST, so a
    // connection released to the pool is either dropped when the close arrives or, when a request
    // wins the race, found stale and the request replayed on a fresh connection.
    const t = createFastcgiTransport(tcp('fastcgi', ports.fastcgi));
    transports.push(t);
    for (let i = 0; i < 30; i++) {
      const seen = await echo(t, { rawTarget: `/seq/${i}` });
      expect(seen.environ['PATH_INFO']).toBe(`/seq/${i}`);
    }
    expect(t.stats().created).toBeGreaterThanOrEqual(30);
  });
});
