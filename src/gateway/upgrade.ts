// WebSocket (and any other HTTP/1.1 Upgrade): guarded and routed like every request, then
// tunnelled by the location's transport (only http has `upgrade`). A tunnel counts as a
// request in flight on its state until either side closes.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { statusFor } from '../errors.js';
import type { UpstreamLocation } from './config.js';
import {
  connectionScheme,
  gatewayRequestFor,
  peerOf,
  type Refused,
  type Routed,
  routeHead,
} from './dispatch.js';
import { rawErrorResponse } from './error-page.js';
import { type Front, holdState, logAccess, releaseState } from './gateway-state.js';
import { upstreamLine } from './proxy.js';
import { Cancellation } from './transport.js';
import type { UpstreamPool } from './upstream-pool.js';

/** The 'upgrade' listener: refuse with a raw answer, or tunnel to a backend; `tunnels` tracks the open ones. */
export function serveUpgrade(
  front: Front,
  tunnels: Set<Duplex>,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const s = front.state;
  const refuse = (status: number, location?: string) => {
    socket.end(rawErrorResponse(status, location));
    logAccess(s, req.socket.remoteAddress, req.method, req.url, { status, bytes: 0 });
  };
  socket.on('error', () => socket.destroy());
  const routed = routeHead(
    s,
    {
      method: req.method ?? '',
      httpVersion: req.httpVersion,
      url: req.url ?? '',
      rawHeaders: req.rawHeaders,
    },
    connectionScheme(req.socket),
  );
  const refusal = upgradeRefusal(routed, front.draining);
  // (upgradeRefusal answers every refused route, so `!routed.ok` only narrows the type.)
  if (refusal !== null || !routed.ok) {
    // ws:// on a listener with redirect_http: 301 to wss://'s https URL, as for any request.
    refuse(refusal ?? 400, routed.ok ? undefined : routed.redirectTo);
    return;
  }
  const loc = routed.route.location as UpstreamLocation;
  const backend = (s.pools.get(loc) as UpstreamPool).pick(new Set(), Date.now());
  if (backend === null || backend.transport.upgrade === undefined) {
    refuse(502);
    return;
  }
  const cancellation = new Cancellation();
  socket.once('close', () => cancellation.abort());
  const request = gatewayRequestFor(
    s,
    routed,
    loc,
    { method: req.method ?? 'GET', peer: peerOf(req.socket), signal: cancellation },
    null,
  );
  const started = performance.now();
  tunnels.add(socket);
  holdState(s);
  backend.transport
    .upgrade(request, socket, head, s.transportTimeouts)
    .then(
      () =>
        logAccess(s, request.remoteAddress, request.method, req.url, {
          status: 101,
          bytes: 0,
          upstreamMs: performance.now() - started,
          upstream: backend.name,
        }),
      (err: unknown) => {
        if (!cancellation.aborted) {
          s.logger.error(`${upstreamLine(backend.name, err)}: upgrade failed`);
          refuse(statusFor(err));
        }
        socket.destroy();
      },
    )
    .finally(() => {
      tunnels.delete(socket);
      releaseState(s);
    });
}

/** The status an Upgrade request is refused with, or null when it may be tunnelled (pure). */
export function upgradeRefusal(routed: Routed | Refused, draining: boolean): number | null {
  if (!routed.ok && routed.by === 'guard') return routed.status;
  if (draining) return 503;
  if (!routed.ok) return routed.status;
  const loc = routed.route.location;
  if (loc.kind !== 'upstream' || !loc.websocket) return 400;
  // An Upgrade request with a body is ambiguous (where would the tunnel start?).
  if (routed.hasBody) return 400;
  return null;
}
