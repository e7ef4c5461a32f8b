// The front in-process with scripted backends: what only the front decides — which state a
// request runs on across a reload, what draining does to requests in flight, how a refused
// upload is closed, where a CGI local redirect goes, what node's parser errors become.

import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../../helpers/gateway-process.js';
import {
  answer,
  gate,
  type Harness,
  localRedirect,
  scriptedLocation,
  startHarness,
} from '../../helpers/gateway-harness.js';
import { httpCall } from '../../helpers/http-client.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

/** Resolve once `check` holds (polling), or throw after `ms`. */
async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition never held');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('reload', () => {
  it('new requests use the new state; one in flight finishes on the old one, which closes after it', async () => {
    const held = gate();
    h = await startHarness({
      locations: [scriptedLocation('/', 'old')],
      scripts: { old: () => held.promise.then(() => answer(200, 'old')) },
    });
    const harness = h;
    const inFlight = httpCall(harness.port, { path: '/slow', headers: ['Connection', 'close'] });
    await until(() => harness.transports.get('old')?.[0]?.requests.length === 1);

    harness.setScripts({ new: () => answer(200, 'new') });
    const reloading = harness.server.reload(harness.configFor({ locations: [scriptedLocation('/', 'new')] }));
    const fresh = await httpCall(harness.port, { path: '/', headers: ['Connection', 'close'] });
    expect(fresh.body.toString()).toBe('new');
    const old = harness.transports.get('old')?.[0];
    expect(old?.closed).toBe(false);

    held.open();
    expect((await inFlight).body.toString()).toBe('old');
    await reloading;
    expect(old?.closed).toBe(true);
    expect(harness.transports.get('new')?.[0]?.closed).toBe(false);
  });
});

describe('draining', () => {
  it('refuses new connections, lets the request in flight finish, then closes its backends', async () => {
    const held = gate();
    h = await startHarness({
      locations: [scriptedLocation('/', 'app')],
      scripts: { app: () => held.promise.then(() => answer(200, 'finished')) },
    });
    const harness = h;
    const inFlight = httpCall(harness.port, { path: '/' });
    await until(() => harness.transports.get('app')?.[0]?.requests.length === 1);
    const stopping = harness.server.shutdown(5_000);
    await expect(httpCall(harness.port, { path: '/' })).rejects.toThrow(/ECONNREFUSED/);
    expect(harness.transports.get('app')?.[0]?.closed).toBe(false);
    held.open();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('finished');
    await stopping;
    expect(harness.transports.get('app')?.[0]?.closed).toBe(true);
  });
});

describe('lingering close of a refused upload', () => {
  /** Send a head and part of a body, keep sending; collect the answer and how the socket ended. */
  function upload(port: number, head: string, sendMs: number): Promise<{ text: string; ended: boolean }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      let ended = false;
      const timer = setInterval(() => {
        if (!socket.destroyed && socket.writable) socket.write(Buffer.alloc(16 * 1024, 0x61));
      }, 20);
      setTimeout(() => clearInterval(timer), sendMs);
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => {
        ended = true;
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
      });
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ text: Buffer.concat(chunks).toString('latin1'), ended });
      });
      socket.write(head);
    });
  }

  it('413 for a declared length over max_body, readable by a client still sending; closed after', async () => {
    h = await startHarness({
      locations: [scriptedLocation('/', 'app')],
      scripts: { app: () => answer(200, 'never') },
      config: { maxBodyBytes: 1024 },
    });
    const head = `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`;
    const { text, ended } = await upload(h.port, head, 300);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/\r\nConnection: close\r\n/i);
    expect(ended).toBe(true);
    expect(h.transports.get('app')?.[0]?.requests ?? []).toHaveLength(0);
    expect(await h.accessLines()).toEqual([expect.stringMatching(/"POST \/upload" 413 /)]);
  });

  it('408 when the body stalls longer than client_body', async () => {
    h = await startHarness({
      locations: [scriptedLocation('/', 'app')],
      scripts: { app: () => answer(200, 'never') },
      config: { timeouts: { clientBodyMs: 150 } },
    });
    const res = await rawRequest(
      h.port,
      'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789',
    );
    expect(res.status).toBe(408);
    expect(res.head).toMatch(/\r\nConnection: close/i);
  });
});

describe('CGI local redirects (RFC 3875 §6.2.2)', () => {
  const scripts = {
    cgi: (req: { pathInfo: string }) => {
      if (req.pathInfo === '/first') return localRedirect('/second');
      if (req.pathInfo === '/second') return answer(200, 'second');
      if (req.pathInfo === '/loop') return localRedirect('/again');
      if (req.pathInfo === '/again') return localRedirect('/again');
      return answer(404, 'no');
    },
  };

  it('one redirect is served through the router as a GET without body', async () => {
    h = await startHarness({ locations: [scriptedLocation('/', 'cgi')], scripts });
    const res = await httpCall(h.port, { method: 'POST', path: '/first', body: Buffer.from('payload') });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('second');
    const [first, second] = h.transports.get('cgi')?.[0]?.requests ?? [];
    expect(first?.method).toBe('POST');
    expect(second).toMatchObject({ method: 'GET', rawTarget: '/second', body: null });
    expect(second?.rawHeaders.some((v, i) => i % 2 === 0 && /^content-length$/i.test(v))).toBe(false);
  });

  it('a second redirect is a cycle: 500, never the script’s 302 (nginx ends a cycle with 500)', async () => {
    h = await startHarness({ locations: [scriptedLocation('/', 'cgi')], scripts });
    const res = await httpCall(h.port, { path: '/loop' });
    expect(res.status).toBe(500);
    expect(res.headers['location']).toBeUndefined();
    expect(h.transports.get('cgi')?.[0]?.requests.map((r) => r.pathInfo)).toEqual(['/loop', '/again']);
    expect(h.logs.join('\n')).toMatch(/second CGI local redirect/);
  });

  it('a redirect to a path no location matches is that 404', async () => {
    h = await startHarness({
      locations: [scriptedLocation('/app', 'cgi', { scriptName: '/app' })],
      scripts: { cgi: () => localRedirect('/elsewhere') },
    });
    expect((await httpCall(h.port, { path: '/app/x' })).status).toBe(404);
  });
});

describe('client errors (node parser refusals) and CONNECT', () => {
  it.each([
    ['an oversized head', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    [
      'Content-Length with Transfer-Encoding',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
      400,
    ],
    ['an unknown HTTP version', 'GET / HTTP/3.0\r\nHost: x\r\n\r\n', 505],
    ['a garbled request line', 'NOT HTTP AT ALL\r\n\r\n', 400],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405],
  ])('%s → %i, and the backend never sees it', async (_what, bytes, status) => {
    h = await startHarness({
      locations: [scriptedLocation('/', 'app')],
      scripts: { app: () => answer(200, 'never') },
    });
    const res = await rawRequest(h.port, bytes);
    expect(res.status).toBe(status);
    expect(h.transports.get('app')?.[0]?.requests ?? []).toHaveLength(0);
  });

  it('a parser refusal gets an access-log line with its method and target', async () => {
    h = await startHarness({
      locations: [scriptedLocation('/', 'app')],
      scripts: { app: () => answer(200, 'never') },
    });
    await rawRequest(h.port, `GET /big HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(await h.accessLines()).toEqual([expect.stringMatching(/"GET \/big" 431 0 - -$/)]);
  });
});
