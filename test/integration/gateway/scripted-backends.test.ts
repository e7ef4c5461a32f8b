// The uwsgi and SCGI transports against backends that answer scripted bytes: the request on
// the wire decodes to the CGI variables, and every way an answer can go wrong maps to its
// error (reset with uWSGI's buffer-size advice, malformed, read timeout) with what the proxy
// core needs to decide on a retry.

import { afterEach, describe, expect, it } from 'vitest';
import { decodeScgiRequest } from '../../../src/gateway/codecs/scgi.js';
import { decodeUwsgiPacket } from '../../../src/gateway/codecs/uwsgi.js';
import type { Transport } from '../../../src/gateway/transport.js';
import { createScgiTransport } from '../../../src/gateway/transports/scgi.js';
import { createUwsgiTransport } from '../../../src/gateway/transports/uwsgi.js';
import { gatewayRequest, readBody, rejection } from '../../helpers/gateway-request.js';
import { type ScriptedBackend, startScriptedBackend } from '../../helpers/scripted-backend.js';

const TIMEOUTS = { connectMs: 1_000, readMs: 300, sendMs: 1_000 };

let backend: ScriptedBackend | null = null;
let transport: Transport | null = null;
afterEach(async () => {
  await transport?.close();
  await backend?.close();
  backend = null;
  transport = null;
});

async function uwsgi(script: Parameters<typeof startScriptedBackend>[0]): Promise<Transport> {
  backend = await startScriptedBackend(script);
  transport = createUwsgiTransport({
    scheme: 'uwsgi',
    address: { kind: 'tcp', host: '127.0.0.1', port: backend.port },
  });
  return transport;
}

async function scgi(script: Parameters<typeof startScriptedBackend>[0]): Promise<Transport> {
  backend = await startScriptedBackend(script);
  transport = createScgiTransport({
    scheme: 'scgi',
    address: { kind: 'tcp', host: '127.0.0.1', port: backend.port },
  });
  return transport;
}

describe('uwsgi transport against scripted bytes', () => {
  it('sends one uwsgi packet with the CGI variables and takes a raw HTTP answer', async () => {
    const t = await uwsgi((socket) =>
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello'),
    );
    const res = await t.request(gatewayRequest({ rawTarget: '/echo?x=1' }), TIMEOUTS);
    expect(res.status).toBe(200);
    expect(res.headers).toContainEqual(['X-A', '1']);
    expect((await readBody(res.body)).toString()).toBe('hello');
    const vars = new Map(decodeUwsgiPacket(backend?.received[0] as Buffer).vars);
    expect(vars.get('REQUEST_METHOD')).toBe('GET');
    expect(vars.get('QUERY_STRING')).toBe('x=1');
    expect(vars.get('HTTP_HOST')).toBe('example.test');
  });

  it('streams a body that arrives in pieces and ends at EOF', async () => {
    const t = await uwsgi((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n\r\nfirst,');
      setTimeout(() => socket.end('second'), 50);
    });
    const res = await t.request(gatewayRequest(), TIMEOUTS);
    expect((await readBody(res.body)).toString()).toBe('first,second');
  });

  it('a close before any answer is SG_ERR_UPSTREAM_RESET with the buffer-size advice, not safe to retry', async () => {
    const t = await uwsgi((socket) => socket.end());
    const err = await rejection(t.request(gatewayRequest(), TIMEOUTS));
    expect(err.code).toBe('SG_ERR_UPSTREAM_RESET');
    expect(err.message).toContain('buffer-size');
    expect(err).toMatchObject({ sentAnything: true });
  });

  it('a head that is not HTTP is SG_ERR_UPSTREAM_MALFORMED', async () => {
    const t = await uwsgi((socket) => socket.end('\x00\x01 not a head\r\n\r\n'));
    const err = await rejection(t.request(gatewayRequest(), TIMEOUTS));
    expect(err.code).toBe('SG_ERR_UPSTREAM_MALFORMED');
  });

  it('silence is SG_ERR_UPSTREAM_TIMEOUT in the read phase', async () => {
    const t = await uwsgi(() => {});
    const err = await rejection(t.request(gatewayRequest(), TIMEOUTS));
    expect(err.code).toBe('SG_ERR_UPSTREAM_TIMEOUT');
    expect(err.details).toMatchObject({ phase: 'read', timeoutMs: 300 });
  });
});

describe('SCGI transport against scripted bytes', () => {
  it('sends a netstring led by CONTENT_LENGTH and takes a CGI answer with Status', async () => {
    const t = await scgi((socket) =>
      socket.end('Status: 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nmade'),
    );
    const res = await t.request(gatewayRequest({ method: 'GET', rawTarget: '/new' }), TIMEOUTS);
    expect(res.status).toBe(201);
    expect(res.statusText).toBe('Created');
    expect((await readBody(res.body)).toString()).toBe('made');
    const request = decodeScgiRequest(backend?.received[0] as Buffer);
    expect(request.vars[0]).toEqual(['CONTENT_LENGTH', '0']);
    expect(new Map(request.vars).get('SCGI')).toBe('1');
  });

  it('a close inside the head is SG_ERR_UPSTREAM_RESET, never a response', async () => {
    const t = await scgi((socket) => socket.end('Status: 200 OK\r\nContent-Type: text/pl'));
    const err = await rejection(t.request(gatewayRequest(), TIMEOUTS));
    expect(err.code).toBe('SG_ERR_UPSTREAM_RESET');
    expect(err).toMatchObject({ sentAnything: true });
  });
});
