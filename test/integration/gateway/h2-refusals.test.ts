// HTTP/2 enters the same guard → route pipeline as HTTP/1.1 (h2-lane.ts → dispatch.ts): the
// gateway in-process with a TLS listener and a scripted backend, and the same refusals asked
// over HTTP/1.1-over-TLS and over h2 must get the same status, with the backend never asked.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, type Harness, scriptedLocation, startHarness } from '../../helpers/gateway-harness.js';
import { httpCall } from '../../helpers/http-client.js';
import { freePort } from '../../helpers/ports.js';
import { h2Open, h2Request, makeTestCa, requestOn, type TestCa, tlsOpen } from '../../helpers/tls-ca.js';
import { describeWith } from '../../helpers/tools.js';

const NAME = 'app.test';

/** Requests both lanes must refuse alike: [what, path, extra headers, expected status]. */
const REFUSALS: Array<[string, string, Array<[string, string]>, number]> = [
  ['a path above the root', '/app/../../etc/passwd', [], 400],
  ['malformed percent-encoding', '/app/%zz', [], 400],
  ['NUL in the path', '/app/a%00b', [], 400],
  ['a path that is not UTF-8', '/app/%ff', [], 400],
  ['a Host this gateway does not serve', '/app/x', [['host', 'evil.test']], 421],
  ['no location', '/elsewhere', [], 404],
  ['the mount point without its slash', '/app', [], 301],
  ['a declared body over max_body', '/app/up', [['content-length', '5000']], 413],
  ['a head over max_header_size', '/app/x', [['x-big', 'a'.repeat(20_000)]], 431],
];

describeWith({ tools: ['/usr/bin/openssl'] })('h2 and HTTP/1.1 over TLS refuse alike', () => {
  let dir: string;
  let ca: TestCa;
  let h: Harness;
  let tlsPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-h2-refusals-'));
    ca = makeTestCa(dir);
    const leaf = ca.issue('leaf', [NAME]);
    tlsPort = await freePort();
    h = await startHarness({
      locations: [scriptedLocation('/app/', 'app', { scriptName: '/app' })],
      scripts: { app: () => answer(200, 'reached the app') },
      config: {
        serverName: NAME,
        hosts: [NAME],
        maxBodyBytes: 1000,
        tls: {
          certFile: leaf.cert,
          keyFile: leaf.key,
          listen: [{ kind: 'tcp', host: '127.0.0.1', port: tlsPort }],
          redirectHttp: false,
          hsts: { maxAgeSeconds: 600, includeSubdomains: true, preload: false },
          http2: true,
        },
      },
    });
  });

  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each(REFUSALS)('%s', (_what, path, headers, status) => {
    it(`HTTP/1.1 over TLS: ${status}`, async () => {
      const socket = await tlsOpen(tlsPort, ca.caPem, NAME);
      try {
        const host = headers.find(([n]) => n === 'host')?.[1] ?? NAME;
        const more = headers.filter(([n]) => n !== 'host').map(([n, v]) => `${n}: ${v}\r\n`);
        const res = await requestOn(socket, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${more.join('')}\r\n`);
        expect(res.status).toBe(status);
      } finally {
        socket.destroy();
      }
    });

    it(`h2: ${status}`, async () => {
      const session = await h2Open(tlsPort, ca.caPem, NAME);
      try {
        // h2 checks a declared content-length against the DATA sent (RFC 9113 §8.1.1): send it.
        const length = headers.find(([n]) => n === 'content-length')?.[1];
        const res = await h2Request(
          session,
          {
            ':path': path,
            ...(length === undefined ? {} : { ':method': 'POST' }),
            ...Object.fromEntries(headers),
          },
          length === undefined ? undefined : Buffer.alloc(Number(length)),
        );
        expect(res.status).toBe(status);
      } finally {
        session.close();
      }
    });
  });

  it('the refused requests never reached the backend; a good one does, on either lane', async () => {
    expect(h.transports.get('app')?.[0]?.requests ?? []).toHaveLength(0);
    const session = await h2Open(tlsPort, ca.caPem, NAME);
    try {
      const res = await h2Request(session, { ':path': '/app/ok?q=1' });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('reached the app');
      expect(res.headers['strict-transport-security']).toBe('max-age=600; includeSubDomains');
      const seen = h.transports.get('app')?.[0]?.requests[0];
      expect(seen).toMatchObject({ scheme: 'https', scriptName: '/app', pathInfo: '/ok', query: 'q=1' });
    } finally {
      session.close();
    }
  });

  it('HEAD over h2 answers the head without DATA', async () => {
    const session = await h2Open(tlsPort, ca.caPem, NAME);
    try {
      const res = await h2Request(session, { ':method': 'HEAD', ':path': '/app/ok' });
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(0);
    } finally {
      session.close();
    }
  });

  it('the plain listener (redirect_http off) serves, without HSTS', async () => {
    const res = await httpCall(h.port, { path: '/app/ok', headers: ['Host', NAME] });
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});
