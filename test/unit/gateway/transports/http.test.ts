// The http transport's own HTTP/1.1 client against a scripted backend: which answers leave a
// connection that may carry the next request (keep-alive, RFC 9112 §9.3), which must not, and
// the stale keep-alive race (a kept connection the backend closes just as it is reused).

import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpTransport } from '../../../../src/gateway/transports/http.js';
import type { Transport } from '../../../../src/gateway/transport.js';
import { gatewayRequest, memoryBody, readBody, rejection } from '../../../helpers/gateway-request.js';

const TIMEOUTS = { connectMs: 5000, readMs: 5000, sendMs: 5000 };
const logger = { info() {}, warn() {}, error() {}, access() {} } as never;

interface Seen {
  connection: number;
  request: number;
  head: string;
  body: Buffer;
}

/** A backend that calls `answer` for each complete request (head + Content-Length body). */
function scriptedBackend(answer: (socket: Socket, seen: Seen) => void) {
  let connections = 0;
  const seen: Seen[] = [];
  const server = createServer((socket) => {
    const connection = ++connections;
    let requests = 0;
    let pending = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const body = pending.subarray(end + 4, end + 4 + length);
        pending = pending.subarray(end + 4 + length);
        const one = { connection, request: ++requests, head, body };
        seen.push(one);
        answer(socket, one);
      }
    });
  });
  return { server, seen, connections: () => connections };
}

const servers: Server[] = [];
const transports: Transport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function setup(answer: (socket: Socket, seen: Seen) => void) {
  const backend = scriptedBackend(answer);
  servers.push(backend.server);
  await new Promise<void>((r) => backend.server.listen(0, '127.0.0.1', r));
  const port = (backend.server.address() as { port: number }).port;
  const transport = createHttpTransport(
    { scheme: 'http', address: { kind: 'tcp', host: '127.0.0.1', port } },
    { logger },
  );
  transports.push(transport);
  const get = async (overrides: Parameters<typeof gatewayRequest>[0] = {}) => {
    const response = await transport.request(gatewayRequest(overrides), TIMEOUTS);
    return { ...response, text: (await readBody(response.body)).toString() };
  };
  return { backend, transport, get };
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello';

describe('http transport — keep-alive to the backend', () => {
  it('sends consecutive requests over one kept connection, with the forwarding headers', async () => {
    const { backend, get } = await setup((socket) => socket.write(OK));
    for (let i = 0; i < 3; i++) expect((await get()).text).toBe('hello');
    expect(backend.connections()).toBe(1);
    const head = backend.seen[0]!.head;
    expect(head.startsWith('GET /echo?x=1 HTTP/1.1\r\nHost: example.test\r\n')).toBe(true);
    expect(head).toContain('\r\nX-Forwarded-For: 127.0.0.1');
    expect(head).not.toMatch(/\r\nConnection:/i);
  });

  it('de-chunks an answer that comes in pieces and keeps the connection after its last chunk', async () => {
    const { backend, get } = await setup((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel');
      setTimeout(() => socket.write('lo\r\n6\r\n world\r\n0\r\n\r\n'), 20);
    });
    const first = await get();
    expect(first.text).toBe('hello world');
    expect(first.headers.map(([name]) => name.toLowerCase())).not.toContain('transfer-encoding');
    expect((await get()).text).toBe('hello world');
    expect(backend.connections()).toBe(1);
  });

  it('keeps the connection after a HEAD answer and a 204, which have no body', async () => {
    const { backend, get } = await setup((socket, seen) =>
      socket.write(
        seen.head.startsWith('HEAD')
          ? 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'
          : 'HTTP/1.1 204 No Content\r\n\r\n',
      ),
    );
    expect((await get({ method: 'HEAD' })).status).toBe(200);
    expect((await get()).status).toBe(204);
    expect(backend.connections()).toBe(1);
  });

  it('skips an interim 100 Continue and answers with the final response', async () => {
    const { get } = await setup((socket) => socket.write(`HTTP/1.1 100 Continue\r\n\r\n${OK}`));
    const response = await get();
    expect(response.status).toBe(200);
    expect(response.text).toBe('hello');
  });

  it('sends a body larger than one write whole, then reuses the connection', async () => {
    const { backend, get } = await setup((socket, seen) =>
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Length: ${String(seen.body.length).length}\r\n\r\n${seen.body.length}`,
      ),
    );
    const big = Buffer.alloc(300 * 1024, 0x61);
    expect(
      (await get({ method: 'POST', body: memoryBody(big.subarray(0, 100_000), big.subarray(100_000)) })).text,
    ).toBe(String(big.length));
    expect((await get()).text).toBe('0');
    expect(backend.connections()).toBe(1);
    expect(backend.seen[0]!.head).toContain(`\r\nContent-Length: ${big.length}`);
  });

  it.each([
    ['Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello'],
    ['HTTP/1.0 without keep-alive', 'HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello'],
    ['bytes past Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloGARBAGE'],
    [
      'bytes after the last chunk',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nX',
    ],
  ])('opens a new connection for the next request after %s', async (_name, answer) => {
    const { backend, get } = await setup((socket) => socket.write(answer));
    expect((await get()).text).toBe('hello');
    expect((await get()).text).toBe('hello');
    expect(backend.connections()).toBe(2);
  });

  it('reads a body without length or chunking until the backend closes, and does not keep it', async () => {
    const { backend, get } = await setup((socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil close'));
    expect((await get()).text).toBe('until close');
    expect((await get()).text).toBe('until close');
    expect(backend.connections()).toBe(2);
  });

  it('replays a request once on a fresh connection when a kept one dies before any byte came back', async () => {
    const { backend, get } = await setup((socket, seen) => {
      if (seen.connection === 1 && seen.request === 2) socket.destroy();
      else socket.write(OK);
    });
    expect((await get()).text).toBe('hello');
    expect((await get({ method: 'POST', body: memoryBody(Buffer.from('x')) })).text).toBe('hello');
    expect(backend.seen.map((s) => `${s.connection}.${s.request}`)).toEqual(['1.1', '1.2', '2.1']);
  });

  it('does not replay a request the backend started answering on a kept connection', async () => {
    const { get } = await setup((socket, seen) => {
      if (seen.request === 2) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\ncut');
      else socket.write(OK);
    });
    expect((await get()).text).toBe('hello');
    const error = await rejection(get());
    expect(error.code).toBe('SG_ERR_UPSTREAM_RESET');
  });

  it('takes a fresh connection when the backend closed the kept one while idle', async () => {
    const { backend, get } = await setup((socket) => {
      socket.write(OK);
      setTimeout(() => socket.end(), 10);
    });
    expect((await get()).text).toBe('hello');
    await new Promise((r) => setTimeout(r, 100));
    expect((await get()).text).toBe('hello');
    expect(backend.connections()).toBe(2);
  });

  it('refuses a 101 to a request that asked for no upgrade (502)', async () => {
    const { get } = await setup((socket) =>
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n'),
    );
    const error = await rejection(get());
    expect(error.code).toBe('SG_ERR_UPSTREAM_MALFORMED');
  });

  it('refuses a header value that would split the request head', async () => {
    const { backend, get } = await setup((socket) => socket.write(OK));
    const error = await rejection(get({ rawHeaders: ['Host', 'example.test', 'X-Bad', 'a\r\nInjected: 1'] }));
    expect(error.code).toBe('SG_ERR_UPSTREAM_REQUEST_TOO_LARGE');
    expect(backend.connections()).toBe(0);
  });
});
