// The one interface between the gateway's proxy core and a backend wire protocol.
// The proxy core (proxy.ts) sees only this file; each protocol lives in transports/<name>.ts
// and wires a pure codec (codecs/) to a socket or a child process.

import type { Duplex, Readable } from 'node:stream';
import type { ScriptRoot } from './cgi-env.js';

/** The protocols the gateway can speak to a backend. */
export type UpstreamScheme = 'http' | 'uwsgi' | 'fastcgi' | 'scgi' | 'cgi';

/** Where a backend listens: TCP, a unix socket, or (CGI) a script to spawn. */
export type UpstreamAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'script'; path: string; interpreter?: string | undefined };

export interface UpstreamTarget {
  scheme: UpstreamScheme;
  address: UpstreamAddress;
  /**
   * CGI and FastCGI: environment for the program behind it (a location's `env:`, `--env`), as
   * nginx's fastcgi_param: a CGI script's environment, FastCGI params. Replaces built variables.
   */
  env?: ReadonlyArray<readonly [string, string]> | undefined;
  /** FastCGI: the backend runs files below this root (`?root=`); see buildCgiEnv. */
  scriptRoot?: ScriptRoot | undefined;
}

/**
 * The one name of a target, as written in the config, in every log line and error message:
 * `uwsgi://127.0.0.1:3031`, `fastcgi://unix:/run/app.sock`, `cgi:/srv/cgi-bin/x.py`.
 */
export function targetName(target: UpstreamTarget): string {
  const a = target.address;
  if (a.kind === 'script') return `${target.scheme}:${a.path}`;
  if (a.kind === 'unix') return `${target.scheme}://unix:${a.path}`;
  return `${target.scheme}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/**
 * A request body after the front has read it completely (nginx does the same by default:
 * proxy_request_buffering / uwsgi_request_buffering on). Chunked uploads are de-chunked,
 * so `length` is always known; large bodies live in a temp file instead of memory.
 */
export type RequestBody =
  | { kind: 'memory'; length: number; chunks: readonly Buffer[] }
  | { kind: 'file'; length: number; path: string };

/** Everything a transport needs to forward one request; built once by the front. */
export interface GatewayRequest {
  method: string;
  /** The raw request-target as the client sent it (origin-form), e.g. `/app/a%20b?x=1`. */
  rawTarget: string;
  /** The raw (still percent-encoded) path part of rawTarget. */
  rawPath: string;
  /** The query string without `?` ('' when absent). */
  query: string;
  /** The mount point of the matched location ('' for `/`); CGI SCRIPT_NAME. */
  scriptName: string;
  /** The decoded path below scriptName; CGI PATH_INFO. */
  pathInfo: string;
  httpVersion: '1.0' | '1.1';
  /** Raw header pairs in the order received (names as sent), as node's rawHeaders. */
  rawHeaders: readonly string[];
  /** Host header value, or the server name when the client sent none (HTTP/1.0). */
  host: string;
  scheme: 'http' | 'https';
  remoteAddress: string;
  remotePort: number;
  serverAddress: string;
  serverPort: number;
  serverName: string;
  documentRoot: string;
  body: RequestBody | null;
  /** Aborted when the client goes away or the request times out: the transport must stop. */
  signal: CancelSignal;
}

/**
 * The part of AbortSignal the transports use (an AbortController's signal fits). The front
 * uses the lighter Cancellation below: an AbortController costs an EventTarget per request,
 * which showed up at ~3% of the gateway's CPU profile under load.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A one-shot cancellation: listeners run once, in order, on the first abort(). */
export class Cancellation implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Array<() => void> | null = null;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    if (this.#listeners === null) this.#listeners = [listener];
    else this.#listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    if (listeners === null) return;
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  }

  abort(reason: unknown = new Error('This operation was aborted')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = null;
    if (listeners !== null) for (const listener of listeners) listener();
  }
}

/**
 * A backend's answer. `body` is a Buffer when the whole body was already in hand when the head
 * was parsed (the usual small answer: it goes to the client in the same write as the head);
 * otherwise a Readable, streamed to the client with backpressure.
 */
export interface UpstreamResponse {
  status: number;
  statusText?: string | undefined;
  /** Header pairs in order, names as the backend sent them (hop-by-hop ones removed). */
  headers: Array<[string, string]>;
  body: Readable | Buffer;
  /**
   * CGI local redirect (RFC 3875 §6.2.2): `Location: /path` with no status means the gateway
   * must serve that path itself. Set only by CGI-style transports.
   */
  localRedirect?: string | undefined;
}

export interface TransportTimeouts {
  /** Milliseconds to establish the connection (nginx *_connect_timeout). */
  connectMs: number;
  /** Milliseconds between two successive reads from the backend (nginx *_read_timeout). */
  readMs: number;
  /** Milliseconds between two successive writes to the backend (nginx *_send_timeout). */
  sendMs: number;
}

/**
 * One backend protocol. `request` rejects with an UpstreamError (errors.ts, built by
 * transports/upstream-failure.ts) whose code is one of SG_ERR_UPSTREAM_CONNECT | _RESET |
 * _TIMEOUT | _MALFORMED | _REJECTED | _REQUEST_TOO_LARGE (statusFor: 502 / 504 / 500); its
 * `sentAnything` tells the core whether a retry on another backend is safe.
 */
export interface Transport {
  readonly scheme: UpstreamScheme;
  readonly target: UpstreamTarget;
  request(req: GatewayRequest, timeouts: TransportTimeouts): Promise<UpstreamResponse>;
  /** HTTP only: tunnel a WebSocket (or other Upgrade) connection to the backend. */
  upgrade?(req: GatewayRequest, client: Duplex, head: Buffer, timeouts: TransportTimeouts): Promise<void>;
  /** Close pooled connections and kill children; resolves when all are gone. */
  close(): Promise<void>;
}
