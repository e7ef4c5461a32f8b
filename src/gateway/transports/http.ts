// HTTP/1.1 to a backend (nginx proxy_pass with proxy_http_version 1.1 and an upstream
// keepalive pool). The gateway is the edge: the client's own X-Forwarded-* and X-Real-IP are
// replaced, not trusted, and `Proxy` is dropped (httpoxy, CVE-2016-5385). Upgrade requests
// (WebSocket) are tunnelled byte for byte once the backend answers 101.

import { createReadStream } from 'node:fs';
import { Agent, type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { createConnection, type NetConnectOpts, type Socket } from 'node:net';
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
import * as failure from './upstream-failure.js';
import { PhaseTimer } from './phase-timer.js';

export interface HttpTransportOptions {
  logger: GatewayLogger;
  /** Upper bound of concurrent connections to this backend (per gateway worker). */
  maxSockets?: number | undefined;
  /** Idle connections kept for reuse (nginx `keepalive N`). */
  maxFreeSockets?: number | undefined;
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

/** Create the HTTP transport for one backend. */
export function createHttpTransport(target: UpstreamTarget, options: HttpTransportOptions): Transport {
  const address = target.address;
  if (address.kind === 'script')
    throw new StackgenError('SG_ERR_INTERNAL', 'http transport needs a socket address');
  const agent = new Agent({
    keepAlive: true,
    maxSockets: options.maxSockets ?? 1024,
    maxFreeSockets: options.maxFreeSockets ?? 128,
    scheduling: 'lifo',
  });
  // A backend connection is opened without TCP keepalive options (node's Agent sets
  // SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT on every socket it creates with
  // keepAlive on: four setsockopt calls per connection, i.e. per request for a backend that
  // closes after each answer, as gunicorn's sync workers do). nginx's default is the same:
  // proxy_socket_keepalive off. A connection the pool keeps still gets node's keepalive once,
  // when it is first kept (Agent#keepSocketAlive); a dead pooled one is retried (retryOnStale).
  agent.createConnection = (opts) => createConnection({ ...(opts as NetConnectOpts), keepAlive: false });
  const location =
    address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };

  function send(
    req: GatewayRequest,
    timeouts: TransportTimeouts,
    upgrade: string | null,
    onUpgrade: ((res: IncomingMessage, socket: Socket, head: Buffer) => void) | null,
    retryOnStale: boolean,
    /** A connection of its own, not the pool's (the retry of a request a stale one lost). */
    fresh = false,
  ): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      let connected = false;
      let settled = false;
      let creq: ClientRequest;
      try {
        creq = httpRequest({
          ...location,
          agent: upgrade === null && !fresh ? agent : false,
          method: req.method,
          path: req.rawTarget,
          headers: backendRequestHeaders(req, upgrade),
          setHost: false,
          insecureHTTPParser: false,
          // Response heads up to 64 KiB, as the CGI-style transports take (Node's default
          // 16 KiB refuses a backend's big Set-Cookie/CSP/Link heads that nginx passes).
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
        if (!socket.connecting) {
          connected = true;
          return;
        }
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
      // Idle time on the backend socket: proxy_send_timeout while the request is written, then
      // proxy_read_timeout while waiting for and reading the answer (both "between two operations").
      // (node arms a request's timeout on its socket once connected: the connect phase is the
      // timer above.)
      const timer = new PhaseTimer((ms) => creq.setTimeout(ms), timeouts, 'send');
      creq.on('timeout', () => {
        const err = timer.timedOut({ target, sentAnything: connected });
        if (!settled) fail(err);
        else creq.destroy(err);
      });
      timer.arm();
      // Request fully written: from now on the read timeout applies.
      creq.once('finish', () => timer.enter('read'));
      creq.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        // A pooled connection the backend closed while idle: the request never reached the
        // app, so it is safe to send it again on a fresh connection (once). Not the pool's next
        // one: a backend reload (gunicorn's SIGHUP) closes every old worker's kept-alive
        // connection at once, and the next pooled one is as stale as the first.
        if (retryOnStale && creq.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          settled = true;
          req.signal.removeEventListener('abort', onAbort);
          send(req, timeouts, upgrade, onUpgrade, false, true).then(resolve, reject);
          return;
        }
        fail(classify(err, connected, target));
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
      if (onUpgrade !== null)
        creq.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
          if (settled) return socket.destroy();
          settled = true;
          req.signal.removeEventListener('abort', onAbort);
          onUpgrade(res, socket, head);
          resolve({ status: 101, headers: [], body: res });
        });

      const body = req.body;
      if (body === null) creq.end();
      else if (body.kind === 'memory') {
        // One write for head + body when the body is a single chunk (node merges them).
        const n = body.chunks.length;
        for (let i = 0; i < n - 1; i++) creq.write(body.chunks[i] as Buffer);
        creq.end(body.chunks[n - 1]);
      } else {
        const file = createReadStream(body.path);
        file.on('error', (err) =>
          fail(
            failure.withFacts(
              new StackgenError('SG_ERR_INTERNAL', `cannot read buffered body ${body.path}`, { cause: err }),
              { target, sentAnything: connected },
            ),
          ),
        );
        file.pipe(creq);
      }
    });
  }

  return {
    scheme: target.scheme,
    target,
    request: (req, timeouts) => send(req, timeouts, null, null, true),

    async upgrade(
      req: GatewayRequest,
      client: Duplex,
      head: Buffer,
      timeouts: TransportTimeouts,
    ): Promise<void> {
      const upgradeValue = headerValue(req.rawHeaders, 'upgrade') ?? 'websocket';
      let tunnelClosed: Promise<void> | null = null;
      const res = await send(
        req,
        timeouts,
        upgradeValue,
        (backendRes, socket, backendHead) => {
          tunnelClosed = tunnel(backendRes, socket, backendHead, client, head, timeouts);
        },
        false,
      );
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

    async close() {
      agent.destroy();
    },
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
