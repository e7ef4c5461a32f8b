// One request at a time per node:http connection, and nothing after a refusal.
//
// node:http parses ahead: every pipelined request in a packet becomes a 'request' event at
// once, even behind one we refuse with `Connection: close`, and llhttp finds the next request
// with the very framing the guard refused (`Transfer-Encoding: gzip, chunked`). Handling them
// as they come would (a) run a request smuggled behind a refusal, (b) send pipelined POSTs to
// the backend in parallel and out of order, and (c) let a parser error on a later request
// overwrite the answer to one the backend already ran. RFC 9112 §9.3.2: "A server MAY process
// a sequence of pipelined requests in parallel if they all have safe methods", so in general
// it may not; nginx reads the next request only after the previous one is answered, and reads
// nothing more after an answer that closes. This file keeps that order for the node:http lane
// (the fast lane is sequential by construction: it parses the next head only when idle).

/** The node:http lane's view of one client connection. */
export interface NodeConnection {
  /** Settles once every request queued so far is answered (or dropped). */
  idle: Promise<void>;
  /** Requests queued and not yet answered. */
  pending: number;
  /** An answer closed (or will close) the connection: nothing queued after it is served. */
  closing: boolean;
  /** node's parser refused bytes on this connection (answered once, after what is pending). */
  refused: boolean;
  /** The latest request node handed over (an incomplete one is where a parser error sits). */
  last: IncomingMessage | null;
}

import type { IncomingMessage } from 'node:http';

const connections = new WeakMap<object, NodeConnection>();

/** The state of a node:http connection (created on first use). */
export function nodeConnectionOf(socket: object): NodeConnection {
  let conn = connections.get(socket);
  if (conn === undefined) {
    conn = { idle: Promise.resolve(), pending: 0, closing: false, refused: false, last: null };
    connections.set(socket, conn);
  }
  return conn;
}

/**
 * Run `serve` after every request queued before it on `conn` is answered — or never, when one
 * of them closed the connection. `serve` resolves once its answer is complete.
 */
export function inOrder(conn: NodeConnection, serve: () => Promise<void>): void {
  conn.pending++;
  conn.idle = conn.idle
    .then(() => (conn.closing ? undefined : serve()))
    .catch(() => {
      // serve() handles its own failures; a throw here only means: trust nothing after it.
      conn.closing = true;
    })
    .finally(() => {
      conn.pending--;
    });
}

/** Run `then` once nothing is pending on `conn` (at once when nothing is). */
export function afterPending(conn: NodeConnection, then: () => void): void {
  if (conn.pending === 0) then();
  else void conn.idle.then(then);
}
