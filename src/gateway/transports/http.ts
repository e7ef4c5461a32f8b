// HTTP/1.1 to a backend (nginx proxy_pass with proxy_http_version 1.1 and an upstream
// keepalive pool). The gateway is the edge: the client's own X-Forwarded-* and X-Real-IP are
// replaced, not trusted, and `Proxy` is dropped (httpoxy, CVE-2016-5385). Upgrade requests
// (WebSocket) are tunnelled byte for byte once the backend answers 101.

import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { StackgenError, UpstreamError } from '../../errors.js';
import { DEFAULT_MAX_HEAD_BYTES as MAX_RESPONSE_HEAD_BYTES } from '../codecs/cgi-response.js';
import { CLIENT_FORWARDING_HEADERS } from '../forwarding.js';
import { connectionOptions, HOP_BY_HOP, headerValue } from '../hop-by-hop.js';
import type { GatewayLogger } from '../log.js';
import type {
  GatewayRequest,
  Transport,
  TransportTimeouts,
  UpstreamResponse,
  UpstreamTarget,
} from '../transport.js';
import { PhaseTimer } from './phase-timer.js';
import { writeRequestBody } from './request-body.js';
import { exchangeEncoded, ReusableConnections } from './single-use-connection.js';
import * as failure from './upstream-failure.js';

export interface HttpTransportOptions {
  logger: GatewayLogger;
  /** Idle connections kept for reuse, per gateway worker (nginx `keepalive N`; default 128). */
  maxIdle?: number | undefined;
  /** A kept connection unused this long is closed (nginx `keepalive_timeout`; default 60 s). */
  idleTimeoutMs?: number | undefined;
}

// Request fields never forwarded as received: hop-by-hop ones (hop-by-hop.ts), the ones the
// gateway sets itself, and `Proxy` (httpoxy: it would become HTTP_PROXY in a CGI-ish app).
// The client's forwarding headers (forwarding.ts) are replaced or dropped, never passed.
const DROP_REQUEST = new Set([
  ...HOP_BY_HOP,
  'host',
  'content-length',
  'proxy',
  ...CLIENT_FORWARDING_HEADERS,
]);

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** Backend request header list (flat [name, value, …]) for a gateway request (pure). */
export function backendRequestHeaders(req: GatewayRequest, upgrade: string | null): string[] {
  const out: string[] = ['Host', req.host];
  const raw = req.rawHeaders;
  const connectionTokens = connectionOptions(
    raw.length >> 1,
    (i) => raw[2 * i] as string,
    (i) => raw[2 * i + 1] as string,
  );
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (DROP_REQUEST.has(lower) || connectionTokens.includes(lower)) continue;
    out.push(name, raw[i + 1] as string);
  }
  out.push(
    'X-Forwarded-For',
    req.remoteAddress,
    'X-Forwarded-Proto',
    req.scheme,
    'X-Forwarded-Host',
    req.host,
    'X-Real-IP',
    req.remoteAddress,
  );
  if (upgrade !== null) out.push('Connection', 'Upgrade', 'Upgrade', upgrade);
  if (req.body !== null) out.push('Content-Length', String(req.body.length));
  else if (METHODS_WITH_BODY.has(req.method)) out.push('Content-Length', '0');
  return out;
}

/** Classify a node client error into the Transport error contract. */
function classify(err: NodeJS.ErrnoException, connected: boolean, target: UpstreamTarget): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const facts = { target, sentAnything: connected, cause: err };
  if (!connected) return failure.connect(facts);
  if ((err.code ?? '').startsWith('HPE_'))
    return failure.malformed({ ...facts, what: `sent a malformed response (${err.message})` });
  return failure.reset(facts);
}

/** Bodies up to this size travel in the same write as the request head. */
const INLINE_BODY_LIMIT = 64 * 1024;
/** CR, LF and NUL end or corrupt a head line: never sent in a field (RFC 9110 §5.5). */
const UNSAFE_FIELD = /[\r\n\0]/;

/**
 * The request head (and a small body) as HTTP/1.1 bytes for the backend (pure). Refuses a
 * field that could split the head; the front's parsers already refuse those from clients.
 */
export function encodeHttpRequest(req: GatewayRequest, body: Buffer | undefined): Buffer {
  const fields = backendRequestHeaders(req, null);
  let head = `${req.method} ${req.rawTarget} HTTP/1.1\r\n`;
  if (UNSAFE_FIELD.test(head.slice(0, -2)) || req.rawTarget.includes(' '))
    throw new StackgenError(
      'SG_ERR_UPSTREAM_REQUEST_TOO_LARGE',
      'cannot encode the request line as HTTP/1.1',
    );
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    if (UNSAFE_FIELD.test(name) || UNSAFE_FIELD.test(value))
      throw new StackgenError(
        'SG_ERR_UPSTREAM_REQUEST_TOO_LARGE',
        `cannot encode header ${name} as HTTP/1.1`,
      );
    head += `${name}: ${value}\r\n`;
  }
  head += '\r\n';
  const headLength = Buffer.byteLength(head, 'latin1');
  if (body === undefined) return Buffer.from(head, 'latin1');
  const packet = Buffer.allocUnsafe(headLength + body.length);
  packet.write(head, 0, headLength, 'latin1');
  body.copy(packet, headLength);
  return packet;
}

/**
 * Create the HTTP transport for one backend. Plain requests go over the gateway's own
 * HTTP/1.1 client (single-use-connection.ts with keep-alive): the head is one string, the
 * answer is parsed by the shared head parser, and a small complete answer is one Buffer —
 * node's http client cost three times the CPU per request of the uwsgi transport
 * (`npm run bench gateway`). Upgrades (WebSocket) use node's client, which hands over the
 * socket after the 101.
 */
export function createHttpTransport(target: UpstreamTarget, options: HttpTransportOptions): Transport {
  const address = target.address;
  if (address.kind === 'script')
    throw new StackgenError('SG_ERR_INTERNAL', 'http transport needs a socket address');
  const connections = new ReusableConnections(target, {
    maxIdle: options.maxIdle ?? 128,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
  });
  const location =
    address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };

  const request = (req: GatewayRequest, timeouts: TransportTimeouts): Promise<UpstreamResponse> =>
    exchangeEncoded(
      connections,
      req,
      timeouts,
      INLINE_BODY_LIMIT,
      (inline) => encodeHttpRequest(req, inline),
      {
        headMode: 'http',
        // Response heads up to 64 KiB, as the CGI-style transports take (a backend's big
        // Set-Cookie/CSP/Link heads that nginx passes).
        maxHeadBytes: MAX_RESPONSE_HEAD_BYTES,
        keepAlive: true,
      },
    );

  /** An Upgrade request on a connection of its own (node's client hands over the socket). */
  function sendUpgrade(
    req: GatewayRequest,
    timeouts: TransportTimeouts,
    upgrade: string,
    onUpgrade: (res: IncomingMessage, socket: Socket, head: Buffer) => void,
  ): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      let connected = false;
      let settled = false;
      let creq: ClientRequest;
      try {
        creq = httpRequest({
          ...location,
          agent: false,
          method: req.method,
          path: req.rawTarget,
          headers: backendRequestHeaders(req, upgrade),
          setHost: false,
          insecureHTTPParser: false,
          maxHeaderSize: MAX_RESPONSE_HEAD_BYTES,
        });
      } catch (err) {
        reject(
          failure.withFacts(
            new StackgenError('SG_ERR_UPSTREAM_REQUEST_TOO_LARGE', 'cannot encode the request as HTTP/1.1', {
              cause: err,
            }),
            { target, sentAnything: false },
          ),
        );
        return;
      }
      const fail = (err: UpstreamError) => {
        if (settled) return;
        settled = true;
        req.signal.removeEventListener('abort', onAbort);
        creq.destroy();
        reject(err);
      };
      const onAbort = () =>
        fail(failure.aborted({ target, sentAnything: connected, cause: req.signal.reason }));
      if (req.signal.aborted) return onAbort();
      req.signal.addEventListener('abort', onAbort, { once: true });

      creq.on('socket', (socket: Socket) => {
        const timer = setTimeout(
          () =>
            fail(failure.timeout({ target, sentAnything: false, phase: 'connect', ms: timeouts.connectMs })),
          timeouts.connectMs,
        );
        socket.once('connect', () => {
          connected = true;
          clearTimeout(timer);
        });
        socket.once('close', () => clearTimeout(timer));
      });
      // proxy_send_timeout while the request is written, then proxy_read_timeout until the 101.
      const timer = new PhaseTimer((ms) => creq.setTimeout(ms), timeouts, 'send');
      creq.on('timeout', () => {
        const err = timer.timedOut({ target, sentAnything: connected });
        if (!settled) fail(err);
        else creq.destroy(err);
      });
      timer.arm();
      creq.once('finish', () => timer.enter('read'));
      creq.on('error', (err: NodeJS.ErrnoException) => {
        if (!settled) fail(classify(err, connected, target));
      });
      creq.on('response', (res: IncomingMessage) => {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        const headers: Array<[string, string]> = [];
        const raw = res.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) {
          const name = raw[i] as string;
          if (HOP_BY_HOP.has(name.toLowerCase())) continue;
          headers.push([name, raw[i + 1] as string]);
        }
        res.once('close', () => req.signal.removeEventListener('abort', onAbort));
        resolve({ status: res.statusCode ?? 502, statusText: res.statusMessage, headers, body: res });
      });
      creq.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
        if (settled) return socket.destroy();
        settled = true;
        req.signal.removeEventListener('abort', onAbort);
        onUpgrade(res, socket, head);
        resolve({ status: 101, headers: [], body: res });
      });
      if (req.body === null) creq.end();
      else
        writeRequestBody(creq, req.body).then(
          () => creq.end(),
          // A write failure also surfaces as the request's 'error', handled there.
          () => {},
        );
    });
  }

  return {
    scheme: target.scheme,
    target,
    request,

    async upgrade(
      req: GatewayRequest,
      client: Duplex,
      head: Buffer,
      timeouts: TransportTimeouts,
    ): Promise<void> {
      const upgradeValue = headerValue(req.rawHeaders, 'upgrade') ?? 'websocket';
      let tunnelClosed: Promise<void> | null = null;
      const res = await sendUpgrade(req, timeouts, upgradeValue, (backendRes, socket, backendHead) => {
        tunnelClosed = tunnel(backendRes, socket, backendHead, client, head, timeouts);
      });
      if (tunnelClosed !== null) return tunnelClosed;
      // The backend refused the upgrade: relay its ordinary answer and close.
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) chunks.push(chunk as Buffer);
      const payload = Buffer.concat(chunks);
      let lines = `HTTP/1.1 ${res.status} ${res.statusText ?? ''}\r\n`;
      for (const [name, value] of res.headers)
        if (name.toLowerCase() !== 'content-length') lines += `${name}: ${value}\r\n`;
      lines += `Content-Length: ${payload.length}\r\nConnection: close\r\n\r\n`;
      client.end(Buffer.concat([Buffer.from(lines, 'latin1'), payload]));
    },

    close: () => connections.close(),
  };
}

/** Relay the backend's 101 head, then pipe bytes both ways until either side closes or idles. */
function tunnel(
  backendRes: IncomingMessage,
  socket: Socket,
  backendHead: Buffer,
  client: Duplex,
  head: Buffer,
  timeouts: TransportTimeouts,
): Promise<void> {
  // RFC 9110 §15.2.2 / RFC 6455 §4.1: the 101 head goes to the client as the backend sent it.
  let lines = `HTTP/1.1 101 ${backendRes.statusMessage || 'Switching Protocols'}\r\n`;
  const raw = backendRes.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) lines += `${raw[i]}: ${raw[i + 1]}\r\n`;
  client.write(`${lines}\r\n`);
  if (backendHead.length > 0) client.write(backendHead);
  if (head.length > 0) socket.write(head);
  return new Promise((resolve) => {
    let closed = 0;
    const close = () => {
      socket.destroy();
      client.destroy();
    };
    const onClosed = () => {
      close();
      if (++closed === 2) resolve();
    };
    // nginx proxy_read_timeout applies to a tunnel too: an idle WebSocket is closed after it.
    socket.setTimeout(timeouts.readMs, close);
    socket.on('error', close);
    client.on('error', close);
    socket.once('close', onClosed);
    client.once('close', onClosed);
    socket.pipe(client);
    client.pipe(socket);
  });
}
