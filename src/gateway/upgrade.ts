// WebSocket (and any other HTTP/1.1 Upgrade): guarded and routed like every request, then
// tunnelled by the location's transport (only http has `upgrade`). A tunnel counts as a
// request in flight on its state until either side closes. An Upgrade the location does not
// tunnel (h2c, a WebSocket to a plain location) is an ordinary request, as for nginx, which
// forwards Upgrade only where it is configured to: node has already given up the connection
// The fast lane (fast-lane.ts) parsed the head and detached the socket; a location that does
// not tunnel gets the head written again without Upgrade, and the connection starts over in
// the fast lane with every byte that followed.

import type { Socket } from 'node:net';
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

/** An Upgrade request's head as the fast lane parsed it. */
export interface UpgradeHead {
  method: string;
  url: string;
  httpVersion: string;
  rawHeaders: string[];
}

/**
 * Serve an Upgrade head: refuse with a raw answer, tunnel to a backend (`tunnels` tracks the
 * open ones), or hand it back as a plain request. `head` is the bytes that followed it.
 */
export function serveUpgrade(
  front: Front,
  tunnels: Set<Duplex>,
  req: UpgradeHead,
  socket: Socket,
  head: Buffer,
  asPlainRequest: (socket: Duplex, bytes: Buffer) => void,
): void {
  const s = front.state;
  const refuse = (status: number, location?: string) => {
    socket.end(rawErrorResponse(status, location));
    // Nothing after a refused Upgrade is read as a request: drop it, cut after a moment.
    socket.resume();
    setTimeout(() => socket.destroy(), 2_000).unref();
    logAccess(s, socket.remoteAddress, req.method, req.url, { status, bytes: 0 });
  };
  const routed = routeHead(s, req, connectionScheme(socket));
  const refusal = upgradeRefusal(routed, front.draining);
  if (refusal === 'plain') {
    asPlainRequest(socket, Buffer.concat([withoutUpgrade(req), head]));
    return;
  }
  socket.on('error', () => socket.destroy());
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
    { method: req.method, peer: peerOf(socket), signal: cancellation },
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

/**
 * The status an Upgrade request is refused with, null when it may be tunnelled, or 'plain'
 * when its location does not tunnel: then it is served as an ordinary request (pure).
 */
export function upgradeRefusal(routed: Routed | Refused, draining: boolean): number | null | 'plain' {
  if (!routed.ok && routed.by === 'guard') return routed.status;
  if (routed.ok && (routed.route.location.kind !== 'upstream' || !routed.route.location.websocket))
    return 'plain';
  if (draining) return 503;
  if (!routed.ok) return routed.status;
  // An Upgrade request with a body is ambiguous (where would the tunnel start?).
  if (routed.hasBody) return 400;
  return null;
}

/**
 * The head of `req` again, without the Upgrade field and the `upgrade` Connection token
 * (RFC 9110 §7.8: a server "MAY ignore a received Upgrade header field"; both are hop-by-hop),
 * as the bytes it was parsed from (latin1, one char per octet). Pure.
 */
export function withoutUpgrade(req: UpgradeHead): Buffer {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    let value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'upgrade') continue;
    if (lower === 'connection') {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && t.toLowerCase() !== 'upgrade')
        .join(', ');
      if (value === '') continue;
    }
    head += `${name}: ${value}\r\n`;
  }
  return Buffer.from(`${head}\r\n`, 'latin1');
}
