// Everything the gateway derives from one config — router, upstream pools, access log,
// timeouts — as one value that a reload replaces whole. A request holds the state it started
// with until it is answered, so a reload never changes the rules under a request in flight;
// a retired state closes its pools and its log once the last of its requests is done.

import type { BlockList } from 'node:net';
import type { GatewayConfig, GatewayLocation } from './config.js';
import { trustedProxyList } from './forwarding.js';
import { type AccessLog, escapeLogField, type GatewayLogger, openAccessLog } from './log.js';
import type { ProxyOutcome } from './proxy.js';
import { createRouter, type Router } from './router.js';
import { hstsValue } from './tls.js';
import type { Transport, TransportTimeouts, UpstreamTarget } from './transport.js';
import { createUpstreamPool, type UpstreamPool } from './upstream-pool.js';

export type TransportFactory = (target: UpstreamTarget, logger: GatewayLogger) => Transport;

/** Everything derived from one config; replaced as a whole on reload. */
export interface GatewayState {
  readonly config: GatewayConfig;
  readonly router: Router;
  readonly pools: ReadonlyMap<GatewayLocation, UpstreamPool>;
  readonly accessLog: AccessLog;
  readonly transportTimeouts: TransportTimeouts;
  /** config.trustedProxies as a matcher; null when the gateway is the edge. */
  readonly trustedProxies: BlockList | null;
  /**
   * tls.redirect_http: where a plain-http request is sent (the https port; null for 443,
   * which a URL leaves out). null: plain listeners serve as usual.
   */
  readonly httpsRedirect: { port: number | null } | null;
  /** securityHeaders for answers on a TLS connection: plus Strict-Transport-Security. */
  readonly httpsSecurityHeaders: Array<[string, string]>;
  readonly logger: GatewayLogger;
  /** Requests currently using this state; its pools close when it is retired and idle. */
  inFlight: number;
  retired: boolean;
  onIdle: (() => void) | null;
}

/**
 * What every lane (fast lane, h2 lane, upgrade) reads when a request comes
 * in: the current state and whether the gateway is draining. Owned by server.ts.
 */
export interface Front {
  readonly state: GatewayState;
  readonly draining: boolean;
}

/** Build the state for one config: a pool of transports per upstream location. */
export function buildGatewayState(
  config: GatewayConfig,
  logger: GatewayLogger,
  createTransport: TransportFactory,
): GatewayState {
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
    trustedProxies: trustedProxyList(config.trustedProxies),
    httpsRedirect: httpsRedirectFor(config),
    httpsSecurityHeaders:
      config.tls?.hsts == null
        ? config.securityHeaders
        : [...config.securityHeaders, ['Strict-Transport-Security', hstsValue(config.tls.hsts)]],
    logger,
    inFlight: 0,
    retired: false,
    onIdle: null,
  };
}

function httpsRedirectFor(config: GatewayConfig): GatewayState['httpsRedirect'] {
  const tls = config.tls;
  if (tls === null || !tls.redirectHttp) return null;
  const first = tls.listen[0];
  const port = first?.kind === 'tcp' ? first.port : 443;
  return { port: port === 443 ? null : port };
}

/** A request starts on `s`: it stays open until the matching releaseState. */
export function holdState(s: GatewayState): void {
  s.inFlight++;
}

/** A request on `s` is answered. */
export function releaseState(s: GatewayState): void {
  s.inFlight--;
  if (s.retired && s.inFlight === 0) s.onIdle?.();
}

/** No new request will use `s`: wait for those in flight, then close its pools and log. */
export async function retireState(s: GatewayState): Promise<void> {
  s.retired = true;
  if (s.inFlight > 0) await new Promise<void>((resolve) => (s.onIdle = resolve));
  await Promise.allSettled([...s.pools.values()].map((p) => p.close()));
  await s.accessLog.close();
}

/** The one access-log entry of a request, whichever lane answered it. */
export function logAccess(
  s: GatewayState,
  remote: string | undefined,
  method: string | undefined,
  target: string | undefined,
  outcome: Pick<ProxyOutcome, 'status' | 'bytes'> & Partial<ProxyOutcome>,
): void {
  if (!s.accessLog.enabled) return;
  s.accessLog.write({
    remote: remote ?? '-',
    method: method ?? '-',
    target: target ?? '-',
    status: outcome.status,
    bytes: outcome.bytes,
    upstreamMs: outcome.upstreamMs ?? null,
    upstream: outcome.upstream ?? null,
  });
}

/** The error line of a request whose handling threw (a gateway bug, not a backend failure). */
export function logInternalError(s: GatewayState, method: string, target: string, err: unknown): void {
  // The method and target are the client's bytes: escaped, as in the access log.
  s.logger.error(
    `internal error for "${escapeLogField(method)} ${escapeLogField(target)}": ${err instanceof Error ? err.stack : err}`,
  );
}
