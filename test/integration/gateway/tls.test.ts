// The gateway terminating TLS itself, as the CLI runs it from a config file, in front of real
// uWSGI (uwsgi protocol) and a raw WebSocket-style echo backend, with a throwaway CA made by
// openssl: the clients trust that CA only. Handshake and Mozilla intermediate versions,
// ALPN h2 to the real backend, HTTP/1.1 over TLS, the app seeing https, the http → https
// redirect, HSTS on https only, wss, and a SIGHUP certificate swap that keeps open
// connections working while new ones get the new certificate.

import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningGateway, rawRequest, startGateway } from '../../helpers/gateway-process.js';
import { httpCall, json } from '../../helpers/http-client.js';
import { freePort, waitUntilConnectable } from '../../helpers/ports.js';
import { type StartedProcess, startProcess } from '../../helpers/processes.js';
import { h2Open, h2Request, makeTestCa, requestOn, type TestCa, tlsOpen } from '../../helpers/tls-ca.js';
import { describeWith } from '../../helpers/tools.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'gateway');
const NAME = 'app.test';

interface Echo {
  environ: Record<string, string>;
  body_sha256: string;
  body_length: number;
}

describeWith({ tools: ['/usr/bin/uwsgi', '/usr/bin/openssl'] })('gateway TLS (node:tls, h2 by ALPN)', () => {
  let dir: string;
  let ca: TestCa;
  let first: ReturnType<TestCa['issue']>;
  let uwsgi: StartedProcess;
  let wsBackend: Server;
  let gateway: RunningGateway;
  let plainPort: number;
  let tlsPort: number;
  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: ${NAME}\r\n\r\n`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-gw-tls-'));
    ca = makeTestCa(dir);
    first = ca.issue('first', [NAME, '127.0.0.1']);
    copyFileSync(first.cert, join(dir, 'live.pem'));
    copyFileSync(first.key, join(dir, 'live.key'));
    const sock = join(dir, 'app.sock');
    uwsgi = startProcess('/usr/bin/uwsgi', [
      '--plugin',
      'python3',
      '--socket',
      sock,
      '--processes',
      '2',
      '--master',
      '--die-on-term',
      '--wsgi-file',
      join(FIXTURES, 'echo_app.py'),
      '--disable-logging',
    ]);
    wsBackend = createServer((_req, res) => res.end('not an upgrade'));
    wsBackend.on('upgrade', (req, socket, head) => {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\nX-Seen-Proto: ${req.headers['x-forwarded-proto']}\r\n\r\n`,
      );
      if (head.length > 0) socket.write(head);
      socket.pipe(socket);
    });
    await new Promise<void>((r) => wsBackend.listen(0, '127.0.0.1', r));
    const wsPort = (wsBackend.address() as { port: number }).port;
    plainPort = await freePort();
    tlsPort = await freePort();
    mkdirSync(join(dir, 'acme'));
    writeFileSync(join(dir, 'acme', 'token123'), 'key-authorization');
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `listen: ["127.0.0.1:${plainPort}"]
server_name: ${NAME}
hosts: [${NAME}]
access_log: "off"
max_body: 1m
locations:
  - path: /.well-known/acme-challenge/
    static: {root: ${join(dir, 'acme')}}
  - path: /ws/
    upstream: ["http://127.0.0.1:${wsPort}"]
    websocket: true
  - path: /
    upstream: ["uwsgi://unix:${sock}"]
tls:
  cert: live.pem
  key: live.key
  listen: ["127.0.0.1:${tlsPort}"]
`,
    );
    await waitUntilConnectable({ path: sock });
    gateway = await startGateway(['--config', join(dir, 'gateway.yaml')]);
  });

  afterAll(async () => {
    await gateway?.proc.stop();
    await uwsgi?.stop();
    await new Promise<void>((r) => (wsBackend ? wsBackend.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('handshakes with the certificate for the server name, TLS 1.3 by default', async () => {
    const socket = await tlsOpen(tlsPort, ca.caPem, NAME);
    expect(socket.authorized).toBe(true);
    expect(socket.getProtocol()).toBe('TLSv1.3');
    expect(socket.getPeerX509Certificate()?.fingerprint256).toBe(first.fingerprint);
    socket.destroy();
  });

  it('refuses TLS 1.0 and 1.1 (Mozilla intermediate: 1.2 and 1.3 only)', async () => {
    for (const version of ['TLSv1', 'TLSv1.1'] as const)
      await expect(
        tlsOpen(tlsPort, ca.caPem, NAME, {
          minVersion: version,
          maxVersion: version,
          // The client must really offer the old version: OpenSSL 3's default level 1 would not.
          ciphers: 'DEFAULT@SECLEVEL=0',
        }),
      ).rejects.toThrow(/protocol version|unsupported protocol|wrong version/i);
  });

  it('TLS 1.2 takes an intermediate suite and refuses a CBC/SHA-1 one', async () => {
    const ok = await tlsOpen(tlsPort, ca.caPem, NAME, { maxVersion: 'TLSv1.2' });
    expect(ok.getProtocol()).toBe('TLSv1.2');
    expect(ok.getCipher().name).toMatch(/^ECDHE-ECDSA-(AES\d+-GCM|CHACHA20-POLY1305)/);
    ok.destroy();
    await expect(
      tlsOpen(tlsPort, ca.caPem, NAME, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' }),
    ).rejects.toThrow(/handshake failure|no shared cipher/i);
  });

  it('ALPN chooses h2; a request through h2 reaches uWSGI, which sees https', async () => {
    const session = await h2Open(tlsPort, ca.caPem, NAME);
    try {
      expect(session.alpnProtocol).toBe('h2');
      const res = await h2Request(session, { ':path': '/env?x=1', 'x-forwarded-proto': 'http' });
      expect(res.status).toBe(200);
      expect(res.headers['strict-transport-security']).toBe('max-age=63072000');
      // As nginx's http2_max_concurrent_streams (the server's SETTINGS came before the answer).
      expect(session.remoteSettings.maxConcurrentStreams).toBe(128);
      const env = json<Echo>({ status: 200, rawHeaders: [], headers: {}, body: res.body }).environ;
      expect(env['HTTPS']).toBe('on');
      expect(env['wsgi.url_scheme']).toBe('https');
      expect(env['REQUEST_SCHEME']).toBe('https');
      // A client's own X-Forwarded-Proto is replaced by the connection's scheme.
      expect(env['HTTP_X_FORWARDED_PROTO']).toBe('https');
      expect(env['HTTP_HOST']).toBe(`${NAME}:${tlsPort}`);
      expect(env['QUERY_STRING']).toBe('x=1');
    } finally {
      session.close();
    }
  });

  it('an h2 upload without content-length arrives whole, with CONTENT_LENGTH', async () => {
    const session = await h2Open(tlsPort, ca.caPem, NAME);
    try {
      const body = randomBytes(200_000);
      const res = await h2Request(session, { ':method': 'POST', ':path': '/up' }, body);
      const echo = json<Echo>({ status: 200, rawHeaders: [], headers: {}, body: res.body });
      expect(echo.environ['CONTENT_LENGTH']).toBe(String(body.length));
      expect(echo.body_sha256).toBe(createHash('sha256').update(body).digest('hex'));
      const big = await h2Request(
        session,
        { ':method': 'POST', ':path': '/up' },
        randomBytes(2 * 1024 * 1024),
      );
      expect(big.status).toBe(413);
    } finally {
      session.close();
    }
  });

  it('HTTP/1.1 over TLS (no ALPN) is served, and the app sees https', async () => {
    const socket = await tlsOpen(tlsPort, ca.caPem, NAME);
    try {
      expect(socket.alpnProtocol).toBe(false);
      const res = await requestOn(socket, get('/env'));
      expect(res.status).toBe(200);
      expect(res.head).toMatch(/\r\nStrict-Transport-Security: max-age=63072000\r\n/i);
      expect(JSON.parse(res.body).environ['HTTPS']).toBe('on');
    } finally {
      socket.destroy();
    }
  });

  it('plain http answers 301 to https keeping path and query, without HSTS; the ACME path is served', async () => {
    const res = await httpCall(plainPort, { path: '/a/b%20c?x=1&y=%2F', headers: ['Host', `${NAME}:8080`] });
    expect(res.status).toBe(301);
    expect(res.headers['location']).toBe(`https://${NAME}:${tlsPort}/a/b%20c?x=1&y=%2F`);
    expect(res.headers['strict-transport-security']).toBeUndefined();
    const acme = await httpCall(plainPort, {
      path: '/.well-known/acme-challenge/token123',
      headers: ['Host', NAME],
    });
    expect(acme.status).toBe(200);
    expect(acme.body.toString()).toBe('key-authorization');
    expect(acme.headers['strict-transport-security']).toBeUndefined();
    // Another Host is refused before any redirect (no open redirect to a name we do not serve).
    expect((await httpCall(plainPort, { path: '/', headers: ['Host', 'evil.test'] })).status).toBe(421);
    // A ws:// Upgrade on the plain listener is redirected too, with its Location.
    const ws = await rawRequest(
      plainPort,
      `GET /ws/chat?room=1 HTTP/1.1\r\nHost: ${NAME}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
    );
    expect(ws.status).toBe(301);
    expect(ws.head).toContain(`\r\nLocation: https://${NAME}:${tlsPort}/ws/chat?room=1\r\n`);
  });

  it('WebSocket over wss: the Upgrade is tunnelled and the backend sees https', async () => {
    const socket = await tlsOpen(tlsPort, ca.caPem, NAME, { ALPNProtocols: ['http/1.1'] });
    try {
      const answer = await new Promise<string>((resolve) => {
        let buf = '';
        socket.on('data', (c: Buffer) => {
          buf += c.toString('latin1');
          if (buf.includes('\r\n\r\nping')) resolve(buf);
        });
        socket.write(
          `GET /ws/chat HTTP/1.1\r\nHost: ${NAME}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nping`,
        );
      });
      expect(answer).toMatch(/^HTTP\/1\.1 101 /);
      expect(answer).toMatch(/\r\nX-Seen-Proto: https\r\n/);
    } finally {
      socket.destroy();
    }
  });

  it('SIGHUP with a renewed certificate: open connections keep working, new ones get the new certificate', async () => {
    const keptH1 = await tlsOpen(tlsPort, ca.caPem, NAME);
    expect((await requestOn(keptH1, get('/env'))).status).toBe(200);
    const keptH2: ClientHttp2Session = await h2Open(tlsPort, ca.caPem, NAME);
    expect((await h2Request(keptH2, { ':path': '/env' })).status).toBe(200);

    const renewed = ca.issue('renewed', [NAME, '127.0.0.1']);
    copyFileSync(renewed.cert, join(dir, 'live.pem'));
    copyFileSync(renewed.key, join(dir, 'live.key'));
    gateway.proc.child.kill('SIGHUP');
    await gateway.waitForOutput(/reloaded /, 10_000);

    const fresh = await tlsOpen(tlsPort, ca.caPem, NAME);
    expect(fresh.getPeerX509Certificate()?.fingerprint256).toBe(renewed.fingerprint);
    expect((await requestOn(fresh, get('/env'))).status).toBe(200);
    fresh.destroy();

    expect(keptH1.getPeerX509Certificate()?.fingerprint256).toBe(first.fingerprint);
    const again = await requestOn(keptH1, get('/env?after=reload'));
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body).environ['QUERY_STRING']).toBe('after=reload');
    keptH1.destroy();
    expect((await h2Request(keptH2, { ':path': '/env?after=reload' })).status).toBe(200);
    keptH2.close();
  });

  it('SIGHUP with a key that does not match: the running certificate stays, with the reason logged', async () => {
    const other = ca.issue('other', [NAME]);
    const probe = await tlsOpen(tlsPort, ca.caPem, NAME);
    const before = probe.getPeerX509Certificate()?.fingerprint256;
    probe.destroy();
    copyFileSync(other.key, join(dir, 'live.key'));
    gateway.proc.child.kill('SIGHUP');
    await gateway.waitForOutput(
      /keeping the running config: .*is not the private key of the certificate/,
      10_000,
    );
    const after = await tlsOpen(tlsPort, ca.caPem, NAME);
    expect(after.getPeerX509Certificate()?.fingerprint256).toBe(before);
    after.destroy();
  });
});
