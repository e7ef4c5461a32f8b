// The gateway's front in one process: a TCP server per listen address whose connections all
// belong to the fast lane (fast-lane.ts: the gateway's own HTTP/1.x parser and connection loop;
// node's HTTP parser is not used, so one set of rules reads every request), and per TLS listen
// address a node:tls (or node:http2 secure) server that hands h2 sockets to h2-lane.ts and
// every other TLS socket to a fast lane of its own (the same code as plain HTTP/1.1); hot
// reload (a new GatewayState swapped in; requests in flight finish on the one they started
// with) and graceful shutdown. Each concern has its file: gateway-state.ts (state, reload,
// access entries), fast-lane.ts and h2-lane.ts (the ways a request comes in), dispatch.ts
// (guard → route → static | proxy, for every lane), upgrade.ts. Signals and cluster workers
// live in lifecycle.ts; this file never touches `process`.

import { lstat, unlink } from 'node:fs/promises';
import { createSecureServer, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import {
  type AddressInfo,
  createServer,
  isIPv6,
  type Server as NetServer,
  type Server,
  type Socket,
} from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { StackgenError } from '../errors.js';
import type { GatewayConfig, GatewayTls, ListenAddress } from './config.js';
import { addFastLane, type FastLane } from './fast-lane.js';
import { buildGatewayState, type Front, retireState, type TransportFactory } from './gateway-state.js';
import { serveH2Stream } from './h2-lane.js';
import type { GatewayLogger } from './log.js';
import {
  alpnProtocols,
  certificateWarnings,
  loadTlsMaterial,
  secureContextOptions,
  type TlsMaterial,
} from './tls.js';

export interface GatewayServer {
  /** Listen on every configured address; resolves with their URLs. */
  listen(): Promise<string[]>;
  /**
   * Swap in a new config (router, transports, log, limits) and re-read the TLS certificate
   * and key; listen addresses stay as they are. Rejects (SG_ERR_GATEWAY_TLS), keeping
   * everything as it was, when the new certificate or key cannot be used.
   */
  reload(config: GatewayConfig): Promise<void>;
  /** Stop accepting, let requests in flight finish for up to `graceMs`, then cut the rest. */
  shutdown(graceMs: number): Promise<void>;
}

export interface GatewayServerOptions {
  config: GatewayConfig;
  logger: GatewayLogger;
  createTransport: TransportFactory;
}

function listenUrl(addr: ListenAddress, server: NetServer, scheme: 'http' | 'https'): string {
  if (addr.kind === 'unix') return `${scheme}://unix:${addr.path}`;
  const info = server.address() as AddressInfo | null;
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return `${scheme}://${host}:${info?.port ?? addr.port}`;
}

function addressText(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return `${isIPv6(address.host) ? `[${address.host}]` : address.host}:${address.port}`;
}

/** Bind `server` to `address`; SG_ERR_GATEWAY_LISTEN when the address is taken. */
async function bind(server: NetServer, address: ListenAddress, logger: GatewayLogger): Promise<void> {
  if (address.kind === 'unix') await removeStaleSocket(address.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new StackgenError(
          'SG_ERR_GATEWAY_LISTEN',
          `cannot listen on ${addressText(address)}: ${err.message}`,
          {
            hint: 'is another server using this address?',
            cause: err,
          },
        ),
      );
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      server.on('error', (err) => logger.error(`server error: ${err.message}`));
      resolve();
    };
    if (address.kind === 'unix') server.listen(address.path, done);
    // An IPv6 address listens on IPv6 only (nginx's ipv6only=on): `[::]:80` next to `80`
    // is two listeners on one port, not a dual-stack socket that takes 0.0.0.0:80 too.
    else server.listen({ port: address.port, host: address.host, ipv6Only: isIPv6(address.host) }, done);
  });
}

/** One TLS listener: the socket that accepts, and the server whose fast lane its HTTP/1.1 goes to. */
interface TlsListener {
  secure: TlsServer;
  http1: Server;
}

/** Remove a unix socket file left by a previous run (never a regular file). */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.isSocket()) await unlink(path);
  } catch {}
}

/** Create the gateway front for one process. */
export function createGatewayServer(options: GatewayServerOptions): GatewayServer {
  const { logger, createTransport } = options;
  // The one mutable Front: reload swaps `state`, shutdown sets `draining`.
  const front: { -readonly [K in keyof Front]: Front[K] } = {
    state: buildGatewayState(options.config, logger, createTransport),
    draining: false,
  };
  const servers: Array<{ server: Server; address: ListenAddress }> = [];
  const tlsListeners: TlsListener[] = [];
  const sessions = new Set<Http2Session>();
  const lanes: FastLane[] = [];
  const tunnels = new Set<Duplex>();

  /**
   * The HTTP/1.x server of a listener, not yet bound (plain listeners bind it, TLS ones give it
   * their sockets): a TCP server whose every connection is the fast lane's. allowHalfOpen as
   * node:http had it: a client's FIN is the lane's to answer (fast-lane.ts #end).
   */
  function createHttp1Server(): Server {
    const server = createServer({ allowHalfOpen: true });
    lanes.push(addFastLane(server, front, tunnels));
    return server;
  }

  async function listenOn(address: ListenAddress): Promise<Server> {
    const server = createHttp1Server();
    await bind(server, address, logger);
    return server;
  }

  /**
   * A TLS listener. With http2 it is node:http2's secure server (allowHTTP1: true, so ALPN
   * offers h2 and http/1.1); its 'secureConnection' listener is kept aside and called only for
   * sockets that chose h2. Every other TLS socket (http/1.1, or no ALPN) is given to a fast
   * lane of its own, so HTTP/1.1 over TLS runs exactly the plain HTTP/1.1 code, WebSocket (wss)
   * included.
   */
  async function listenTls(
    address: ListenAddress,
    config: GatewayConfig,
    tls: GatewayTls,
    material: TlsMaterial,
  ): Promise<TlsListener> {
    const http1 = createHttp1Server();
    const options = {
      ...secureContextOptions(material),
      ALPNProtocols: alpnProtocols(tls),
      // The handshake counts against client_header, as in nginx (the head cannot come sooner).
      handshakeTimeout: config.timeouts.clientHeaderMs,
    };
    const secure: TlsServer = tls.http2
      ? createSecureServer({
          ...options,
          allowHTTP1: true,
          maxHeaderListPairs: 512,
          // maxHeaderListSize: the h2 counterpart of max_header_size (RFC 9113 §6.5.2);
          // maxConcurrentStreams: nginx's http2_max_concurrent_streams 128 (node's default is
          // unlimited: one connection could hold any number of backend requests).
          settings: { maxHeaderListSize: config.maxHeaderBytes, maxConcurrentStreams: 128 },
        })
      : createTlsServer(options);
    const [h2Connection] = secure.listeners('secureConnection') as Array<(socket: TLSSocket) => void>;
    secure.removeAllListeners('secureConnection');
    secure.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol === 'h2' && h2Connection !== undefined) h2Connection.call(secure, socket);
      else http1.emit('connection', socket as Socket);
    });
    if (tls.http2) {
      secure.on('stream', (stream: ServerHttp2Stream, headers) => serveH2Stream(front, stream, headers));
      secure.on('session', (session: Http2Session) => {
        sessions.add(session);
        session.setTimeout(front.state.config.timeouts.keepaliveMs, () => session.close());
        session.once('close', () => sessions.delete(session));
        if (front.draining) session.close();
      });
    }
    // A failed handshake (a TLS 1.0 client, a scanner) just closes its socket: node's default.
    await bind(secure, address, logger);
    return { secure, http1 };
  }

  /** Read the certificate and key, warn about what a browser would refuse. */
  async function loadMaterial(config: GatewayConfig): Promise<TlsMaterial | null> {
    if (config.tls === null) return null;
    const material = await loadTlsMaterial(config.tls);
    for (const w of certificateWarnings(material, config.serverName, Date.now()))
      logger.warn(`tls.cert ${config.tls.certFile}: ${w}`);
    return material;
  }

  return {
    async listen() {
      const config = front.state.config;
      // Before any socket is bound: a bad certificate is a startup error, not a failed handshake.
      const material = await loadMaterial(config);
      const urls: string[] = [];
      for (const address of config.listen) {
        const server = await listenOn(address);
        servers.push({ server, address });
        urls.push(listenUrl(address, server, 'http'));
      }
      if (config.tls !== null && material !== null)
        for (const address of config.tls.listen) {
          const listener = await listenTls(address, config, config.tls, material);
          tlsListeners.push(listener);
          urls.push(listenUrl(address, listener.secure, 'https'));
        }
      return urls;
    },

    async reload(config) {
      const old = front.state;
      // A renewed certificate: new handshakes get it, open connections keep the one they
      // negotiated (setSecureContext swaps the context for the next handshake only).
      const material = tlsListeners.length > 0 ? await loadMaterial(config) : null;
      const next = buildGatewayState(config, logger, createTransport);
      front.state = next;
      if (material !== null)
        for (const { secure } of tlsListeners) secure.setSecureContext(secureContextOptions(material));
      else if (config.tls !== null) logger.warn('tls added: restart the gateway to open the TLS listeners');
      else if (tlsListeners.length > 0)
        logger.warn(
          'tls removed: restart the gateway to close the TLS listeners (they keep the old certificate)',
        );
      if (old.config.tls !== null && config.tls !== null && old.config.tls.http2 !== config.tls.http2)
        logger.warn(
          'tls.http2 changed: restart the gateway to apply it (ALPN is fixed when a listener opens)',
        );
      const same = (a: ListenAddress[], b: ListenAddress[]) => JSON.stringify(a) === JSON.stringify(b);
      if (
        !same(old.config.listen, config.listen) ||
        !same(old.config.tls?.listen ?? [], config.tls?.listen ?? [])
      )
        logger.warn('listen addresses changed: restart the gateway to apply them (kept the old ones)');
      await retireState(old);
    },

    async shutdown(graceMs) {
      front.draining = true;
      const listening: NetServer[] = [...servers.map((e) => e.server), ...tlsListeners.map((l) => l.secure)];
      const closed = listening.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      for (const lane of lanes) lane.drain();
      // h2: GOAWAY — streams in flight finish, no new ones start (RFC 9113 §6.8).
      for (const session of sessions) session.close();
      const deadline = setTimeout(() => {
        for (const lane of lanes) lane.destroyAll();
        for (const t of tunnels) t.destroy();
        for (const session of sessions) session.destroy();
      }, graceMs);
      // Tunnels (WebSockets) have no idle moment: like nginx's worker_shutdown_timeout they
      // live until the deadline. Keep-alive connections close after their current response.
      await Promise.all(closed);
      clearTimeout(deadline);
      await retireState(front.state);
    },
  };
}
