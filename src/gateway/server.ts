// The gateway's HTTP/1.1 front in one process: a node:http server per listen address with the
// fast lane in front of it, hot reload (a new GatewayState swapped in; requests in flight
// finish on the one they started with) and graceful shutdown. Each concern has its file:
// gateway-state.ts (state, reload, access entries), node-lane.ts and fast-lane.ts (the two
// ways a request comes in), dispatch.ts (guard → route → static | proxy, for every lane),
// upgrade.ts, client-errors.ts. Signals and cluster workers live in lifecycle.ts; this file
// never touches `process`.

import { lstat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, isIPv6, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { StackgenError } from '../errors.js';
import { afterPending, nodeConnectionOf } from './connection-order.js';
import { answerClientError, type ClientError, refuseConnect } from './client-errors.js';
import type { GatewayConfig, ListenAddress } from './config.js';
import { addFastLane, type FastLane } from './fast-lane.js';
import { buildGatewayState, type Front, retireState, type TransportFactory } from './gateway-state.js';
import type { GatewayLogger } from './log.js';
import { serveNodeRequest } from './node-lane.js';
import { serveUpgrade } from './upgrade.js';

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

function listenUrl(addr: ListenAddress, server: Server): string {
  if (addr.kind === 'unix') return `http://unix:${addr.path}`;
  const info = server.address() as AddressInfo | null;
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return `http://${host}:${info?.port ?? addr.port}`;
}

/** Remove a unix socket file left by a previous run (never a regular file). */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.isSocket()) await unlink(path);
  } catch {}
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

/** Create the gateway front for one process. */
export function createGatewayServer(options: GatewayServerOptions): GatewayServer {
  const { logger, createTransport } = options;
  // The one mutable Front: reload swaps `state`, shutdown sets `draining`.
  const front: { -readonly [K in keyof Front]: Front[K] } = {
    state: buildGatewayState(options.config, logger, createTransport),
    draining: false,
  };
  const servers: Array<{ server: Server; address: ListenAddress }> = [];
  const lanes: FastLane[] = [];
  const tunnels = new Set<Duplex>();

  const onRequest = (req: IncomingMessage, res: ServerResponse) => serveNodeRequest(front, req, res);
  const onClientError = (err: ClientError, socket: Duplex) => answerClientError(front, err, socket);

  async function listenOn(address: ListenAddress, config: GatewayConfig): Promise<Server> {
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
    const lane = addFastLane(server, front);
    if (lane !== null) lanes.push(lane);
    // Always listened for: without a listener node serves an Upgrade request as an ordinary
    // one but drops every byte after its head (pipelined requests never answered). With it,
    // a request that is not tunnelled starts over as a plain request (upgrade.ts).
    // node emits 'upgrade' as soon as the head is parsed, even behind a request still being
    // answered on the connection: the upgrade waits for those answers (connection-order.ts).
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const conn = nodeConnectionOf(socket);
      afterPending(conn, () => {
        if (conn.closing) socket.end();
        else
          serveUpgrade(front, tunnels, req, socket, head, (s, bytes) =>
            lane === null ? s.destroy() : lane.restart(s as Socket, bytes),
          );
      });
    });
    server.on('clientError', onClientError);
    server.on('connect', refuseConnect);
    if (address.kind === 'unix') await removeStaleSocket(address.path);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(
          new StackgenError(
            'SG_ERR_GATEWAY_LISTEN',
            `cannot listen on ${address.kind === 'unix' ? `unix:${address.path}` : `${isIPv6(address.host) ? `[${address.host}]` : address.host}:${address.port}`}: ${err.message}`,
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
      // An IPv6 address listens on IPv6 only (nginx's ipv6only=on): `[::]:80` next to `80`
      // is two listeners on one port, not a dual-stack socket that takes 0.0.0.0:80 too.
      else server.listen({ port: address.port, host: address.host, ipv6Only: isIPv6(address.host) }, done);
    });
    return server;
  }

  return {
    async listen() {
      const config = front.state.config;
      const urls: string[] = [];
      for (const address of config.listen) {
        const server = await listenOn(address, config);
        servers.push({ server, address });
        urls.push(listenUrl(address, server));
      }
      return urls;
    },

    async reload(config) {
      const old = front.state;
      const next = buildGatewayState(config, logger, createTransport);
      front.state = next;
      for (const { server } of servers) {
        configureServer(server, config);
      }
      const same = (a: ListenAddress[], b: ListenAddress[]) => JSON.stringify(a) === JSON.stringify(b);
      if (!same(old.config.listen, config.listen))
        logger.warn('listen addresses changed: restart the gateway to apply them (kept the old ones)');
      await retireState(old);
    },

    async shutdown(graceMs) {
      front.draining = true;
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
      await retireState(front.state);
    },
  };
}
