// The gateway's HTTP/1.1 front in one process: node:http servers on every listen address,
// the request pipeline (guard → route → static | buffer body → proxy), access logging,
// hot reload (a new router + transports swapped in atomically; requests in flight finish
// on the state they started with) and graceful shutdown. Process-level concerns (signals,
// cluster workers) live in cluster.ts; this file never touches `process`.

import { unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isStackgenError, StackgenError } from '../errors.js';
import { checkDeclaredLength, DEFAULT_MEMORY_LIMIT, discardRequestBody, readRequestBody } from './body.js';
import type { GatewayConfig, GatewayLocation, ListenAddress, UpstreamLocation } from './config.js';
import { type AccessEntry, type AccessLog, type GatewayLogger, openAccessLog } from './log.js';
import {
  nodeResponseSink,
  type ProxyOutcome,
  proxyRequest,
  type ResponseSink,
  rawErrorResponse,
  sendErrorPage,
} from './proxy.js';
import { type GuardAccepted, guardRequest } from './request-guard.js';
import { createRouter, type Router, routeRequest } from './router.js';
import { type FastConnection, FastLane, RawResponseSink, type SimpleHead } from './fast-lane.js';
import { serveStatic } from './static.js';
import {
  Cancellation,
  type GatewayRequest,
  type RequestBody,
  type Transport,
  type TransportTimeouts,
  type UpstreamTarget,
} from './transport.js';
import { createUpstreamPool, type UpstreamPool } from './upstream-pool.js';

export type TransportFactory = (target: UpstreamTarget, logger: GatewayLogger) => Transport;

/** Everything derived from one config; replaced as a whole on reload. */
interface GatewayState {
  config: GatewayConfig;
  router: Router;
  pools: Map<GatewayLocation, UpstreamPool>;
  accessLog: AccessLog;
  transportTimeouts: TransportTimeouts;
  hasWebsocket: boolean;
  /** Requests currently using this state; its pools close when it is retired and idle. */
  inFlight: number;
  retired: boolean;
  onIdle: (() => void) | null;
}

export interface GatewayServer {
  /** Listen on every configured address; resolves with their URLs. */
  listen(): Promise<string[]>;
  /** Swap in a new config (router, transports, log, limits); listen addresses stay as they are. */
  reload(config: GatewayConfig): Promise<void>;
  /** Stop accepting, let requests in flight finish for up to `graceMs`, then cut the rest. */
  shutdown(graceMs: number): Promise<void>;
}

export interface GatewayServerOptions {
  config: GatewayConfig;
  logger: GatewayLogger;
  createTransport: TransportFactory;
}

/** Map a node parser error (server 'clientError') to the status nginx would answer. */
export function statusForClientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }): number | null {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    case 'HPE_HEADER_OVERFLOW':
      // RFC 6585 §5: 431 Request Header Fields Too Large.
      return 431;
    case 'HPE_INVALID_TRANSFER_ENCODING':
      // llhttp reports CL+TE under this code when Content-Length came first: that is the
      // smuggling case (RFC 9112 §6.3, 400); otherwise an unknown/ill-formed transfer coding,
      // which RFC 9112 §6.1 says "SHOULD" get 501.
      return /content-length/i.test(String((err as { reason?: unknown }).reason ?? err.message)) ? 400 : 501;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return 408;
    case 'HPE_INVALID_VERSION': {
      // A well-formed request line with an unknown version: 505 (RFC 9110 §15.6.6); a
      // garbled one: 400.
      const line = err.rawPacket?.toString('latin1') ?? '';
      return /^[A-Z]+ \S+ HTTP\/\d\.\d\r\n/.test(line) ? 505 : 400;
    }
    default:
      return 400;
  }
}

function listenUrl(addr: ListenAddress, server: Server): string {
  if (addr.kind === 'unix') return `http://unix:${addr.path}`;
  const info = server.address() as AddressInfo | null;
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return `http://${host}:${info?.port ?? addr.port}`;
}

/** Remove a unix socket file left by a previous run (never a regular file). */
async function removeStaleSocket(path: string): Promise<void> {
  const { lstat } = await import('node:fs/promises');
  try {
    const st = await lstat(path);
    if (st.isSocket()) await unlink(path);
  } catch {}
}

/** The GatewayRequest for a guarded, routed request on `socket` (one place for all three lanes). */
function gatewayRequestFor(
  config: GatewayConfig,
  method: string,
  guard: GuardAccepted,
  scriptName: string,
  pathInfo: string,
  documentRoot: string,
  socket: Socket,
  body: RequestBody | null,
  signal: Cancellation,
): GatewayRequest {
  return {
    method,
    rawTarget: guard.rawTarget,
    rawPath: guard.rawPath,
    query: guard.query,
    scriptName,
    pathInfo,
    httpVersion: guard.httpVersion,
    rawHeaders: guard.rawHeaders,
    host: guard.host ?? config.serverName,
    scheme: 'http',
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    serverAddress: socket.localAddress ?? '',
    serverPort: socket.localPort ?? 0,
    serverName: config.serverName,
    documentRoot,
    body,
    signal,
  };
}

/** Raw header pairs as a record of lower-case names (repeats joined with ", "), for static files. */
function headerRecord(rawHeaders: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}

/** Create the gateway front for one process. */
export function createGatewayServer(options: GatewayServerOptions): GatewayServer {
  const { logger, createTransport } = options;
  let state = buildState(options.config);
  let draining = false;
  const servers: Array<{ server: Server; address: ListenAddress }> = [];
  const tunnels = new Set<Duplex>();

  function buildState(config: GatewayConfig): GatewayState {
    const pools = new Map<GatewayLocation, UpstreamPool>();
    for (const loc of config.locations)
      if (loc.kind === 'upstream')
        pools.set(
          loc,
          createUpstreamPool(loc, (target) => createTransport(target, logger)),
        );
    return {
      config,
      router: createRouter(config.locations),
      pools,
      accessLog: openAccessLog(config.accessLog),
      transportTimeouts: {
        connectMs: config.timeouts.connectMs,
        readMs: config.timeouts.readMs,
        sendMs: config.timeouts.sendMs,
      },
      hasWebsocket: config.locations.some((l) => l.kind === 'upstream' && l.websocket),
      inFlight: 0,
      retired: false,
      onIdle: null,
    };
  }

  async function closeState(s: GatewayState): Promise<void> {
    await Promise.allSettled([...s.pools.values()].map((p) => p.close()));
    await s.accessLog.close();
  }

  function release(s: GatewayState): void {
    s.inFlight--;
    if (s.retired && s.inFlight === 0) s.onIdle?.();
  }

  async function retire(s: GatewayState): Promise<void> {
    s.retired = true;
    if (s.inFlight > 0) await new Promise<void>((resolve) => (s.onIdle = resolve));
    await closeState(s);
  }

  function log(s: GatewayState, entry: AccessEntry): void {
    s.accessLog.write(entry);
  }

  // -------------------------------------------------------------------------------------
  // The request pipeline

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const s = state;
    s.inFlight++;
    if (draining) res.shouldKeepAlive = false;
    const finish = () => {
      release(s);
      if (draining && !req.socket.destroyed) req.socket.end();
    };
    handle(s, req, res).then(
      (outcome) => {
        if (s.accessLog.enabled)
          log(s, {
            remote: req.socket.remoteAddress ?? '-',
            method: req.method ?? '-',
            target: req.url ?? '-',
            status: outcome.status,
            bytes: outcome.bytes,
            upstreamMs: outcome.upstreamMs,
            upstream: outcome.upstream,
          });
        finish();
      },
      (err: unknown) => {
        logger.error(
          `internal error for "${req.method} ${req.url}": ${err instanceof Error ? err.stack : err}`,
        );
        sendErrorPage(res, 500);
        finish();
      },
    );
  }

  async function handle(s: GatewayState, req: IncomingMessage, res: ServerResponse): Promise<ProxyOutcome> {
    const local = (status: number, extra?: Record<string, string>): ProxyOutcome => ({
      ...sendErrorPage(res, status, extra),
      upstreamMs: null,
      upstream: null,
    });
    const guard = guardRequest({
      method: req.method ?? '',
      httpVersion: req.httpVersion,
      url: req.url ?? '',
      rawHeaders: req.rawHeaders,
    });
    // A refused request may carry a body we will not read: close rather than resync.
    if (!guard.ok) return local(guard.status, { Connection: 'close' });
    const route = routeRequest(s.router, guard.path, guard.pathKeepingEncodedSlashes);
    if (!route.ok) {
      const hasBody = guard.chunked || (guard.contentLength ?? 0) > 0;
      return local(route.status, hasBody || route.status === 400 ? { Connection: 'close' } : {});
    }
    const loc = route.location;
    if (loc.kind === 'static') {
      req.resume();
      const r = await serveStatic(
        { method: req.method ?? 'GET', headers: req.headers },
        nodeResponseSink(res),
        loc,
        guard.path,
        s.config.securityHeaders,
      );
      return { ...r, upstreamMs: null, upstream: null };
    }
    return proxyToLocation(s, req, res, guard, loc, route.scriptName, route.pathInfo);
  }

  async function proxyToLocation(
    s: GatewayState,
    req: IncomingMessage,
    res: ServerResponse,
    guard: GuardAccepted,
    loc: UpstreamLocation,
    scriptName: string,
    pathInfo: string,
  ): Promise<ProxyOutcome> {
    const cfg = s.config;
    const tooBig = checkDeclaredLength(guard.contentLength, cfg.maxBodyBytes);
    if (tooBig !== null) return refuseBody(res, 413);
    const cancellation = new Cancellation();
    const onClose = () => {
      if (!res.writableFinished) cancellation.abort();
    };
    res.once('close', onClose);
    const hasBody = guard.chunked || (guard.contentLength ?? 0) > 0;
    let body: RequestBody | null = null;
    try {
      if (hasBody) {
        try {
          body = await readRequestBody(req, {
            maxBytes: cfg.maxBodyBytes,
            timeoutMs: cfg.timeouts.clientBodyMs,
            memoryLimit: DEFAULT_MEMORY_LIMIT,
          });
        } catch (err) {
          if (isStackgenError(err, 'SG_ERR_CLIENT_BODY_TOO_LARGE')) return refuseBody(res, 413);
          if (isStackgenError(err, 'SG_ERR_CLIENT_TIMEOUT')) return refuseBody(res, 408);
          res.destroy();
          return { status: 499, bytes: 0, upstreamMs: null, upstream: null };
        }
      }
      const request = gatewayRequestFor(
        cfg,
        req.method ?? 'GET',
        guard,
        scriptName,
        pathInfo,
        loc.documentRoot,
        req.socket,
        body,
        cancellation,
      );
      return await proxyTo(s, loc, nodeResponseSink(res), request, true);
    } finally {
      res.off('close', onClose);
      if (body !== null) void discardRequestBody(body);
    }
  }

  /** RFC 3875 §6.2.2: re-dispatch a CGI local redirect as a GET without body, once. */
  async function localRedirect(
    s: GatewayState,
    sink: ResponseSink,
    original: GatewayRequest,
    target: string,
  ): Promise<ProxyOutcome> {
    const guard = guardRequest({
      method: 'GET',
      httpVersion: original.httpVersion,
      url: target,
      rawHeaders: ['Host', original.host],
    });
    if (!guard.ok) return { ...sink.sendError(500), upstreamMs: null, upstream: null };
    const route = routeRequest(s.router, guard.path, guard.pathKeepingEncodedSlashes);
    if (!route.ok) return { ...sink.sendError(route.status), upstreamMs: null, upstream: null };
    const loc = route.location;
    if (loc.kind === 'static') {
      const r = await serveStatic(
        { method: 'GET', headers: {} },
        sink,
        loc,
        guard.path,
        s.config.securityHeaders,
      );
      return { ...r, upstreamMs: null, upstream: null };
    }
    const request: GatewayRequest = {
      ...original,
      method: 'GET',
      rawTarget: guard.rawTarget,
      rawPath: guard.rawPath,
      query: guard.query,
      scriptName: route.scriptName,
      pathInfo: route.pathInfo,
      rawHeaders: original.rawHeaders.filter((_, i, all) => {
        const name = (i % 2 === 0 ? all[i] : all[i - 1]) as string;
        return !/^(content-length|content-type|transfer-encoding)$/i.test(name);
      }),
      body: null,
    };
    return proxyTo(s, loc, sink, request, false);
  }

  /**
   * The proxy core for one upstream location; a CGI local redirect (RFC 3875 §6.2.2) is
   * followed once through the router, a second one is a 500.
   */
  function proxyTo(
    s: GatewayState,
    loc: UpstreamLocation,
    sink: ResponseSink,
    request: GatewayRequest,
    followLocalRedirect: boolean,
  ): Promise<ProxyOutcome> {
    return proxyRequest({
      sink,
      request,
      pool: s.pools.get(loc) as UpstreamPool,
      timeouts: s.transportTimeouts,
      securityHeaders: s.config.securityHeaders,
      logger,
      allowLocalRedirect: followLocalRedirect,
      redispatch: followLocalRedirect
        ? (path) => localRedirect(s, sink, request, path)
        : async () => ({ ...sink.sendError(500), upstreamMs: null, upstream: null }),
    });
  }

  /**
   * 413/408 before the body was read: answer, then close. Lingering close (as nginx):
   * half-close and drop what the client still sends for a moment, so it can read our answer
   * instead of getting a reset, without reading a whole oversized upload.
   */
  function refuseBody(res: ServerResponse, status: 413 | 408): ProxyOutcome {
    const out = sendErrorPage(res, status, { Connection: 'close' });
    const socket = res.req.socket;
    res.once('finish', () => {
      socket.end();
      setTimeout(() => socket.destroy(), 2_000).unref();
    });
    return { ...out, upstreamMs: null, upstream: null };
  }

  // -------------------------------------------------------------------------------------
  // The fast lane (fast-lane.ts): plain GET/HEAD requests without node:http's objects

  const lanes: FastLane[] = [];

  function serveFast(head: SimpleHead, conn: FastConnection): Promise<boolean> | null {
    if (draining) return null;
    const s = state;
    const guard = guardRequest({
      method: head.method,
      httpVersion: head.httpVersion,
      url: head.target,
      rawHeaders: head.rawHeaders,
    });
    // Refusals (and their log lines) stay with node:http, which sees the same bytes.
    if (!guard.ok) return null;
    const route = routeRequest(s.router, guard.path, guard.pathKeepingEncodedSlashes);
    if (!route.ok) return null;
    const socket = conn.socket;
    const sink = new RawResponseSink(socket, {
      method: head.method,
      httpVersion: head.httpVersion,
      keepAlive: head.keepAlive,
      keepAliveSeconds: Math.floor(s.config.timeouts.keepaliveMs / 1000),
    });
    const loc = route.location;
    s.inFlight++;
    let work: Promise<ProxyOutcome>;
    if (loc.kind === 'static') {
      work = serveStatic(
        { method: head.method, headers: headerRecord(guard.rawHeaders) },
        sink,
        loc,
        guard.path,
        s.config.securityHeaders,
      ).then((r) => ({ ...r, upstreamMs: null, upstream: null }));
    } else {
      const cancellation = new Cancellation();
      conn.onAbort = () => cancellation.abort();
      const request = gatewayRequestFor(
        s.config,
        head.method,
        guard,
        route.scriptName,
        route.pathInfo,
        loc.documentRoot,
        socket,
        null,
        cancellation,
      );
      work = proxyTo(s, loc, sink, request, true);
    }
    return work.then(
      (outcome) => {
        if (s.accessLog.enabled)
          log(s, {
            remote: socket.remoteAddress ?? '-',
            method: head.method,
            target: head.target,
            status: outcome.status,
            bytes: outcome.bytes,
            upstreamMs: outcome.upstreamMs,
            upstream: outcome.upstream,
          });
        release(s);
        return sink.keepAlive && !draining;
      },
      (err: unknown) => {
        logger.error(
          `internal error for "${head.method} ${head.target}": ${err instanceof Error ? err.stack : err}`,
        );
        sink.sendError(500, { Connection: 'close' });
        release(s);
        return false;
      },
    );
  }

  /**
   * Put the fast lane in front of node:http on `server`: node's own 'connection' listener is
   * kept aside and called for the sockets the fast lane hands over ('connection' is node's
   * documented way to inject a socket into an http.Server).
   */
  function addFastLane(server: Server): void {
    const [nodeConnection] = server.listeners('connection') as Array<(socket: Socket) => void>;
    if (nodeConnection === undefined) return;
    server.removeListener('connection', nodeConnection);
    const lane = new FastLane({
      maxHeaderBytes: () => state.config.maxHeaderBytes,
      headerTimeoutMs: () => state.config.timeouts.clientHeaderMs,
      keepAliveMs: () => state.config.timeouts.keepaliveMs,
      serve: serveFast,
      handOver: (socket) => nodeConnection.call(server, socket),
    });
    lanes.push(lane);
    server.on('connection', (socket: Socket) => lane.accept(socket));
  }

  // -------------------------------------------------------------------------------------
  // Upgrade (WebSocket) and parser errors

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const s = state;
    const refuse = (status: number) => {
      socket.end(rawErrorResponse(status));
      log(s, {
        remote: req.socket.remoteAddress ?? '-',
        method: req.method ?? '-',
        target: req.url ?? '-',
        status,
        bytes: 0,
        upstreamMs: null,
        upstream: null,
      });
    };
    socket.on('error', () => socket.destroy());
    const guard = guardRequest({
      method: req.method ?? '',
      httpVersion: req.httpVersion,
      url: req.url ?? '',
      rawHeaders: req.rawHeaders,
    });
    if (!guard.ok) {
      refuse(guard.status);
      return;
    }
    if (draining) {
      refuse(503);
      return;
    }
    const route = routeRequest(s.router, guard.path, guard.pathKeepingEncodedSlashes);
    if (!route.ok) {
      refuse(route.status);
      return;
    }
    const loc = route.location;
    if (loc.kind !== 'upstream' || !loc.websocket) {
      refuse(400);
      return;
    }
    if (guard.chunked || (guard.contentLength ?? 0) > 0) {
      refuse(400);
      return;
    }
    const pool = s.pools.get(loc) as UpstreamPool;
    const backend = pool.pick(new Set(), Date.now());
    if (backend === null || backend.transport.upgrade === undefined) {
      refuse(502);
      return;
    }
    const cancellation = new Cancellation();
    socket.once('close', () => cancellation.abort());
    const request = gatewayRequestFor(
      s.config,
      req.method ?? 'GET',
      guard,
      route.scriptName,
      route.pathInfo,
      loc.documentRoot,
      req.socket,
      null,
      cancellation,
    );
    const started = performance.now();
    tunnels.add(socket);
    s.inFlight++;
    backend.transport
      .upgrade(request, socket, head, s.transportTimeouts)
      .then(
        () =>
          log(s, {
            remote: request.remoteAddress,
            method: request.method,
            target: req.url ?? '-',
            status: 101,
            bytes: 0,
            upstreamMs: performance.now() - started,
            upstream: backend.name,
          }),
        (err: unknown) => {
          if (!cancellation.aborted) {
            logger.error(
              `upstream ${backend.name}: upgrade failed: ${err instanceof Error ? err.message : err}`,
            );
            refuse(isStackgenError(err, 'SG_ERR_UPSTREAM_TIMEOUT') ? 504 : 502);
          }
          socket.destroy();
        },
      )
      .finally(() => {
        tunnels.delete(socket);
        release(s);
      });
  }

  function onClientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
    const status = statusForClientError(err);
    const inProgress = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (status === null || !socket.writable || inProgress?.headersSent) {
      // A response is already on its way (or the peer is gone): let it flush, then close.
      if (socket.writable) socket.end();
      else socket.destroy();
      return;
    }
    socket.end(rawErrorResponse(status));
    const line = err.rawPacket?.toString('latin1').split('\r\n', 1)[0] ?? '';
    const [method = '-', target = '-'] = line.split(' ');
    log(state, {
      remote: (socket as Socket).remoteAddress ?? '-',
      method: method.slice(0, 32),
      target: target.slice(0, 256),
      status,
      bytes: 0,
      upstreamMs: null,
      upstream: null,
    });
  }

  function configureServer(server: Server, config: GatewayConfig): void {
    // headersTimeout is nginx client_header_timeout: the whole head must arrive in time
    // (slowloris). requestTimeout stays off on purpose: it would also cap the *body* upload
    // time, while nginx's client_body_timeout — enforced in body.ts — is between two reads.
    server.headersTimeout = config.timeouts.clientHeaderMs;
    server.requestTimeout = 0;
    server.keepAliveTimeout = config.timeouts.keepaliveMs;
    server.timeout = 0;
  }

  function syncUpgradeListener(server: Server, enabled: boolean): void {
    // With an 'upgrade' listener node hands every Upgrade request to it; without one it
    // treats them as ordinary requests (h2c probes keep working where WebSocket is off).
    server.removeListener('upgrade', onUpgrade);
    if (enabled) server.on('upgrade', onUpgrade);
  }

  return {
    async listen() {
      const config = state.config;
      const urls: string[] = [];
      for (const address of config.listen) {
        const server = createServer(
          {
            insecureHTTPParser: false,
            maxHeaderSize: config.maxHeaderBytes,
            requireHostHeader: false,
            joinDuplicateHeaders: false,
            connectionsCheckingInterval: Math.min(1_000, config.timeouts.clientHeaderMs),
          },
          onRequest,
        );
        configureServer(server, config);
        syncUpgradeListener(server, state.hasWebsocket);
        addFastLane(server);
        server.on('clientError', onClientError);
        server.on('connect', (req: IncomingMessage, socket: Duplex) => {
          // CONNECT is for forward proxies; an origin gateway refuses it (nginx: 405).
          socket.end(rawErrorResponse(405));
          void req;
        });
        if (address.kind === 'unix') await removeStaleSocket(address.path);
        await new Promise<void>((resolve, reject) => {
          const onError = (err: NodeJS.ErrnoException) =>
            reject(
              new StackgenError(
                'SG_ERR_GATEWAY_LISTEN',
                `cannot listen on ${address.kind === 'unix' ? `unix:${address.path}` : `${address.host}:${address.port}`}: ${err.message}`,
                { hint: 'is another server using this address?', cause: err },
              ),
            );
          server.once('error', onError);
          const done = () => {
            server.off('error', onError);
            server.on('error', (err) => logger.error(`server error: ${err.message}`));
            resolve();
          };
          if (address.kind === 'unix') server.listen(address.path, done);
          else server.listen(address.port, address.host, done);
        });
        servers.push({ server, address });
        urls.push(listenUrl(address, server));
      }
      return urls;
    },

    async reload(config) {
      const old = state;
      const next = buildState(config);
      state = next;
      for (const { server } of servers) {
        configureServer(server, config);
        syncUpgradeListener(server, next.hasWebsocket);
      }
      const same = (a: ListenAddress[], b: ListenAddress[]) => JSON.stringify(a) === JSON.stringify(b);
      if (!same(old.config.listen, config.listen))
        logger.warn('listen addresses changed: restart the gateway to apply them (kept the old ones)');
      await retire(old);
    },

    async shutdown(graceMs) {
      draining = true;
      const closed = servers.map(
        ({ server }) => new Promise<void>((resolve) => server.close(() => resolve())),
      );
      for (const { server } of servers) server.closeIdleConnections();
      for (const lane of lanes) lane.drain();
      const deadline = setTimeout(() => {
        for (const { server } of servers) server.closeAllConnections();
        for (const lane of lanes) lane.destroyAll();
        for (const t of tunnels) t.destroy();
      }, graceMs);
      // Tunnels (WebSockets) have no idle moment: like nginx's worker_shutdown_timeout they
      // live until the deadline. Keep-alive connections close after their current response.
      await Promise.all(closed);
      clearTimeout(deadline);
      const s = state;
      await retire(s);
    },
  };
}
