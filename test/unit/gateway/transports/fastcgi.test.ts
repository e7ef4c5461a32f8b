// Protocol edges of the FastCGI transport that no real backend produces on demand: a kept-open
// connection that dies just as it is reused (the stale keep-alive race), FCGI_OVERLOADED, an
// empty FCGI_STDOUT, garbage instead of records, a one-worker backend (php-fpm's model) that
// stays with its connection. A scripted FastCGI responder plays them.

import { type Server, type Socket, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RecordType,
  readRecordHeader,
  writeRecordHeader,
} from '../../../../src/gateway/codecs/fastcgi/header.js';
import { ProtocolStatus } from '../../../../src/gateway/codecs/fastcgi/record.js';
import { createFastcgiTransport } from '../../../../src/gateway/transports/fastcgi.js';
import { gatewayRequest, readBody, rejection } from '../../../helpers/gateway-request.js';

// Generous: the machine is shared, and a connect that waits in a busy listen queue is not the edge under test.
const TIMEOUTS = { connectMs: 5000, readMs: 5000, sendMs: 5000 };

function record(type: RecordType, content: Buffer | string = Buffer.alloc(0)): Buffer {
  const data = typeof content === 'string' ? Buffer.from(content) : content;
  const out = Buffer.alloc(8 + data.length);
  writeRecordHeader(out, 0, type, 1, data.length, 0);
  data.copy(out, 8);
  return out;
}

function endRequest(protocolStatus: number = ProtocolStatus.RequestComplete): Buffer {
  const body = Buffer.alloc(8);
  body[4] = protocolStatus;
  return record(RecordType.EndRequest, body);
}

const OK_RESPONSE = Buffer.concat([
  record(RecordType.Stdout, 'Content-Type: text/plain\r\n\r\nhello'),
  record(RecordType.Stdout),
  endRequest(),
]);

/** Calls `onRequest(socket, n)` each time a full request (up to the empty STDIN) arrived. */
function scriptedResponder(onRequest: (socket: Socket, connection: number, request: number) => void) {
  let connections = 0;
  const server = createServer((socket) => {
    const connection = ++connections;
    let requests = 0;
    let pending = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        const header = readRecordHeader(pending);
        const size = 8 + header.contentLength + header.paddingLength;
        if (pending.length < size) break;
        pending = pending.subarray(size);
        if (header.type === RecordType.Stdin && header.contentLength === 0)
          onRequest(socket, connection, ++requests);
      }
    });
  });
  return {
    server,
    connections: () => connections,
    listen: () =>
      new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
      ),
  };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function setup(onRequest: Parameters<typeof scriptedResponder>[0]) {
  const responder = scriptedResponder(onRequest);
  servers.push(responder.server);
  const port = await responder.listen();
  const transport = createFastcgiTransport({
    scheme: 'fastcgi',
    address: { kind: 'tcp', host: '127.0.0.1', port },
  });
  return { responder, transport };
}

describe('fastcgi transport — protocol edges', () => {
  it('replays a request once when a reused connection dies before any byte came back', async () => {
    const { responder, transport } = await setup((socket, _connection, request) => {
      // The first request is answered and the connection kept; the second one finds it dead.
      if (request === 1) socket.write(OK_RESPONSE);
      else socket.destroy();
    });
    try {
      expect((await readBody((await transport.request(gatewayRequest(), TIMEOUTS)).body)).toString()).toBe(
        'hello',
      );
      const again = await transport.request(gatewayRequest(), TIMEOUTS);
      expect((await readBody(again.body)).toString()).toBe('hello');
      expect(responder.connections()).toBe(2);
      expect(transport.stats()).toMatchObject({ created: 2, reused: 1 });
    } finally {
      await transport.close();
    }
  });

  it('a backend that closes after every END_REQUEST (uWSGI) fails no request under load', async () => {
    // uWSGI's fastcgi-socket ignores FCGI_KEEP_CONN: it answers, then closes. With more requests
    // than connections, released connections used to be handed to queued requests just before
    // the close arrived, until one request ran out of attempts.
    const responder = scriptedResponder((socket) => socket.end(OK_RESPONSE));
    servers.push(responder.server);
    const port = await responder.listen();
    const transport = createFastcgiTransport(
      { scheme: 'fastcgi', address: { kind: 'tcp', host: '127.0.0.1', port } },
      { maxConnections: 4 },
    );
    try {
      const bodies = await Promise.all(
        Array.from({ length: 200 }, async () =>
          (await readBody((await transport.request(gatewayRequest(), TIMEOUTS)).body)).toString(),
        ),
      );
      expect(bodies.every((body) => body === 'hello')).toBe(true);
      // The pool noticed and stopped keeping: later requests ask for no FCGI_KEEP_CONN.
      expect(transport.stats()).toMatchObject({ keeping: false });
      expect(transport.stats().open).toBeLessThanOrEqual(4);
    } finally {
      await transport.close();
    }
  });

  it('does not replay on a fresh connection: a reset before the head is SG_ERR_UPSTREAM_RESET', async () => {
    const { transport } = await setup((socket) => socket.destroy());
    try {
      const err = await rejection(transport.request(gatewayRequest(), TIMEOUTS));
      expect(err.code).toBe('SG_ERR_UPSTREAM_RESET');
      expect(err).toMatchObject({ sentAnything: true });
    } finally {
      await transport.close();
    }
  });

  it('maps FCGI_OVERLOADED to SG_ERR_UPSTREAM_REJECTED (safe to retry) and keeps the connection', async () => {
    const { transport } = await setup((socket, _c, request) =>
      socket.write(request === 1 ? endRequest(ProtocolStatus.Overloaded) : OK_RESPONSE),
    );
    try {
      const err = await rejection(transport.request(gatewayRequest(), TIMEOUTS));
      expect(err.code).toBe('SG_ERR_UPSTREAM_REJECTED');
      expect(err).toMatchObject({ sentAnything: false });
      expect((await readBody((await transport.request(gatewayRequest(), TIMEOUTS)).body)).toString()).toBe(
        'hello',
      );
      expect(transport.stats().created).toBe(1);
    } finally {
      await transport.close();
    }
  });

  it('an END_REQUEST without any output is SG_ERR_UPSTREAM_MALFORMED', async () => {
    const { transport } = await setup((socket) => socket.write(endRequest()));
    try {
      expect((await rejection(transport.request(gatewayRequest(), TIMEOUTS))).code).toBe(
        'SG_ERR_UPSTREAM_MALFORMED',
      );
    } finally {
      await transport.close();
    }
  });

  it('an HTTP answer on the FastCGI socket is SG_ERR_UPSTREAM_MALFORMED', async () => {
    const { transport } = await setup((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    try {
      expect((await rejection(transport.request(gatewayRequest(), TIMEOUTS))).code).toBe(
        'SG_ERR_UPSTREAM_MALFORMED',
      );
    } finally {
      await transport.close();
    }
  });

  it('never leaves a request waiting for a worker that stays with an idle kept-open connection', async () => {
    // php-fpm's model with one worker: it serves one connection until that connection closes;
    // a request on any other connection waits in the accept queue until then.
    let owner: Socket | null = null;
    const waiting: Socket[] = [];
    const serve = (socket: Socket): void => {
      owner = socket;
      socket.once('close', () => {
        owner = null;
        const next = waiting.shift();
        if (next !== undefined) serve(next);
      });
      setTimeout(() => socket.write(OK_RESPONSE), 20);
    };
    const { transport } = await setup((socket) => {
      if (owner === null || owner === socket) serve(socket);
      else waiting.push(socket);
    });
    try {
      const bodies = await Promise.all(
        Array.from({ length: 3 }, async () =>
          (await readBody((await transport.request(gatewayRequest(), TIMEOUTS)).body)).toString(),
        ),
      );
      expect(bodies).toEqual(['hello', 'hello', 'hello']);
      expect(transport.stats().unpinned).toBeGreaterThanOrEqual(2);
      // Alone again, the last connection is kept and reused as before.
      await readBody((await transport.request(gatewayRequest(), TIMEOUTS)).body);
      expect(transport.stats()).toMatchObject({ open: 1, idle: 1 });
    } finally {
      await transport.close();
    }
  });

  it('a connection closed in the middle of the body fails the body stream with SG_ERR_UPSTREAM_RESET', async () => {
    const { transport } = await setup((socket) => {
      socket.write(record(RecordType.Stdout, 'Content-Length: 100\r\n\r\npartial'));
      setTimeout(() => socket.destroy(), 50);
    });
    try {
      const response = await transport.request(gatewayRequest(), TIMEOUTS);
      const err = await rejection(readBody(response.body));
      expect(err.code).toBe('SG_ERR_UPSTREAM_RESET');
    } finally {
      await transport.close();
    }
  });

  it('hands a small answer over as one Buffer when END_REQUEST came in the same read', async () => {
    const { transport } = await setup((socket) => socket.write(OK_RESPONSE));
    try {
      const response = await transport.request(gatewayRequest(), TIMEOUTS);
      expect(Buffer.isBuffer(response.body)).toBe(true);
      expect(response.body.toString()).toBe('hello');
    } finally {
      await transport.close();
    }
  });

  it('hands an answer complete by Content-Length over as a Buffer before END_REQUEST, then keeps the connection', async () => {
    const { responder, transport } = await setup((socket) => {
      socket.write(record(RecordType.Stdout, 'Content-Length: 5\r\n\r\nhello'));
      setTimeout(() => socket.write(Buffer.concat([record(RecordType.Stdout), endRequest()])), 30);
    });
    try {
      const response = await transport.request(gatewayRequest(), TIMEOUTS);
      expect(Buffer.isBuffer(response.body)).toBe(true);
      expect(response.body.toString()).toBe('hello');
      // Once END_REQUEST came, the connection is released and kept for the next request.
      await new Promise((r) => setTimeout(r, 100));
      expect((await readBody((await transport.request(gatewayRequest(), TIMEOUTS)).body)).toString()).toBe(
        'hello',
      );
      expect(responder.connections()).toBe(1);
    } finally {
      await transport.close();
    }
  });

  it('an answer that ends (END_REQUEST) short of its Content-Length is SG_ERR_UPSTREAM_RESET, not a short body', async () => {
    const { transport } = await setup((socket) =>
      socket.write(
        Buffer.concat([record(RecordType.Stdout, 'Content-Length: 9\r\n\r\nhello'), endRequest()]),
      ),
    );
    try {
      const err = await rejection(transport.request(gatewayRequest(), TIMEOUTS));
      expect(err.code).toBe('SG_ERR_UPSTREAM_RESET');
    } finally {
      await transport.close();
    }
  });
});
