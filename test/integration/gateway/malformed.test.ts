// Raw malformed requests over a plain TCP socket: each must get the status nginx would answer,
// and none may reach the backend (it counts every request it sees).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, rawRequest, startGateway } from '../../helpers/gateway-process.js';

describe('gateway refuses malformed requests before the backend sees them', () => {
  let dir: string;
  let backend: Server;
  let gateway: RunningGateway;
  let port: number;
  const seen: IncomingMessage[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-gw-raw-'));
    backend = createServer((req, res) => {
      seen.push(req);
      req.resume();
      req.on('end', () => res.end(`seen ${req.method} ${req.url}\n`));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const backendPort = (backend.address() as { port: number }).port;
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `listen: ["127.0.0.1:0"]
max_header_size: 8k
timeouts: {client_header: 1500ms, client_body: 1500ms}
locations:
  - {path: /app/, upstream: ["http://127.0.0.1:${backendPort}"], script_name: /app}
  - {path: /, upstream: ["http://127.0.0.1:${backendPort}"]}
`,
    );
    gateway = await startGateway(['--config', join(dir, 'gateway.yaml')]);
    port = gateway.port;
  });

  afterAll(async () => {
    await gateway?.proc.stop();
    backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const H = 'Host: gw.test\r\n';
  // [name, raw request, status]
  const TABLE: Array<[string, string, number]> = [
    ['Transfer-Encoding gzip', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\nxx`, 501],
    [
      'Transfer-Encoding gzip, chunked',
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
      501,
    ],
    [
      'Transfer-Encoding chunked, chunked',
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`,
      501,
    ],
    [
      'CL + TE smuggling (RFC 9112 §6.3)',
      `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`,
      400,
    ],
    ['TE on HTTP/1.0', `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
    [
      'duplicate Content-Length',
      `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
      400,
    ],
    ['negative Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, 400],
    ['duplicate Host', `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400],
    ['missing Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['empty Host on HTTP/1.1', 'GET / HTTP/1.1\r\nHost: \r\n\r\n', 400],
    ['Host with a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400],
    ['HTTP/0.9 request line', 'GET /\r\n\r\n', 400],
    ['HTTP/2.0 request line', `GET / HTTP/2.0\r\n${H}\r\n`, 505],
    ['HTTP/1.2 request line', `GET / HTTP/1.2\r\n${H}\r\n`, 505],
    ['NUL as %00', `GET /a%00.py HTTP/1.1\r\n${H}\r\n`, 400],
    ['raw NUL in the target', `GET /a\0b HTTP/1.1\r\n${H}\r\n`, 400],
    ['bad percent-encoding', `GET /a%zz HTTP/1.1\r\n${H}\r\n`, 400],
    ['dot segments above the root', `GET /../etc/passwd HTTP/1.1\r\n${H}\r\n`, 400],
    ['encoded dot segments above the root', `GET /app/%2e%2e/%2e%2e/x HTTP/1.1\r\n${H}\r\n`, 400],
    ['%2F that changes the location', `GET /app%2Fadmin HTTP/1.1\r\n${H}\r\n`, 400],
    ['asterisk-form on GET', `GET * HTTP/1.1\r\n${H}\r\n`, 400],
    ['CONNECT', `CONNECT gw.test:443 HTTP/1.1\r\nHost: gw.test:443\r\n\r\n`, 405],
    ['invalid method token', `G@T / HTTP/1.1\r\n${H}\r\n`, 400],
    ['space inside the target', `GET /a b HTTP/1.1\r\n${H}\r\n`, 400],
    ['bare LF line endings', 'GET / HTTP/1.1\nHost: gw.test\n\n', 400],
    ['obs-fold header', `GET / HTTP/1.1\r\n${H}X-A: 1\r\n  folded\r\n\r\n`, 400],
    ['space before the colon', `GET / HTTP/1.1\r\n${H}X-A : 1\r\n\r\n`, 400],
    ['head larger than max_header_size', `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(9000)}\r\n\r\n`, 431],
    ['invalid chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n`, 400],
  ];

  it.each(TABLE)('%s', async (_name, raw, status) => {
    const before = seen.length;
    const res = await rawRequest(port, raw);
    expect(res.status, res.raw.toString('latin1').slice(0, 200)).toBe(status);
    expect(res.head).toMatch(/\r\nConnection: close/i);
    // Give a wrongly forwarded request time to arrive before counting.
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.length - before).toBe(0);
  });

  it('answers 408 to a slowloris head (client_header timeout) without forwarding', async () => {
    const before = seen.length;
    const started = Date.now();
    const res = await rawRequest(port, `GET / HTTP/1.1\r\n${H}X-Slow: `, 10_000);
    expect(res.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(seen.length - before).toBe(0);
  });

  it('answers 408 to a stalled body (client_body timeout) and forwards nothing', async () => {
    const before = seen.length;
    const res = await rawRequest(port, `POST / HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`, 10_000);
    expect(res.status).toBe(408);
    expect(seen.length - before).toBe(0);
  });

  it('forwards nothing when the client disconnects mid-upload', async () => {
    const before = seen.length;
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`POST / HTTP/1.1\r\n${H}Content-Length: 100000\r\n\r\n`);
        socket.write(Buffer.alloc(50_000));
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 100);
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.length - before).toBe(0);
    expect((await rawRequest(port, `GET /alive HTTP/1.1\r\n${H}Connection: close\r\n\r\n`)).status).toBe(200);
  });

  it('uses the absolute-form authority as Host (RFC 9112 §3.2.2) and forwards origin-form', async () => {
    const res = await rawRequest(
      port,
      `GET http://other.test/x?y=1 HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    const last = seen.at(-1);
    expect(last?.url).toBe('/x?y=1');
    expect(last?.headers.host).toBe('other.test');
  });

  it('drops underscore and Proxy headers before the backend', async () => {
    await rawRequest(
      port,
      `GET /h HTTP/1.1\r\n${H}X_Forwarded_For: 6.6.6.6\r\nProxy: http://evil\r\nConnection: close\r\n\r\n`,
    );
    const last = seen.at(-1);
    expect(last?.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase())).toEqual(
      expect.not.arrayContaining(['x_forwarded_for', 'proxy']),
    );
    expect(last?.headers['x-forwarded-for']).toBe('127.0.0.1');
  });
});
