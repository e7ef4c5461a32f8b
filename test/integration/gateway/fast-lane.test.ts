// The fast lane end to end: plain GET/HEAD served on the raw socket in front of a real uWSGI,
// everything else handed to node:http on the same connection, with keep-alive, pipelining,
// HTTP/1.0, streamed answers of unknown length, client aborts and the header timeout.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningGateway, rawRequest, startGateway } from '../../helpers/gateway-process.js';
import { patternBytes } from '../../helpers/gateway-request.js';
import { waitUntilConnectable } from '../../helpers/ports.js';
import { type StartedProcess, startProcess } from '../../helpers/processes.js';
import { describeWith } from '../../helpers/tools.js';

const APP = join(import.meta.dirname, '..', '..', 'fixtures', 'gateway', 'echo_app.py');

/** A connection that collects bytes; `until` waits for a predicate on everything received. */
function client(port: number): Promise<{
  socket: Socket;
  received: () => string;
  until: (test: (all: string) => boolean, ms?: number) => Promise<string>;
  closed: Promise<void>;
}> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let all = '';
    socket.on('data', (d: Buffer) => {
      all += d.toString('latin1');
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('error', reject);
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => all,
        closed,
        until: async (test, ms = 5_000) => {
          const deadline = Date.now() + ms;
          while (!test(all)) {
            if (Date.now() > deadline) throw new Error(`timed out; received:\n${all.slice(0, 2000)}`);
            await new Promise((r) => setTimeout(r, 10));
          }
          return all;
        },
      }),
    );
  });
}

const count = (all: string, what: string) => all.split(what).length - 1;

describeWith({ tools: ['/usr/bin/uwsgi'] })('gateway fast lane → uWSGI', () => {
  let dir: string;
  let uwsgi: StartedProcess;
  let gateway: RunningGateway;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-fast-'));
    const sock = join(dir, 'app.sock');
    uwsgi = startProcess(
      '/usr/bin/uwsgi',
      [
        '--plugin',
        'python3',
        '--socket',
        sock,
        '--processes',
        '2',
        '--master',
        '--die-on-term',
        '--wsgi-file',
        APP,
        '--disable-logging',
      ],
      { env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } },
    );
    await waitUntilConnectable({ path: sock });
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `listen: ["127.0.0.1:0"]
workers: 1
timeouts: {client_header: 1s, keepalive: 5s}
locations:
  - {path: /, upstream: ["uwsgi://unix:${sock}"]}
`,
    );
    gateway = await startGateway(['--config', join(dir, 'gateway.yaml')]);
    port = gateway.port;
  });

  afterAll(async () => {
    await gateway?.proc.stop();
    await uwsgi?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps an HTTP/1.1 connection alive across requests and answers pipelined ones in order', async () => {
    const c = await client(port);
    c.socket.write('GET /echo?n=1 HTTP/1.1\r\nHost: gw.test\r\n\r\n');
    await c.until((all) => all.includes('"QUERY_STRING": "n=1"'));
    expect(c.received()).toMatch(
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n/,
    );
    // Two more in one write: both answered, in order, on the same connection.
    c.socket.write(
      'GET /echo?n=2 HTTP/1.1\r\nHost: gw.test\r\n\r\nGET /echo?n=3 HTTP/1.1\r\nHost: gw.test\r\n\r\n',
    );
    const all = await c.until((text) => text.includes('"QUERY_STRING": "n=3"'));
    expect(all.indexOf('"n=2"')).toBeLessThan(all.indexOf('"n=3"'));
    expect(count(all, 'HTTP/1.1 200 OK')).toBe(3);
    c.socket.destroy();
  });

  it('hands a request with a body to node:http on the same connection, bytes intact, and keeps serving', async () => {
    const c = await client(port);
    c.socket.write('GET /echo?step=1 HTTP/1.1\r\nHost: gw.test\r\n\r\n');
    await c.until((all) => all.includes('"step=1"'));
    c.socket.write('POST /echo?step=2 HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\n\r\nhello');
    await c.until((all) => all.includes('"step=2"'));
    expect(c.received()).toContain('"body_length": 5');
    c.socket.write('GET /echo?step=3 HTTP/1.1\r\nHost: gw.test\r\n\r\n');
    const all = await c.until((text) => text.includes('"step=3"'));
    expect(count(all, 'HTTP/1.1 200 OK')).toBe(3);
    c.socket.destroy();
  });

  it('HTTP/1.0 closes after the answer unless it asked for keep-alive', async () => {
    const closing = await rawRequest(port, 'GET /echo HTTP/1.0\r\n\r\n');
    expect(closing.status).toBe(200);
    expect(closing.head).toContain('Connection: close');
    const c = await client(port);
    c.socket.write('GET /echo?a=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    await c.until((all) => all.includes('"a=1"'));
    c.socket.write('GET /echo?a=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    await c.until((all) => all.includes('"a=2"'));
    expect(c.received()).toContain('Connection: keep-alive\r\n');
    c.socket.destroy();
  });

  it('HEAD gets the head with the length and no body', async () => {
    const res = await rawRequest(port, 'HEAD /echo HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.head).toMatch(/Content-Length: \d+/);
    expect(res.body.length).toBe(0);
  });

  it('an answer of unknown length is chunked on HTTP/1.1 and close-delimited on HTTP/1.0, bytes exact', async () => {
    const n = 3 * 1024 * 1024 + 7;
    const chunked = await rawRequest(
      port,
      `GET /big?n=${n} HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`,
    );
    expect(chunked.head).toContain('Transfer-Encoding: chunked');
    // De-chunk: size line, data, CRLF … 0 CRLF CRLF.
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = chunked.body.indexOf('\r\n', at);
      const size = Number.parseInt(chunked.body.toString('latin1', at, eol), 16);
      if (size === 0) break;
      parts.push(chunked.body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    expect(Buffer.concat(parts).equals(patternBytes(n))).toBe(true);
    const old = await rawRequest(port, `GET /big?n=${n} HTTP/1.0\r\n\r\n`);
    expect(old.head).toContain('Connection: close');
    expect(old.head).not.toContain('Transfer-Encoding');
    expect(old.body.equals(patternBytes(n))).toBe(true);
  });

  it('a client that goes away mid-request is logged as 499 and the gateway keeps serving', async () => {
    const c = await client(port);
    c.socket.write('GET /slow?s=1 HTTP/1.1\r\nHost: gw.test\r\n\r\n');
    await new Promise((r) => setTimeout(r, 200));
    c.socket.destroy();
    await gateway.waitForOutput(/"GET \/slow\?s=1" 499 /);
    const res = await rawRequest(
      port,
      'GET /echo?after=1 HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n',
    );
    expect(res.status).toBe(200);
  });

  it('a head that stalls past client_header gets 408 and the connection closes', async () => {
    const c = await client(port);
    c.socket.write('GET /echo HTTP/1.1\r\nHost: gw');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('an idle keep-alive connection closes after the keepalive timeout, silently', async () => {
    const c = await client(port);
    c.socket.write('GET /echo?idle=1 HTTP/1.1\r\nHost: gw.test\r\n\r\n');
    await c.until((all) => all.includes('"idle=1"'));
    const before = c.received().length;
    await c.closed;
    expect(c.received().length).toBe(before);
  }, 15_000);
});
