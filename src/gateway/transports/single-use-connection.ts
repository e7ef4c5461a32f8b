// One request over a fresh connection, closed after the response: how uwsgi and SCGI work
// (uWSGI closes the socket after each response; the response ends at EOF). The protocol file
// encodes the request; this file connects, sends it (one write for small requests), parses the
// response head and streams the body with backpressure, with connect/send/read timeouts and
// cancellation on req.signal.

import { type Socket, connect } from 'node:net';
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
import { UpstreamBody, responseHasBody } from './response-body.js';
import {
  abortedFailure,
  connectFailure,
  resetFailure,
  timeoutFailure,
  withFacts,
} from './upstream-failure.js';

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
  /** Live sockets of the transport, so close() can destroy them. */
  sockets: Set<Socket>;
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
  const sockets = new Set<Socket>();
  const inlineLimit = options.inlineBodyLimit ?? 64 * 1024;
  return {
    scheme: protocol.scheme,
    target,
    request(req: GatewayRequest, timeouts: TransportTimeouts): Promise<UpstreamResponse> {
      let packet: Buffer;
      const inline = smallBodyBuffer(req.body, inlineLimit);
      try {
        packet = protocol.encode(buildCgiEnv(req, options.params), inline ?? undefined);
      } catch (error) {
        return Promise.reject(withFacts(error, { target, sentAnything: false }));
      }
      if (req.signal.aborted) return Promise.reject(abortedFailure({ target, sentAnything: false }));
      return exchangeOnFreshConnection(
        {
          target,
          packet,
          rest: inline === null ? req.body : null,
          headMode: 'auto',
          maxHeadBytes: options.maxHeadBytes,
          resetAdvice: protocol.resetAdvice,
          sockets,
        },
        req,
        timeouts,
      );
    },
    close: () => destroyAll(sockets),
  };
}

/** Open a TCP or unix stream connection to `target`. */
export function openConnection(target: UpstreamTarget): Socket {
  const { address } = target;
  if (address.kind === 'tcp') {
    const socket = connect({ host: address.host, port: address.port });
    // Small request packets must leave at once, not wait for Nagle's delayed ACK dance.
    socket.setNoDelay(true);
    return socket;
  }
  if (address.kind === 'unix') return connect({ path: address.path });
  throw new Error(`${target.scheme} cannot connect to a script address`);
}

/** Send `exchange.packet` (+ `rest`) on a new connection; resolve with the response head and body. */
export function exchangeOnFreshConnection(
  exchange: SingleUseExchange,
  req: GatewayRequest,
  timeouts: TransportTimeouts,
): Promise<UpstreamResponse> {
  const { target } = exchange;
  return new Promise<UpstreamResponse>((resolve, reject) => {
    if (req.signal.aborted) {
      reject(abortedFailure({ target, sentAnything: false, cause: req.signal.reason }));
      return;
    }
    const decoder = new ResponseHeadDecoder(exchange.headMode, exchange.maxHeadBytes);
    const socket = openConnection(target);
    exchange.sockets.add(socket);
    let connected = false;
    let phase: 'connect' | 'send' | 'read' = 'connect';
    let body: UpstreamBody | null = null;
    let settled = false;
    let paused = false;

    const facts = (cause?: unknown) => ({ target, sentAnything: connected, cause });
    const fail = (error: StackgenError): void => {
      if (!settled) {
        settled = true;
        reject(error);
      } else if (body !== null && !body.complete) {
        body.destroy(error);
      }
      socket.destroy();
    };
    const armTimeout = (): void => {
      const ms =
        phase === 'connect' ? timeouts.connectMs : phase === 'send' ? timeouts.sendMs : timeouts.readMs;
      socket.setTimeout(paused ? 0 : ms);
    };
    const onAbort = (): void => fail(abortedFailure(facts(req.signal.reason)));
    req.signal.addEventListener('abort', onAbort, { once: true });

    // Written before 'connect': node queues it and sends it as soon as the connection is up.
    socket.write(exchange.packet);
    armTimeout();

    socket.on('connect', () => {
      connected = true;
      const rest = exchange.rest;
      if (rest === null) {
        // The whole request is the packet already queued: nothing left to send, so the read
        // timeout applies from here (one timer re-arm, no promise hop per request).
        phase = 'read';
        armTimeout();
        return;
      }
      phase = 'send';
      armTimeout();
      writeRequestBody(socket, rest).then(
        () => {
          if (phase === 'send') {
            phase = 'read';
            armTimeout();
          }
        },
        // A write failure also surfaces as a socket 'error' or 'close', handled there.
        () => {},
      );
    });

    socket.on('data', (chunk: Buffer) => {
      if (body === null) {
        let head: ReturnType<ResponseHeadDecoder['push']>;
        try {
          head = decoder.push(chunk);
        } catch (error) {
          fail(withFacts(error, facts()));
          return;
        }
        if (head === null) return;
        // The backend answered: from now on only the read timeout applies.
        if (phase !== 'read') {
          phase = 'read';
          armTimeout();
        }
        body = new UpstreamBody(
          {
            resume: () => {
              if (!paused) return;
              paused = false;
              socket.resume();
              armTimeout();
            },
            release: () => socket.destroy(),
            truncated: (what) => resetFailure({ ...facts(), what: `response body ${what}` }),
          },
          head,
          responseHasBody(req.method, head.status),
        );
        settled = true;
        resolve({
          status: head.status,
          statusText: head.statusText,
          headers: head.headers,
          body,
          localRedirect: head.localRedirect,
        });
        chunk = head.rest;
      }
      let more: boolean;
      try {
        more = body.deliver(chunk);
      } catch (error) {
        fail(withFacts(error, facts()));
        return;
      }
      if (body.complete) {
        // The whole body is here; uWSGI closes anyway and nothing else may follow.
        socket.destroy();
      } else if (!more) {
        paused = true;
        socket.pause();
        armTimeout();
      }
    });

    socket.on('end', () => {
      if (body === null) {
        fail(resetFailure({ ...facts(), advice: exchange.resetAdvice }));
      } else {
        body.sourceEnded();
        socket.destroy();
      }
    });

    socket.on('timeout', () => {
      const ms =
        phase === 'connect' ? timeouts.connectMs : phase === 'send' ? timeouts.sendMs : timeouts.readMs;
      fail(timeoutFailure({ ...facts(), phase, ms }));
    });

    socket.on('error', (error: Error) => {
      if (!connected) fail(connectFailure(facts(error)));
      else if (body === null) fail(resetFailure({ ...facts(error), advice: exchange.resetAdvice }));
      else fail(resetFailure({ ...facts(error), what: 'failed while sending the response body' }));
    });

    socket.on('close', () => {
      exchange.sockets.delete(socket);
      req.signal.removeEventListener('abort', onAbort);
      if (!settled) fail(resetFailure({ ...facts(), advice: exchange.resetAdvice }));
      else if (body !== null && !body.complete && !body.destroyed) body.sourceEnded();
    });
  });
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
