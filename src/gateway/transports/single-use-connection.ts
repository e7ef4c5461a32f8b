// One request per exchange on a stream connection: how uwsgi and SCGI work (a fresh connection
// per request; uWSGI closes the socket after each response; the response ends at EOF), and how
// HTTP/1.1 works (the same, except that a connection whose answer was framed and complete may
// carry the next request: `keepAlive`). The protocol file encodes the request; this file
// connects (or takes a kept connection), sends it (one write for small requests), parses the
// response head and streams the body with backpressure, with connect/send/read timeouts and
// cancellation on req.signal.
//
// Speed: the kernel connection is new per request (the protocol wants that), but the
// net.Socket object is not. Node documents socket.connect() for "reconnecting a socket after
// 'close' has been emitted"; a closed socket goes back to a free list with its listeners
// attached, so a request costs no Socket/stream construction and no closure per event.
// Measured on the 2-core machine (uWSGI Flask hello, wrk -c50): the reuse alone took the
// front's CPU per request from ~78 to ~62 µs. A body that is complete when the head is
// parsed (the usual small answer) is handed over as a Buffer, not a stream.

import { Socket } from 'node:net';
import type { StackgenError } from '../../errors.js';
import { ResponseHeadDecoder, type ResponseHeadMode } from '../codecs/cgi-response.js';
import { buildCgiEnv, type CgiEnv } from '../cgi-env.js';
import type {
  GatewayRequest,
  Transport,
  TransportTimeouts,
  UpstreamResponse,
  UpstreamTarget,
} from '../transport.js';
import { smallBodyBuffer, writeRequestBody } from './request-body.js';
import { UpstreamBody, responseHasBody, upstreamResponse } from './response-body.js';
import * as failure from './upstream-failure.js';
import { PhaseTimer } from './phase-timer.js';

export interface SingleUseExchange {
  target: UpstreamTarget;
  /** The encoded request (head, and the whole body when `rest` is null). */
  packet: Buffer;
  /** Body still to stream after `packet`, or null when `packet` holds all of it. */
  rest: GatewayRequest['body'];
  headMode: ResponseHeadMode;
  maxHeadBytes?: number | undefined;
  /** Appended to the message of a reset before the head (e.g. uWSGI's buffer-size advice). */
  resetAdvice?: string | undefined;
  /**
   * HTTP/1.1: keep the connection for another exchange when the answer allows it (see
   * ResponseHead.keepAlive) and came complete and exactly framed; take a kept one if any.
   */
  keepAlive?: boolean | undefined;
}

export interface SingleUseTransportOptions {
  /** Extra CGI variables, like nginx's uwsgi_param / scgi_param; they replace built ones. */
  params?: ReadonlyArray<readonly [string, string]>;
  /** Bodies up to this size travel in the same write as the variables (default 64 KiB). */
  inlineBodyLimit?: number;
  maxHeadBytes?: number;
}

/** How one protocol frames a request: CGI variables (+ a small body) → one packet. */
export interface SingleUseProtocol {
  scheme: 'uwsgi' | 'scgi';
  encode: (vars: CgiEnv, body: Buffer | undefined) => Buffer;
  resetAdvice?: string | undefined;
}

/** A Transport for a protocol that sends one request per fresh connection (uwsgi, SCGI). */
export function createSingleUseTransport(
  protocol: SingleUseProtocol,
  target: UpstreamTarget,
  options: SingleUseTransportOptions = {},
): Transport {
  const connections = new ReusableConnections(target);
  const inlineLimit = options.inlineBodyLimit ?? 64 * 1024;
  return {
    scheme: protocol.scheme,
    target,
    request: (req, timeouts) =>
      exchangeEncoded(
        connections,
        req,
        timeouts,
        inlineLimit,
        (inline) => protocol.encode(buildCgiEnv(req, options.params), inline),
        { headMode: 'auto', maxHeadBytes: options.maxHeadBytes, resetAdvice: protocol.resetAdvice },
      ),
    close: () => connections.close(),
  };
}

/**
 * Encode `req` (its body in the same packet when it is in memory and at most `inlineLimit`
 * bytes) and run it as one exchange on `connections`; an encoding error rejects, unsent.
 */
export function exchangeEncoded(
  connections: ReusableConnections,
  req: GatewayRequest,
  timeouts: TransportTimeouts,
  inlineLimit: number,
  encode: (inline: Buffer | undefined) => Buffer,
  framing: Pick<SingleUseExchange, 'headMode' | 'maxHeadBytes' | 'resetAdvice' | 'keepAlive'>,
): Promise<UpstreamResponse> {
  const target = connections.target;
  const inline = smallBodyBuffer(req.body, inlineLimit);
  let packet: Buffer;
  try {
    packet = encode(inline ?? undefined);
  } catch (error) {
    return Promise.reject(failure.withFacts(error, { target, sentAnything: false }));
  }
  if (req.signal.aborted) return Promise.reject(failure.aborted({ target, sentAnything: false }));
  return connections.exchange(
    { target, packet, rest: inline === null ? req.body : null, ...framing },
    req,
    timeouts,
  );
}

/** Open a TCP or unix stream connection to `target`. */
export function openConnection(target: UpstreamTarget): Socket {
  return connectTo(new Socket(), target);
}

/** Connect (or reconnect, after 'close') `socket` to `target`. */
function connectTo(socket: Socket, target: UpstreamTarget): Socket {
  const { address } = target;
  // noDelay: small request packets must leave at once, not wait for Nagle's delayed ACK dance.
  if (address.kind === 'tcp')
    return socket.connect({ host: address.host, port: address.port, noDelay: true });
  if (address.kind === 'unix') return socket.connect({ path: address.path });
  throw new Error(`${target.scheme} cannot connect to a script address`);
}

/** Closed sockets kept for reuse beyond this are dropped (a burst does not pin memory). */
const MAX_FREE_SOCKETS = 256;

export interface KeepAliveOptions {
  /** Open idle connections kept per transport (per gateway worker) at most (nginx `keepalive N`). */
  maxIdle: number;
  /** An idle connection is closed after this long (nginx `keepalive_timeout`, 60 s). */
  idleTimeoutMs: number;
}

const DEFAULT_KEEP_ALIVE: KeepAliveOptions = { maxIdle: 128, idleTimeoutMs: 60_000 };

const EMPTY = Buffer.alloc(0);
/** A SingleUseConnection's timer before its first exchange (restart gives the real ones). */
const NO_TIMEOUTS: TransportTimeouts = { connectMs: 0, readMs: 0, sendMs: 0 };

/** The sockets of one single-use transport: those in an exchange, and closed ones to reuse. */
export class ReusableConnections {
  readonly target: UpstreamTarget;
  readonly live = new Set<SingleUseConnection>();
  readonly free: SingleUseConnection[] = [];
  /** Connections still open after a kept-alive exchange, most recently used last. */
  readonly idle: SingleUseConnection[] = [];
  readonly keepAlive: KeepAliveOptions;
  closed = false;
  /** Exchanges that ran on a kept connection (for tests and status). */
  reused = 0;

  constructor(target: UpstreamTarget, keepAlive: KeepAliveOptions = DEFAULT_KEEP_ALIVE) {
    this.target = target;
    this.keepAlive = keepAlive;
  }

  /**
   * Send `exchange.packet` (+ `rest`) on a kept connection (keepAlive, not `fresh`) or a new
   * one; resolve with the response.
   */
  exchange(
    exchange: SingleUseExchange,
    req: GatewayRequest,
    timeouts: TransportTimeouts,
  ): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      if (req.signal.aborted) {
        reject(failure.aborted({ target: this.target, sentAnything: false, cause: req.signal.reason }));
        return;
      }
      if (this.target.address.kind === 'script') {
        reject(
          failure.connect({
            target: this.target,
            sentAnything: false,
            cause: new Error('not a socket address'),
          }),
        );
        return;
      }
      this.run(exchange, req, timeouts, resolve, reject, exchange.keepAlive === true);
    });
  }

  /** Start the exchange on a kept connection (when `mayReuse` and one is open) or a new one. */
  run(
    exchange: SingleUseExchange,
    req: GatewayRequest,
    timeouts: TransportTimeouts,
    resolve: (response: UpstreamResponse) => void,
    reject: (error: StackgenError) => void,
    mayReuse: boolean,
  ): void {
    if (mayReuse) {
      // LIFO: the most recently used is the least likely to have met the backend's idle timeout.
      let kept = this.idle.pop();
      while (kept !== undefined && !kept.usable) {
        kept.socket.destroy();
        kept = this.idle.pop();
      }
      if (kept !== undefined) {
        this.reused++;
        kept.start(exchange, req, timeouts, resolve, reject, true);
        return;
      }
    }
    const connection = this.free.pop() ?? new SingleUseConnection(this);
    this.live.add(connection);
    connection.start(exchange, req, timeouts, resolve, reject, false);
  }

  /** The exchange ended with the connection still open and reusable: idle it (or close it). */
  kept(connection: SingleUseConnection): void {
    if (this.closed || this.idle.length >= this.keepAlive.maxIdle) {
      connection.socket.destroy();
      return;
    }
    this.idle.push(connection);
  }

  /**
   * Called on 'close': the socket is done with its exchange. It may connect again only when no
   * write is still in flight (`reusable`): a write completing after the reconnect would be
   * credited to the new connection's stream state (seen under load as ERR_MULTIPLE_CALLBACK).
   */
  released(connection: SingleUseConnection, reusable: boolean): void {
    this.live.delete(connection);
    const at = this.idle.lastIndexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    if (reusable && !this.closed && this.free.length < MAX_FREE_SOCKETS) this.free.push(connection);
  }

  /** Destroy every live socket; resolves once all have closed. */
  close(): Promise<void> {
    this.closed = true;
    this.free.length = 0;
    this.idle.length = 0;
    return destroyAll(new Set([...this.live].map((c) => c.socket)));
  }
}

/**
 * One net.Socket and the state of the exchange it is in. Listeners are attached once; each
 * exchange bumps `#generation`, so a response body handed out earlier can never pause,
 * resume or destroy the socket after it moved on to another request.
 */
class SingleUseConnection {
  readonly socket = new Socket();
  readonly #owner: ReusableConnections;
  #generation = 0;
  #exchange: SingleUseExchange | null = null;
  #req: GatewayRequest | null = null;
  #timeouts: TransportTimeouts = NO_TIMEOUTS;
  #decoder: ResponseHeadDecoder | null = null;
  #resolve: ((response: UpstreamResponse) => void) | null = null;
  #reject: ((error: StackgenError) => void) | null = null;
  #connected = false;
  #body: UpstreamBody | null = null;
  #settled = false;
  /** This exchange runs on a connection kept from an earlier one. */
  #reused = false;
  /** Bytes the backend sent in this exchange (0: it has not read the request, as far as we know). */
  #received = 0;
  /** Between exchanges, open: in the owner's idle list. */
  #idle = false;
  /** The answer's head allows another exchange on this connection (HTTP keep-alive). */
  #keepable = false;
  /** Body bytes beyond the packet are still being written. */
  #bodyPending = false;
  readonly #timer = new PhaseTimer((ms) => this.socket.setTimeout(ms), NO_TIMEOUTS, 'connect');
  readonly #onAbort = (): void => this.#fail(failure.aborted(this.#facts(this.#req?.signal.reason)));

  constructor(owner: ReusableConnections) {
    this.#owner = owner;
    const socket = this.socket;
    socket.on('connect', () => this.#onConnect());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('timeout', () => this.#onTimeout());
    socket.on('error', (error: Error) => this.#onError(error));
    socket.on('close', () => this.#onClose());
  }

  /** Idle, still open, and the backend has not half-closed it: it may take an exchange. */
  get usable(): boolean {
    return this.#idle && !this.socket.destroyed && !this.socket.readableEnded;
  }

  start(
    exchange: SingleUseExchange,
    req: GatewayRequest,
    timeouts: TransportTimeouts,
    resolve: (response: UpstreamResponse) => void,
    reject: (error: StackgenError) => void,
    reused: boolean,
  ): void {
    this.#generation++;
    this.#exchange = exchange;
    this.#req = req;
    this.#timeouts = timeouts;
    this.#decoder = new ResponseHeadDecoder(exchange.headMode, exchange.maxHeadBytes);
    this.#resolve = resolve;
    this.#reject = reject;
    this.#body = null;
    this.#settled = false;
    this.#reused = reused;
    this.#received = 0;
    this.#idle = false;
    this.#keepable = false;
    this.#bodyPending = exchange.rest !== null;
    req.signal.addEventListener('abort', this.#onAbort, { once: true });
    const socket = this.socket;
    if (reused) {
      socket.ref();
      socket.write(exchange.packet);
      this.#timer.restart(timeouts, 'send');
      this.#onConnect();
      return;
    }
    this.#connected = false;
    // A reused socket may have been paused by the previous exchange's backpressure.
    if (socket.isPaused()) socket.resume();
    connectTo(socket, exchange.target);
    // Written before 'connect': node queues it and sends it as soon as the connection is up.
    socket.write(exchange.packet);
    this.#timer.restart(timeouts, 'connect');
  }

  #facts(cause?: unknown) {
    return { target: this.#owner.target, sentAnything: this.#connected, cause };
  }

  #fail(error: StackgenError): void {
    if (!this.#settled) {
      this.#settled = true;
      this.#reject?.(error);
    } else if (this.#body !== null && !this.#body.complete) {
      this.#body.destroy(error);
    }
    this.socket.destroy();
  }

  #settle(response: UpstreamResponse): void {
    this.#settled = true;
    this.#resolve?.(response);
  }

  /**
   * A kept connection failed before the backend sent a byte: it was closed while idle (the
   * backend's keepalive timeout, a reload: gunicorn's SIGHUP closes every old worker's kept
   * connections at once), so the request never reached the app and is sent again, once, on a
   * fresh connection (not another kept one: it would be as stale as this one).
   */
  #retryIfStale(): boolean {
    if (!this.#reused || this.#received > 0 || this.#settled) return false;
    const req = this.#req as GatewayRequest;
    if (req.signal.aborted) return false;
    this.#settled = true;
    req.signal.removeEventListener('abort', this.#onAbort);
    this.socket.destroy();
    this.#owner.run(
      this.#exchange as SingleUseExchange,
      req,
      this.#timeouts,
      this.#resolve as (response: UpstreamResponse) => void,
      this.#reject as (error: StackgenError) => void,
      false,
    );
    return true;
  }

  /**
   * The answer is complete: keep the connection when the protocol and the head allow it, the
   * request went out in full and nothing followed the answer; else close it.
   */
  #done(keep: boolean): void {
    const socket = this.socket;
    if (!keep || this.#bodyPending || socket.writableLength > 0) {
      socket.destroy();
      return;
    }
    this.#req?.signal.removeEventListener('abort', this.#onAbort);
    // A body handed out earlier must no longer steer this socket (see #generation).
    this.#generation++;
    this.#exchange = null;
    this.#req = null;
    this.#decoder = null;
    this.#resolve = null;
    this.#reject = null;
    this.#body = null;
    this.#idle = true;
    if (socket.isPaused()) socket.resume();
    socket.setTimeout(this.#owner.keepAlive.idleTimeoutMs);
    // An idle connection must not keep the gateway process alive on shutdown.
    socket.unref();
    this.#owner.kept(this);
  }

  #onConnect(): void {
    this.#connected = true;
    const rest = (this.#exchange as SingleUseExchange).rest;
    if (rest === null) {
      // The whole request is the packet already queued: nothing left to send, so the read
      // timeout applies from here (one timer re-arm, no promise hop per request).
      this.#timer.enter('read');
      return;
    }
    this.#timer.enter('send');
    const generation = this.#generation;
    writeRequestBody(this.socket, rest).then(
      () => {
        if (this.#generation !== generation) return;
        this.#bodyPending = false;
        if (this.#timer.phase === 'send') this.#timer.enter('read');
      },
      // A write failure also surfaces as a socket 'error' or 'close', handled there.
      () => {},
    );
  }

  #onData(chunk: Buffer): void {
    if (this.#idle) {
      // Bytes while no request is out: the backend is confused about framing. Do not reuse.
      this.socket.destroy();
      return;
    }
    this.#received += chunk.length;
    if (this.#settled && this.#body === null) return; // answered in full; the rest is noise
    if (this.#body === null) {
      let head: ReturnType<ResponseHeadDecoder['push']>;
      try {
        head = (this.#decoder as ResponseHeadDecoder).push(chunk);
      } catch (error) {
        this.#fail(failure.withFacts(error, this.#facts()));
        return;
      }
      if (head === null) return;
      const exchange = this.#exchange as SingleUseExchange;
      if (head.status === 101 && exchange.keepAlive === true) {
        // Upgrades go through their own path (http.ts): this request asked for none.
        this.#fail(failure.malformed({ ...this.#facts(), what: 'switched protocols (101) unasked' }));
        return;
      }
      // The backend answered: from now on only the read timeout applies.
      if (this.#timer.phase !== 'read') this.#timer.enter('read');
      this.#keepable = exchange.keepAlive === true && head.keepAlive;
      const req = this.#req as GatewayRequest;
      const hasBody = responseHasBody(req.method, head.status);
      const length = head.contentLength;
      if (!hasBody || (!head.chunked && length !== null && head.rest.length >= length)) {
        // The whole answer is here: hand it over as one Buffer and let the connection go
        // (uWSGI closes after a response anyway; bytes past Content-Length are dropped, as
        // nginx drops them, and such a connection is not kept).
        const body = !hasBody
          ? EMPTY
          : head.rest.length === length
            ? head.rest
            : head.rest.subarray(0, length as number);
        this.#settle(upstreamResponse(head, body));
        this.#done(this.#keepable && head.rest.length === (hasBody ? length : 0));
        return;
      }
      const generation = this.#generation;
      this.#body = new UpstreamBody(
        {
          resume: () => {
            if (this.#generation !== generation || !this.#timer.paused) return;
            this.socket.resume();
            this.#timer.resume();
          },
          release: () => {
            if (this.#generation === generation) this.socket.destroy();
          },
          truncated: (what) => failure.reset({ ...this.#facts(), what: `response body ${what}` }),
        },
        head,
        hasBody,
      );
      this.#settle(upstreamResponse(head, this.#body));
      chunk = head.rest;
    }
    const body = this.#body;
    let more: boolean;
    try {
      more = body.deliver(chunk);
    } catch (error) {
      this.#fail(failure.withFacts(error, this.#facts()));
      return;
    }
    if (body.complete) {
      // The whole body is here (uWSGI closes anyway; nothing else may follow it).
      this.#done(this.#keepable && !body.overrun);
    } else if (!more) {
      this.socket.pause();
      this.#timer.pause();
    }
  }

  #onEnd(): void {
    if (this.#idle) this.socket.destroy();
    else if (this.#body !== null) {
      this.#body.sourceEnded();
      this.socket.destroy();
    } else if (!this.#settled && !this.#retryIfStale()) {
      this.#fail(failure.reset({ ...this.#facts(), advice: this.#exchange?.resetAdvice }));
    }
  }

  #onTimeout(): void {
    if (this.#idle) this.socket.destroy();
    else this.#fail(this.#timer.timedOut(this.#facts()));
  }

  #onError(error: Error): void {
    if (this.#idle) return; // 'close' follows
    const advice = this.#exchange?.resetAdvice;
    if (!this.#connected) this.#fail(failure.connect(this.#facts(error)));
    else if (this.#body === null) {
      if (!this.#retryIfStale()) this.#fail(failure.reset({ ...this.#facts(error), advice }));
    } else
      this.#fail(failure.reset({ ...this.#facts(error), what: 'failed while sending the response body' }));
  }

  #onClose(): void {
    this.#req?.signal.removeEventListener('abort', this.#onAbort);
    if (!this.#settled) {
      if (!this.#retryIfStale())
        this.#fail(failure.reset({ ...this.#facts(), advice: this.#exchange?.resetAdvice }));
    } else if (this.#body !== null && !this.#body.complete && !this.#body.destroyed) this.#body.sourceEnded();
    this.socket.setTimeout(0);
    // Drop references to the finished request so it can be collected while we sit idle.
    this.#idle = false;
    this.#exchange = null;
    this.#req = null;
    this.#decoder = null;
    this.#resolve = null;
    this.#reject = null;
    this.#body = null;
    this.#owner.released(this, this.socket.writableLength === 0);
  }
}

/** Destroy every live socket; resolves once all have closed. */
export function destroyAll(sockets: Set<Socket>): Promise<void> {
  const closing = [...sockets].map(
    (socket) =>
      new Promise<void>((resolve) => {
        if (socket.closed) resolve();
        else socket.once('close', () => resolve());
        socket.destroy();
      }),
  );
  return Promise.all(closing).then(() => undefined);
}
