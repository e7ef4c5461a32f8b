// The node:http lane: every request the fast lane does not take (a body, an Upgrade-less
// oddity, a refusal) arrives here as node's IncomingMessage / ServerResponse. This file reads
// the body (body.ts) and answers refusals; guard → route → static | proxy is dispatch.ts's.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { statusFor } from '../errors.js';
import { inOrder, type NodeConnection, nodeConnectionOf } from './connection-order.js';
import { checkDeclaredLength, DEFAULT_MEMORY_LIMIT, readRequestBody } from './body.js';
import { type BodySource, dispatch, peerOf, routeIncoming } from './dispatch.js';
import { sendErrorPage } from './error-page.js';
import {
  type Front,
  type GatewayState,
  holdState,
  logAccess,
  logInternalError,
  releaseState,
} from './gateway-state.js';
import type { ProxyOutcome } from './proxy.js';
import { nodeResponseSink } from './response-sink.js';
import { Cancellation } from './transport.js';

/** How long a refused upload may keep sending after our answer before the socket is cut. */
const LINGER_MS = 2_000;

/**
 * The 'request' listener of every node:http server of the gateway. Requests of one connection
 * are served one after another, and none after an answer that closes (connection-order.ts).
 */
export function serveNodeRequest(front: Front, req: IncomingMessage, res: ServerResponse): void {
  const conn = nodeConnectionOf(req.socket);
  if (conn.closing) return;
  conn.last = req;
  inOrder(conn, () => serveInOrder(front, conn, req, res));
}

async function serveInOrder(
  front: Front,
  conn: NodeConnection,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const s = front.state;
  holdState(s);
  if (front.draining) res.shouldKeepAlive = false;
  try {
    const outcome = await handle(s, conn, req, res);
    logAccess(s, req.socket.remoteAddress, req.method, req.url, outcome);
  } catch (err) {
    logInternalError(s, `${req.method}`, `${req.url}`, err);
    sendErrorPage(res, 500, { Connection: 'close' });
    conn.closing = true;
  } finally {
    releaseState(s);
    // An answer that ends the connection (HTTP/1.0, the client's `close`, draining): the
    // requests node parsed behind it are not served.
    if (!res.shouldKeepAlive || req.socket.destroyed) conn.closing = true;
    if (front.draining && !req.socket.destroyed) req.socket.end();
  }
}

async function handle(
  s: GatewayState,
  conn: NodeConnection,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<ProxyOutcome> {
  const routed = routeIncoming(s, req);
  if (!routed.ok) {
    // A refused request may carry a body we will not read: close rather than resync. And a
    // refused head means its framing is not to be trusted either: what node parsed after it
    // is dropped (conn.closing), never forwarded.
    const close = routed.by !== 'route' || routed.hasBody || routed.status === 400;
    if (close) conn.closing = true;
    const extra = {
      ...(close ? { Connection: 'close' } : {}),
      ...(routed.redirectTo === undefined ? {} : { Location: routed.redirectTo }),
    };
    return { ...sendErrorPage(res, routed.status, extra), ...LOCAL };
  }
  const cancellation = new Cancellation();
  const onClose = () => {
    if (!res.writableFinished) cancellation.abort();
  };
  res.once('close', onClose);
  try {
    return await dispatch(s, routed, {
      method: req.method ?? 'GET',
      peer: peerOf(req.socket),
      sink: nodeResponseSink(res),
      signal: cancellation,
      staticHeaders: () => req.headers,
      body: nodeBody(s, conn, req, res),
      mayRedirect: true,
    });
  } finally {
    res.off('close', onClose);
  }
}

const LOCAL = { upstreamMs: null, upstream: null } as const;

/** The body of a node:http request, read whole before a backend is contacted (body.ts). */
function nodeBody(
  s: GatewayState,
  conn: NodeConnection,
  req: IncomingMessage,
  res: ServerResponse,
): BodySource {
  return {
    discard: () => req.resume(),
    async read(guard) {
      const cfg = s.config;
      const tooLarge = checkDeclaredLength(guard.contentLength, cfg.maxBodyBytes);
      if (tooLarge !== null) return refuseBody(conn, res, statusFor(tooLarge));
      try {
        return await readRequestBody(req, {
          maxBytes: cfg.maxBodyBytes,
          timeoutMs: cfg.timeouts.clientBodyMs,
          memoryLimit: DEFAULT_MEMORY_LIMIT,
        });
      } catch (err) {
        const status = statusFor(err);
        if (status === 413 || status === 408 || status === 400) return refuseBody(conn, res, status);
        // The client went away (499) or the spill file failed: nobody to answer.
        conn.closing = true;
        res.destroy();
        return { status: 499, bytes: 0, ...LOCAL };
      }
    },
  };
}

/**
 * 413/408/400 (a malformed chunked body) before the body was read: answer, then close.
 * Lingering close (as nginx): half-close and drop what the client still sends for a moment, so
 * it can read our answer instead of getting a reset, without reading a whole oversized upload.
 */
function refuseBody(conn: NodeConnection, res: ServerResponse, status: number): ProxyOutcome {
  conn.closing = true;
  const out = sendErrorPage(res, status, { Connection: 'close' });
  const socket = res.req.socket;
  res.once('finish', () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  });
  return { ...out, ...LOCAL };
}
