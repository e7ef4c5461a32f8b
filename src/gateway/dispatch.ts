// The request pipeline every lane shares: guard → route (routeHead), then static | proxy
// (dispatch). The fast lane (HTTP/1.x), the h2 lane, WebSocket upgrades and CGI local redirects
// all come through here, so a rule about which request reaches which location is written once.

import { discardRequestBody } from './body.js';
import type { UpstreamLocation } from './config.js';
import { clientView } from './forwarding.js';
import type { GatewayState } from './gateway-state.js';
import { gzipResponseSink, joinedHeader } from './gzip.js';
import { type ProxyOutcome, proxyRequest } from './proxy.js';
import { type GuardAccepted, type GuardInput, guardRequest } from './request-guard.js';
import type { ResponseSink } from './response-sink.js';
import { escapeLogField } from './log.js';
import { routeRequest, type RouteResult } from './router.js';
import { type StaticRequest, serveStatic } from './static.js';
import type { CancelSignal, GatewayRequest, RequestBody } from './transport.js';
import type { UpstreamPool } from './upstream-pool.js';

/** A request that passed the guard and matched a location. */
export interface Routed {
  ok: true;
  guard: GuardAccepted;
  route: Extract<RouteResult, { ok: true }>;
  /** The request declares a body (chunked, or a Content-Length above 0). */
  hasBody: boolean;
}

/** A request the guard or the router refused, with the status nginx would answer. */
export interface Refused {
  ok: false;
  status: number;
  /**
   * 'guard' (malformed: the connection cannot be trusted), 'host' (421: a Host this gateway
   * does not serve) or 'route' (404, or an encoded-slash 400).
   */
  by: 'guard' | 'host' | 'route';
  hasBody: boolean;
  /** A 301's Location (the mount point with its slash). */
  redirectTo?: string;
}

/**
 * Guard a request head, then route it with the state's router (pure). `scheme` is the
 * connection's: on plain http with tls.redirect_http every request that passed the guard
 * and the Host check is answered 301 to https instead of being routed.
 */
export function routeHead(s: GatewayState, head: GuardInput, scheme: 'http' | 'https'): Routed | Refused {
  const guard = guardRequest(head);
  if (!guard.ok) return { ok: false, status: guard.status, by: 'guard', hasBody: false };
  const hasBody = guard.chunked || (guard.contentLength ?? 0) > 0;
  if (!servesHost(s.config.hosts, guard.host)) return { ok: false, status: 421, by: 'host', hasBody };
  if (scheme === 'http' && s.httpsRedirect !== null && !guard.path.startsWith(ACME_CHALLENGE_PREFIX))
    return {
      ok: false,
      status: 301,
      by: 'route',
      hasBody,
      redirectTo: httpsLocation(guard.host ?? s.config.serverName, s.httpsRedirect.port, guard.rawTarget),
    };
  const route = routeRequest(s.router, guard.path, guard.pathKeepingEncodedSlashes, guard.query);
  if (!route.ok)
    return route.status === 301
      ? { ok: false, status: 301, by: 'route', hasBody, redirectTo: route.redirectTo }
      : { ok: false, status: route.status, by: 'route', hasBody };
  return { ok: true, guard, route, hasBody };
}

/**
 * RFC 8555 §8.3: the HTTP-01 challenge is fetched over plain http on port 80, and Let's
 * Encrypt follows redirects only to http/https on 80/443 — so this path is never redirected,
 * whatever serves it, and a renewal keeps working with redirect_http on.
 */
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

/**
 * The https URL of a request (nginx's `return 301 https://$host$request_uri`): the Host
 * without its port, the TLS port unless it is 443, the target exactly as sent (path and
 * query kept, RFC 9110 §15.4.2). Pure.
 */
export function httpsLocation(host: string, port: number | null, rawTarget: string): string {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
  return `https://${name.toLowerCase()}${port === null ? '' : `:${port}`}${rawTarget}`;
}

/**
 * Does a gateway with these host names answer for this Host (port dropped, case ignored)?
 * nginx's catch-all server answers 444 (close, no answer) to any other name; node:http has
 * no such thing, so the gateway says 421 Misdirected Request — RFC 9110 §15.5.20: "the
 * request was directed at a server that is unable or unwilling to produce an authoritative
 * response for the target URI" — and closes. Either way the app never sees the request. A
 * request without Host (HTTP/1.0) is for the server name. Pure.
 */
export function servesHost(hosts: readonly string[], host: string | null): boolean {
  if (hosts.length === 0 || host === null) return true;
  const name = (host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, ''))
    .toLowerCase()
    .replace(/\.$/, '');
  // nginx's wildcard forms: `*.example.org` (a subdomain), `.example.org` (it and its subdomains).
  return hosts.some((h) =>
    h.startsWith('*.')
      ? name.endsWith(h.slice(1))
      : h.startsWith('.')
        ? name === h.slice(1) || name.endsWith(h)
        : h === name,
  );
}

/** Both ends of the client connection, for REMOTE_ADDR / SERVER_PORT and the access log. */
export interface Peer {
  remoteAddress: string;
  remotePort: number;
  serverAddress: string;
  serverPort: number;
  /** Set when the client is already resolved (a local redirect's original request). */
  scheme?: 'http' | 'https';
  /** The connection's own scheme: https on a TLS listener (HTTP/1.1 or h2). */
  connectionScheme: 'http' | 'https';
}

/** https for a TLS socket (TLSSocket#encrypted, also on an h2 session's socket), else http. */
export function connectionScheme(socket: object): 'http' | 'https' {
  return (socket as { encrypted?: unknown }).encrypted === true ? 'https' : 'http';
}

/** The Peer of a client socket. */
export function peerOf(socket: {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  localAddress?: string | undefined;
  localPort?: number | undefined;
  encrypted?: boolean;
}): Peer {
  return {
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    serverAddress: socket.localAddress ?? '',
    serverPort: socket.localPort ?? 0,
    connectionScheme: connectionScheme(socket),
  };
}

/**
 * Where a request's body comes from (the fast lane, the h2 lane): read once the location is known
 * to be an upstream one — or the refusal already answered (413, 408, 499) — and discarded
 * for a static one.
 */
export interface BodySource {
  read(guard: GuardAccepted): Promise<RequestBody | null | ProxyOutcome>;
  discard(): void;
}

/** One routed request and where its answer goes. */
export interface Dispatch {
  method: string;
  peer: Peer;
  sink: ResponseSink;
  signal: CancelSignal;
  /** The request's headers as a record of lower-case names, for static files. */
  staticHeaders(): StaticRequest['headers'];
  /** null when the request has no body to read (fast lane, local redirect). */
  body: BodySource | null;
  /** Header pairs forwarded to the backend instead of the guarded ones (a local redirect's). */
  forwardHeaders?: readonly string[];
  /** False on a local redirect's own request: a second redirect is answered 500. */
  mayRedirect: boolean;
}

/** Serve a routed request: a static file, or the proxy core for an upstream location. */
export async function dispatch(s: GatewayState, routed: Routed, d: Dispatch): Promise<ProxyOutcome> {
  const { guard, route } = routed;
  const loc = route.location;
  if (loc.kind === 'static') {
    d.body?.discard();
    const headers = d.staticHeaders();
    // gzip on applies to static files as well (nginx's filter sees every answer): a text file
    // of 1 KiB or more goes out compressed; one with a `.gz` sibling is already encoded.
    const sink = s.config.gzip
      ? gzipResponseSink(d.sink, {
          method: d.method,
          httpVersion: guard.httpVersion,
          acceptEncoding: headers['accept-encoding'],
        })
      : d.sink;
    const r = await serveStatic(
      { method: d.method, headers },
      sink,
      loc,
      guard.path,
      securityHeadersFor(s, d.peer),
    );
    return { ...r, upstreamMs: null, upstream: null };
  }
  let body: RequestBody | null = null;
  if (d.body !== null && routed.hasBody) {
    const read = await d.body.read(guard);
    if (read !== null && 'status' in read) return read;
    body = read;
  }
  try {
    const request = gatewayRequestFor(s, routed, loc, d, body);
    return await proxyTo(s, loc, d.sink, request, d.mayRedirect, securityHeadersFor(s, d.peer));
  } finally {
    if (body !== null) void discardRequestBody(body);
  }
}

/**
 * The security headers of an answer: on a TLS connection with Strict-Transport-Security.
 * RFC 6797 §7.2: "An HSTS Host MUST NOT include the STS header field in HTTP responses
 * conveyed over non-secure transport" — so never on the plain listeners.
 */
function securityHeadersFor(s: GatewayState, peer: Peer): Array<[string, string]> {
  return peer.connectionScheme === 'https' ? s.httpsSecurityHeaders : s.config.securityHeaders;
}

/** The GatewayRequest for a guarded, routed request (one place for every lane). */
export function gatewayRequestFor(
  s: Pick<GatewayState, 'config' | 'trustedProxies'>,
  routed: Routed,
  loc: UpstreamLocation,
  d: Pick<Dispatch, 'method' | 'peer' | 'signal' | 'forwardHeaders'>,
  body: RequestBody | null,
): GatewayRequest {
  const { guard, route } = routed;
  const config = s.config;
  // The client address and scheme: the connection's, or a trusted load balancer's word.
  const client =
    d.peer.scheme !== undefined
      ? { remoteAddress: d.peer.remoteAddress, scheme: d.peer.scheme }
      : clientView(d.peer.remoteAddress, d.peer.connectionScheme, guard.rawHeaders, s.trustedProxies);
  return {
    method: d.method,
    rawTarget: guard.rawTarget,
    rawPath: guard.rawPath,
    query: guard.query,
    scriptName: route.scriptName,
    pathInfo: route.pathInfo,
    httpVersion: guard.httpVersion,
    rawHeaders: d.forwardHeaders ?? guard.rawHeaders,
    host: guard.host ?? config.serverName,
    scheme: client.scheme,
    remoteAddress: client.remoteAddress,
    remotePort: d.peer.remotePort,
    serverAddress: d.peer.serverAddress,
    serverPort: d.peer.serverPort,
    serverName: config.serverName,
    documentRoot: loc.documentRoot,
    body,
    signal: d.signal,
  };
}

/** The proxy core for one upstream location, with a CGI local redirect routed back here. */
function proxyTo(
  s: GatewayState,
  loc: UpstreamLocation,
  sink: ResponseSink,
  request: GatewayRequest,
  mayRedirect: boolean,
  securityHeaders: ReadonlyArray<readonly [string, string]>,
): Promise<ProxyOutcome> {
  // gzip: a local redirect's request gets its own decision, so it is handed the plain sink.
  const out = s.config.gzip
    ? gzipResponseSink(sink, {
        method: request.method,
        httpVersion: request.httpVersion,
        acceptEncoding: joinedHeader(request.rawHeaders, 'accept-encoding'),
      })
    : sink;
  return proxyRequest({
    sink: out,
    request,
    pool: s.pools.get(loc) as UpstreamPool,
    timeouts: s.transportTimeouts,
    securityHeaders,
    logger: s.logger,
    redispatch: mayRedirect
      ? (target) => localRedirect(s, sink, request, target)
      : async (target) => {
          s.logger.error(
            `a second CGI local redirect (to "${escapeLogField(target)}") while "${escapeLogField(request.method)} ${escapeLogField(request.rawTarget)}": answered 500`,
          );
          return { ...sink.sendError(500), upstreamMs: null, upstream: null };
        },
  });
}

/** RFC 3875 §6.2.2: re-dispatch a CGI local redirect as a GET without body, once. */
function localRedirect(
  s: GatewayState,
  sink: ResponseSink,
  original: GatewayRequest,
  target: string,
): Promise<ProxyOutcome> {
  const routed = routeHead(
    s,
    {
      method: 'GET',
      httpVersion: original.httpVersion,
      url: target,
      rawHeaders: ['Host', original.host],
    },
    // An internal redirect is never turned into a 301 to https: its request passed that check.
    'https',
  );
  if (!routed.ok) {
    const status = routed.by === 'guard' ? 500 : routed.status;
    return Promise.resolve({ ...sink.sendError(status), upstreamMs: null, upstream: null });
  }
  return dispatch(s, routed, {
    method: 'GET',
    peer: {
      remoteAddress: original.remoteAddress,
      remotePort: original.remotePort,
      serverAddress: original.serverAddress,
      serverPort: original.serverPort,
      scheme: original.scheme,
      // The original's connection is not at hand here; its resolved scheme stands in (it
      // differs only behind a trusted load balancer, where HSTS is that balancer's job).
      connectionScheme: original.scheme,
    },
    sink,
    signal: original.signal,
    staticHeaders: () => ({}),
    body: null,
    forwardHeaders: original.rawHeaders.filter((_, i, all) => {
      const name = (i % 2 === 0 ? all[i] : all[i - 1]) as string;
      return !/^(content-length|content-type|transfer-encoding)$/i.test(name);
    }),
    mayRedirect: false,
  });
}

/** Raw header pairs as a record of lower-case names (repeats joined with ", "), for static files. */
export function headerRecord(rawHeaders: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}
