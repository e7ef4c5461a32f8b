// The FastCGI transport: RESPONDER requests (FastCGI Specification §6.2) over pooled connections
// kept open with FCGI_KEEP_CONN. STDOUT carries a CGI response (RFC 3875 §6, parsed by the
// shared head parser: Status/Location handled there); STDERR goes to the logger, capped per
// request; END_REQUEST ends the body and frees the connection for the next request.

import { buildCgiEnv } from '../cgi-env.js';
import { type ResponseHead, ResponseHeadDecoder } from '../codecs/cgi-response.js';
import { RecordType } from '../codecs/fastcgi/header.js';
import type { FastcgiEvent } from '../codecs/fastcgi/reader.js';
import { endRequestError } from '../codecs/fastcgi/record.js';
import { encodeFastcgiRequest, encodeFastcgiStdin, encodeFastcgiStdinEnd } from '../codecs/fastcgi/writer.js';
import type {
  GatewayRequest,
  RequestBody,
  Transport,
  TransportTimeouts,
  UpstreamResponse,
  UpstreamTarget,
} from '../transport.js';
import { type ConnectionUser, FastcgiPool, type Lease, type PoolStats, type Waiter } from './fastcgi-pool.js';
import { smallBodyBuffer, writeRequestBody } from './request-body.js';
import { UpstreamBody, responseHasBody, upstreamResponse } from './response-body.js';
import { PhaseTimer } from './phase-timer.js';
import { StderrLog } from './stderr-log.js';
import * as failure from './upstream-failure.js';

export interface FastcgiTransportOptions {
  /** Extra params, like nginx's fastcgi_param (SCRIPT_FILENAME for php-fpm/fcgiwrap); they replace built ones. */
  params?: ReadonlyArray<readonly [string, string]>;
  /** Open connections to this backend at most (default 32); more requests wait in a queue. */
  maxConnections?: number;
  /** Ask the backend to keep connections open (FCGI_KEEP_CONN, default true). */
  keepConn?: boolean;
  /** Close a kept-open connection unused this long (default 60 s, nginx keepalive_timeout). */
  idleTimeoutMs?: number;
  /** Receives the backend's FCGI_STDERR output, line by line. */
  logger?: (line: string) => void;
  /** STDERR bytes logged per request at most (default 16 KiB). */
  stderrLimitBytes?: number;
  maxHeadBytes?: number;
  /** Bodies up to this size travel in the same write as the params (default 64 KiB). */
  inlineBodyLimit?: number;
}

export interface FastcgiTransport extends Transport {
  /** Pool counters (connections open/idle/created, requests queued/reused), for tests and status. */
  stats(): PoolStats;
}

/** No multiplexing: one request per connection at a time, so its id is always 1. */
const REQUEST_ID = 1;
/** A reused connection found dead before any byte came back is retried; this bounds the retries. */
const MAX_ATTEMPTS = 3;
const STALE = Symbol('stale keep-alive connection');
const EMPTY = Buffer.alloc(0);

export function createFastcgiTransport(
  target: UpstreamTarget,
  options: FastcgiTransportOptions = {},
): FastcgiTransport {
  const keepConn = options.keepConn ?? true;
  const pool = new FastcgiPool(target, options.maxConnections ?? 32, options.idleTimeoutMs ?? 60_000);
  const inlineLimit = options.inlineBodyLimit ?? 64 * 1024;
  const stderrLimit = options.stderrLimitBytes ?? 16 * 1024;
  // fastcgi_param order: the target's env (`env:`, --env) first, the caller's params last.
  const params = target.env === undefined ? options.params : [...target.env, ...(options.params ?? [])];
  const scripts = target.scriptRoot;

  /** A connection now, or the next one freed; bounded by the connect timeout, cancelled by abort. */
  function lease(fresh: boolean, req: GatewayRequest, timeouts: TransportTimeouts): Lease | Promise<Lease> {
    const now = pool.acquire(fresh);
    if (now !== null) return now;
    return new Promise<Lease>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        req.signal.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        fresh,
        resolve: (l) => {
          done();
          resolve(l);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        if (!pool.dequeue(waiter)) return;
        waiter.reject(
          failure.timeout({
            target,
            sentAnything: false,
            phase: 'connect',
            ms: timeouts.connectMs,
            details: { queued: true, maxConnections: options.maxConnections ?? 32 },
          }),
        );
      }, timeouts.connectMs);
      const onAbort = (): void => {
        if (pool.dequeue(waiter)) waiter.reject(failure.aborted({ target, sentAnything: false }));
      };
      req.signal.addEventListener('abort', onAbort, { once: true });
      pool.enqueue(waiter);
    });
  }

  function exchange(
    { connection, reused }: Lease,
    packet: Buffer,
    rest: RequestBody | null,
    keepAsked: boolean,
    req: GatewayRequest,
    timeouts: TransportTimeouts,
  ): Promise<UpstreamResponse | typeof STALE> {
    return new Promise((resolve, reject) => {
      const { socket } = connection;
      const head = new ResponseHeadDecoder('auto', options.maxHeadBytes);
      const log = new StderrLog(options.logger, stderrLimit);
      const timer = new PhaseTimer(
        (ms) => socket.setTimeout(ms),
        timeouts,
        connection.connected ? 'send' : 'connect',
      );
      let received = 0;
      let settled = false;
      /** END_REQUEST seen or the connection given up: this request no longer owns it. */
      let finished = false;
      let writing = rest !== null;
      let body: UpstreamBody | null = null;
      /**
       * The head, parsed in the current read, and the body bytes after it: the answer is
       * handed over once the read's events are done — as one Buffer when END_REQUEST came in
       * the same read (the usual small answer: no stream, one write to the client), else as a
       * stream.
       */
      let early: ResponseHead | null = null;
      let earlyChunks: Buffer[] = [];

      const facts = (cause?: unknown) => ({ target, sentAnything: connection.connected, cause });
      const detach = (): void => {
        finished = true;
        connection.user = null;
        req.signal.removeEventListener('abort', onAbort);
        log.end();
      };
      /** The connection is unusable: drop it and fail whatever is still pending. */
      const kill = (error: Error): void => {
        if (finished) return;
        detach();
        socket.destroy();
        if (!settled) {
          settled = true;
          reject(error);
        } else if (body !== null && !body.complete) {
          body.destroy(error);
        }
      };
      const onAbort = (): void => kill(failure.aborted(facts(req.signal.reason)));

      const sendBody = (): void => {
        if (rest === null) return;
        writeRequestBody(socket, rest, (chunk) => encodeFastcgiStdin(REQUEST_ID, chunk)).then(
          () => {
            if (finished) return;
            socket.write(encodeFastcgiStdinEnd(REQUEST_ID));
            writing = false;
            if (timer.phase === 'send') timer.enter('read');
          },
          // A write failure also surfaces as a socket error or close, handled by onFailure.
          () => {},
        );
      };

      /** The read that brought the head ended before END_REQUEST (or the body is chunked): stream it. */
      const startStream = (parsed: ResponseHead): void => {
        const stream = new UpstreamBody(
          {
            resume: () => {
              if (finished || !timer.paused) return;
              socket.resume();
              timer.resume();
            },
            // The consumer left before END_REQUEST: the rest of the response would arrive on a
            // connection nobody reads, so it cannot be reused.
            release: (error) => {
              if (!finished) kill(error ?? failure.aborted(facts()));
            },
            truncated: (what) => failure.reset({ ...facts(), what: `response body ${what}` }),
          },
          parsed,
          responseHasBody(req.method, parsed.status),
        );
        body = stream;
        settled = true;
        resolve(upstreamResponse(parsed, stream));
        const chunks = earlyChunks;
        early = null;
        earlyChunks = [];
        for (const chunk of chunks) deliver(chunk);
      };

      const deliver = (data: Buffer): void => {
        if (!(body as UpstreamBody).deliver(data) && !finished) {
          socket.pause();
          timer.pause();
        }
      };

      const onStdout = (data: Buffer): void => {
        if (body !== null) {
          deliver(data);
          return;
        }
        // Answered in full by Content-Length before END_REQUEST: bytes past it are dropped, as
        // nginx drops them.
        if (settled) return;
        if (early !== null) {
          earlyChunks.push(data);
          return;
        }
        const parsed = head.push(data);
        if (parsed === null) return;
        timer.enter('read');
        early = parsed;
        if (parsed.rest.length > 0) earlyChunks.push(parsed.rest);
      };

      /**
       * The whole answer is in the read that brought the head (END_REQUEST came, or all of
       * Content-Length): one Buffer, cut at Content-Length; a chunked one still goes through
       * the stream, which undoes the coding.
       */
      const completeEarly = (parsed: ResponseHead): Error | null => {
        if (parsed.chunked) {
          startStream(parsed);
          return null;
        }
        const chunks = earlyChunks;
        early = null;
        earlyChunks = [];
        let payload: Buffer = EMPTY;
        if (responseHasBody(req.method, parsed.status)) {
          payload = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
          const length = parsed.contentLength;
          if (length !== null && payload.length < length)
            return failure.reset({
              ...facts(),
              what: `response body ended ${length - payload.length} bytes short of Content-Length`,
            });
          if (length !== null && payload.length > length) payload = payload.subarray(0, length);
        }
        settled = true;
        resolve(upstreamResponse(parsed, payload));
        return null;
      };

      const onEnd = (event: Extract<FastcgiEvent, { type: typeof RecordType.EndRequest }>): void => {
        const refusal = endRequestError(event);
        let error: Error | null =
          refusal === null ? null : failure.withFacts(refusal, { target, sentAnything: false });
        if (error === null && early !== null) error = completeEarly(early);
        if (error === null && body === null && !settled) {
          error = failure.malformed({
            ...facts(),
            what:
              head.headBytes === 0
                ? 'ended the request without writing a response (empty FCGI_STDOUT)'
                : 'ended the request inside its response head',
            details: { appStatus: event.appStatus, stderrTail: log.tail },
          });
        }
        const keep = keepAsked && !writing;
        if (reused && error === null) pool.reuseSucceeded();
        detach();
        if (error !== null) {
          if (!settled) {
            settled = true;
            reject(error);
          } else if (body !== null && !body.complete) {
            body.destroy(error);
          }
        } else {
          body?.sourceEnded();
        }
        pool.release(connection, keep);
      };

      const user: ConnectionUser = {
        onConnect() {
          timer.enter('send');
          sendBody();
        },
        onData(bytes) {
          received += bytes;
        },
        onEvent(event) {
          if (finished) return;
          try {
            if (event.type === RecordType.Stdout) onStdout(event.data);
            else if (event.type === RecordType.Stderr) log.write(event.data);
            else onEnd(event);
          } catch (error) {
            kill(failure.withFacts(error, facts()));
          }
        },
        onEventsDone() {
          if (finished || early === null) return;
          try {
            // Complete by its Content-Length (or bodyless) already: a Buffer now; the connection
            // is released when END_REQUEST follows. Anything else streams.
            const parsed: ResponseHead = early;
            const bytes = earlyChunks.reduce((n, chunk) => n + chunk.length, 0);
            const complete =
              !parsed.chunked &&
              (!responseHasBody(req.method, parsed.status) ||
                (parsed.contentLength !== null && bytes >= parsed.contentLength));
            if (complete) completeEarly(parsed);
            else startStream(parsed);
          } catch (error) {
            kill(failure.withFacts(error, facts()));
          }
        },
        onFailure(kind, cause) {
          if (finished) return;
          if (reused && received === 0 && !settled && kind !== 'timeout' && kind !== 'malformed') {
            // A kept-open connection the backend closed while it sat idle (its keepalive timeout,
            // a restart, or no keep-alive at all): the backend read nothing of this request, so
            // replaying it is safe.
            pool.backendClosed(connection);
            detach();
            socket.destroy();
            settled = true;
            resolve(STALE);
            return;
          }
          if (kind === 'timeout') {
            kill(timer.timedOut(facts()));
          } else if (kind === 'malformed') {
            kill(failure.withFacts(cause, facts()));
          } else if (kind === 'error' && !connection.connected) {
            kill(failure.connect(facts(cause)));
          } else {
            kill(failure.reset({ ...facts(cause), details: { stderrTail: log.tail } }));
          }
        },
      };

      connection.user = user;
      req.signal.addEventListener('abort', onAbort, { once: true });
      socket.write(packet, () => {
        if (!finished && !writing && timer.phase !== 'read') timer.enter('read');
      });
      timer.arm();
      if (connection.connected) sendBody();
    });
  }

  return {
    scheme: 'fastcgi',
    target,
    async request(req, timeouts) {
      const inline = smallBodyBuffer(req.body, inlineLimit);
      // Not asked for while the pool knows the backend closes anyway (spec §5.1: without the flag
      // the application closes the connection, as such a backend does regardless).
      const keepAsked = keepConn && pool.keeping;
      let packet: Buffer;
      try {
        packet = encodeFastcgiRequest({
          requestId: REQUEST_ID,
          vars: buildCgiEnv(req, params, scripts),
          keepConn: keepAsked,
          stdin: inline ?? undefined,
          endStdin: inline !== null,
        });
      } catch (error) {
        throw failure.withFacts(error, { target, sentAnything: false });
      }
      const rest = inline === null ? req.body : null;
      for (let attempt = 1; ; attempt++) {
        if (req.signal.aborted) throw failure.aborted({ target, sentAnything: false });
        const outcome = await exchange(
          await lease(attempt > 1, req, timeouts),
          packet,
          rest,
          keepAsked,
          req,
          timeouts,
        );
        if (outcome !== STALE) return outcome;
        if (attempt === MAX_ATTEMPTS) {
          throw failure.reset({
            target,
            sentAnything: true,
            what: 'closed every kept-open connection tried',
          });
        }
      }
    },
    stats: () => pool.stats(),
    close: () => pool.close(failure.aborted({ target, sentAnything: false })),
  };
}
