// Connections to one FastCGI backend, kept open between requests when the backend honours
// FCGI_KEEP_CONN (FastCGI Specification §5.1: "If flags & FCGI_KEEP_CONN [...] the application
// does not close the connection after responding to this request"). At most `max` connections
// are open; requests beyond that wait in FIFO order (bounded by the connect timeout). A backend
// that closes after END_REQUEST anyway (uWSGI's fastcgi-socket does) is detected — its
// connections close within moments of their first response, never having served a second —
// and the pool stops keeping connections to it for a while (re-probing later), so under load
// no request is ever handed a connection that is about to close. A backend whose workers each
// stay with one kept-open connection (php-fpm) must not see every worker pinned to an idle
// one while a request waits on a new connection: see release().

import type { Socket } from 'node:net';
import { FastcgiRecordDecoder, type FastcgiEvent } from '../codecs/fastcgi/reader.js';
import type { UpstreamTarget } from '../transport.js';
import { openConnection } from './single-use-connection.js';

/** The request currently running on a connection (one at a time: no multiplexing). */
export interface ConnectionUser {
  onConnect(): void;
  onData(bytes: number): void;
  onEvent(event: FastcgiEvent): void;
  /** The events of one read are all delivered (a small answer usually comes in one). */
  onEventsDone(): void;
  /** Socket error, EOF, timeout or malformed records: the connection is dead. */
  onFailure(kind: 'error' | 'end' | 'close' | 'timeout' | 'malformed', cause?: unknown): void;
}

export class FastcgiConnection {
  readonly socket: Socket;
  readonly #decoder = new FastcgiRecordDecoder();
  user: ConnectionUser | null = null;
  connected = false;
  /** Requests completed on this connection. */
  uses = 0;
  /** performance.now() when the last request released it (0 before). */
  releasedAt = 0;
  /** A request holds it (from the lease to the release). */
  leased = false;
  /** The backend sent a byte since the current lease: a worker has taken the connection. */
  answered = false;

  constructor(
    target: UpstreamTarget,
    onGone: (connection: FastcgiConnection) => void,
    onBackendClose: (connection: FastcgiConnection) => void,
  ) {
    this.socket = openConnection(target);
    this.socket.on('connect', () => {
      this.connected = true;
      this.user?.onConnect();
    });
    this.socket.on('data', (chunk: Buffer) => {
      const user = this.user;
      if (user === null) {
        // Bytes while idle: the backend is confused about request boundaries. Do not reuse.
        this.socket.destroy();
        return;
      }
      this.answered = true;
      user.onData(chunk.length);
      let events: FastcgiEvent[];
      try {
        events = this.#decoder.push(chunk);
      } catch (error) {
        user.onFailure('malformed', error);
        this.socket.destroy();
        return;
      }
      // The user may finish (and the connection go to another request) on END_REQUEST; the
      // remaining events of this chunk still belong to the user that was current when it came.
      for (const event of events) user.onEvent(event);
      user.onEventsDone();
    });
    this.socket.on('end', () => {
      if (this.user === null) onBackendClose(this);
      else this.user.onFailure('end');
      this.socket.destroy();
    });
    this.socket.on('error', (error) => this.user?.onFailure('error', error));
    this.socket.on('timeout', () => {
      if (this.user === null) this.socket.destroy();
      else this.user.onFailure('timeout');
    });
    this.socket.on('close', () => {
      this.user?.onFailure('close');
      this.user = null;
      onGone(this);
    });
  }

  /** Usable for another request: open, not half-closed by the backend, between records. */
  get reusable(): boolean {
    return !this.socket.destroyed && !this.socket.readableEnded && this.#decoder.atRecordBoundary;
  }
}

export interface Waiter {
  /** Only a new connection will do (the retry after a stale kept-open one). */
  fresh?: boolean;
  resolve(lease: Lease): void;
  reject(error: unknown): void;
}

export interface Lease {
  connection: FastcgiConnection;
  /** The connection served an earlier request: it may have gone stale while idle. */
  reused: boolean;
}

export interface PoolStats {
  open: number;
  idle: number;
  queued: number;
  /** Connections opened since the pool was created. */
  created: number;
  /** Requests that ran on a kept-open connection. */
  reused: number;
  /** False while the backend is known to close connections after each response. */
  keeping: boolean;
  /** Kept-open connections closed instead of idled so that a waiting one gets its worker. */
  unpinned: number;
}

/** A close this soon after a response is the backend ignoring FCGI_KEEP_CONN, not its idle timeout. */
const CLOSE_AFTER_RESPONSE_MS = 1000;
/** Such closes in a row (with no successful reuse between) before the pool stops keeping. */
const CLOSES_BEFORE_GIVING_UP = 3;
/** How long the pool then opens a connection per request before trying to keep them again. */
const REPROBE_AFTER_MS = 60_000;

export class FastcgiPool {
  readonly #target: UpstreamTarget;
  readonly #max: number;
  readonly #idleTimeoutMs: number;
  readonly #all = new Set<FastcgiConnection>();
  readonly #idle: FastcgiConnection[] = [];
  readonly #waiters: Waiter[] = [];
  #created = 0;
  #reused = 0;
  #unpinned = 0;
  #closing = false;
  /** Backend closes right after a response, in a row. */
  #closesAfterResponse = 0;
  /** performance.now() until which connections are not kept (the backend ignores KEEP_CONN). */
  #notKeepingUntil = 0;

  constructor(target: UpstreamTarget, max: number, idleTimeoutMs: number) {
    this.#target = target;
    this.#max = max;
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  stats(): PoolStats {
    return {
      open: this.#all.size,
      idle: this.#idle.length,
      queued: this.#waiters.length,
      created: this.#created,
      reused: this.#reused,
      keeping: this.keeping,
      unpinned: this.#unpinned,
    };
  }

  /** Whether connections are kept for reuse now (FCGI_KEEP_CONN should be asked for). */
  get keeping(): boolean {
    return this.#notKeepingUntil === 0 || performance.now() >= this.#notKeepingUntil;
  }

  /**
   * The backend closed a connection that had finished a request (while idle, or before the
   * next request on it got any answer). Right after a response and repeatedly, it means the
   * backend does not keep connections: stop keeping them, so none is reused only to fail.
   */
  backendClosed(connection: FastcgiConnection): void {
    if (connection.uses === 0) return;
    if (performance.now() - connection.releasedAt > CLOSE_AFTER_RESPONSE_MS) return;
    if (++this.#closesAfterResponse >= CLOSES_BEFORE_GIVING_UP) {
      this.#closesAfterResponse = 0;
      this.#notKeepingUntil = performance.now() + REPROBE_AFTER_MS;
      for (const idle of this.#idle.splice(0)) idle.socket.destroy();
    }
  }

  /** A request completed on a reused connection: the backend does keep connections. */
  reuseSucceeded(): void {
    this.#closesAfterResponse = 0;
  }

  /**
   * A connection for one request: the most recently used idle one (least likely to have been
   * closed by the backend), else a new one under the limit; null when all are busy (then
   * enqueue()). `fresh` skips idle connections (the retry after a stale one).
   */
  acquire(fresh: boolean): Lease | null {
    if (!fresh) {
      let connection = this.#idle.pop();
      while (connection !== undefined) {
        if (connection.reusable) return this.#lease(connection, true);
        connection.socket.destroy();
        connection = this.#idle.pop();
      }
    }
    if (this.#all.size < this.#max) return this.#lease(this.#open(), false);
    return null;
  }

  /** Wait for the next released connection or freed slot (FIFO; `fresh` waiters only for a slot). */
  enqueue(waiter: Waiter): void {
    this.#waiters.push(waiter);
  }

  /** Stop waiting (timeout, abort); false when the waiter was already served. */
  dequeue(waiter: Waiter): boolean {
    const at = this.#waiters.indexOf(waiter);
    if (at < 0) return false;
    this.#waiters.splice(at, 1);
    return true;
  }

  /** The request is done with `connection`; keep it only when `keep` and it is still healthy. */
  release(connection: FastcgiConnection, keep: boolean): void {
    connection.user = null;
    connection.leased = false;
    connection.uses++;
    connection.releasedAt = performance.now();
    if (!keep || this.#closing || !connection.reusable || !this.keeping) {
      // Its close frees a slot; #forget then opens a new connection for the first waiter.
      connection.socket.destroy();
      return;
    }
    const at = this.#waiters.findIndex((w) => w.fresh !== true);
    if (at >= 0) {
      const [waiter] = this.#waiters.splice(at, 1);
      waiter!.resolve(this.#lease(connection, true));
      return;
    }
    if (this.#someoneUnanswered()) {
      // A backend worker serves one connection at a time and stays with a kept-open one while
      // it idles (php-fpm: pm.max_children workers, each on its connection until it closes).
      // With as many idle kept-open connections as workers, a request on a new connection
      // waits in the backend's accept queue until one of them times out (60 s): measured with
      // php-fpm, 2 workers, 4 concurrent requests → 2 answered, 2 hung. Closing this one
      // instead of idling it sends its worker back to accept(), to the waiting connection.
      this.#unpinned++;
      connection.socket.destroy();
      return;
    }
    connection.socket.resume();
    connection.socket.setTimeout(this.#idleTimeoutMs);
    // An idle keep-alive connection must not keep the gateway process alive on shutdown.
    connection.socket.unref();
    this.#idle.push(connection);
  }

  /** Destroy every connection and fail the waiters; resolves when all sockets closed. */
  async close(error: unknown): Promise<void> {
    this.#closing = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    const closing = [...this.#all].map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.socket.closed) resolve();
          else connection.socket.once('close', () => resolve());
          connection.socket.destroy();
        }),
    );
    await Promise.all(closing);
  }

  #open(): FastcgiConnection {
    this.#created++;
    const connection = new FastcgiConnection(
      this.#target,
      (gone) => this.#forget(gone),
      (closed) => this.backendClosed(closed),
    );
    this.#all.add(connection);
    return connection;
  }

  /** Some leased connection has had no byte back yet: its request may wait for a worker. */
  #someoneUnanswered(): boolean {
    for (const c of this.#all) if (c.leased && !c.answered) return true;
    return false;
  }

  #lease(connection: FastcgiConnection, reused: boolean): Lease {
    connection.leased = true;
    connection.answered = false;
    if (reused) {
      this.#reused++;
      connection.socket.ref();
      connection.socket.setTimeout(0);
    }
    return { connection, reused };
  }

  #forget(connection: FastcgiConnection): void {
    this.#all.delete(connection);
    const at = this.#idle.indexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
    // A slot freed up: the first waiter gets a new connection.
    if (!this.#closing && this.#all.size < this.#max) {
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter.resolve(this.#lease(this.#open(), false));
    }
  }
}
