// Connections to one FastCGI backend, kept open between requests when the backend honours
// FCGI_KEEP_CONN (FastCGI Specification §5.1: "If flags & FCGI_KEEP_CONN [...] the application
// does not close the connection after responding to this request"). At most `max` connections
// are open; requests beyond that wait in FIFO order (bounded by the connect timeout). A backend
// that closes after END_REQUEST anyway (uWSGI's fastcgi-socket does) simply never gets its
// connections reused: they are dropped from the idle list when the close arrives.

import type { Socket } from 'node:net';
import { FastcgiRecordDecoder, type FastcgiEvent } from '../codecs/fastcgi/reader.js';
import type { UpstreamTarget } from '../transport.js';
import { openConnection } from './single-use-connection.js';

/** The request currently running on a connection (one at a time: no multiplexing). */
export interface ConnectionUser {
  onConnect(): void;
  onData(bytes: number): void;
  onEvent(event: FastcgiEvent): void;
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

  constructor(target: UpstreamTarget, onGone: (connection: FastcgiConnection) => void) {
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
    });
    this.socket.on('end', () => {
      this.user?.onFailure('end');
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
}

export class FastcgiPool {
  readonly #target: UpstreamTarget;
  readonly #max: number;
  readonly #idleTimeoutMs: number;
  readonly #all = new Set<FastcgiConnection>();
  readonly #idle: FastcgiConnection[] = [];
  readonly #waiters: Waiter[] = [];
  #created = 0;
  #reused = 0;
  #closing = false;

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
    };
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

  /** Wait for the next released connection or freed slot (FIFO). */
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
    connection.uses++;
    if (!keep || this.#closing || !connection.reusable) {
      connection.socket.destroy();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve(this.#lease(connection, true));
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
    const connection = new FastcgiConnection(this.#target, (gone) => this.#forget(gone));
    this.#all.add(connection);
    return connection;
  }

  #lease(connection: FastcgiConnection, reused: boolean): Lease {
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
