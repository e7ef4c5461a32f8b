// The probes' HTTP client: one request per connection (no agent), so concurrent requests
// really are concurrent; every request has a deadline, so a hanging hop is a failed probe,
// never a hung verify; arrival times of body chunks are kept for the streaming probe.

import { readFileSync } from 'node:fs';
import { request as plainRequest } from 'node:http';
import { request as tlsRequest } from 'node:https';

export interface Target {
  host: string;
  port: number;
  /** The Host header requests carry unless they set one (the stack's server_name). */
  hostHeader?: string | undefined;
  /**
   * app.mount without its trailing slash ('' or absent at /): every path sent to this target
   * is below it, so an app probe's `/x` asks for `/hg/x`. Static files and user checks are
   * absolute URLs and go through `absoluteTarget`.
   */
  mount?: string | undefined;
  /** Speak TLS: trust `caFile` only (null: the system's store), send `servername` as SNI. */
  tls?: TargetTls | undefined;
}

export interface TargetTls {
  caFile: string | null;
  servername: string;
}

/** The TLS client options for a target: its CA alone, its SNI name, the name checked. */
export function tlsClientOptions(tls: TargetTls): { ca?: Buffer; servername: string } {
  return { ...(tls.caFile === null ? {} : { ca: readFileSync(tls.caFile) }), servername: tls.servername };
}

/** The same front, for absolute URLs (app.static, checks, proxy.unbuffered prefixes). */
export function absoluteTarget(target: Target): Target {
  return { ...target, mount: '' };
}

/** The path a request to `target` really asks for: `path` below the target's mount. */
export function mountedPath(target: Target, path: string): string {
  return `${target.mount ?? ''}${path}`;
}

/**
 * Where probes send requests for this plan: the front's address (a wildcard listen is
 * reached on loopback), with the stack's first server_name as Host when it has one — on a
 * real host another server (Debian's default site) answers any other name.
 */
export function frontTarget(plan: {
  front: { listen: { host: string; port: number }; tlsListens?: Array<{ host: string; port: number }> };
  spec: { proxy: { server_name: string }; app: { mount: string } };
  site?: { tls: { trustedCa: string | null } | null };
}): Target {
  // With proxy.tls the app is reached over https (the http addresses may only redirect).
  const tlsListen = plan.site?.tls ? plan.front.tlsListens?.[0] : undefined;
  const { host, port } = tlsListen ?? plan.front.listen;
  const name = plan.spec.proxy.server_name.split(/\s+/)[0] ?? '_';
  const hostHeader = name === '_' || name === '' ? undefined : name;
  return {
    host: host === '0.0.0.0' ? '127.0.0.1' : host === '::' || host === '[::]' ? '::1' : host,
    port,
    hostHeader,
    mount: plan.spec.app.mount === '/' ? '' : plan.spec.app.mount,
    ...(tlsListen && plan.site?.tls
      ? { tls: { caFile: plan.site.tls.trustedCa, servername: hostHeader ?? 'localhost' } }
      : {}),
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** performance.now() at each body chunk's arrival. */
  arrivals: number[];
  /** Header names and values as received, repeats kept (node's rawHeaders). */
  rawHeaders: string[];
  /** This end's address of the connection: the client address the front saw. */
  clientAddress: string | null;
  /** performance.now() when the request was sent and when the answer ended. */
  sentAt: number;
  endedAt: number;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Send these pieces with chunked transfer coding (no Content-Length). */
  chunkedBody?: Buffer[];
  /** Announce a body of this many bytes but never send it (a proxy must refuse on the header). */
  announceBytes?: number;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  /** Connect from this local address (e.g. 127.0.0.2: a client that is not the proxy's 127.0.0.1). */
  localAddress?: string | undefined;
}

export class HttpProbeError extends Error {
  constructor(
    message: string,
    readonly kind: 'timeout' | 'connection' | 'aborted',
  ) {
    super(message);
    this.name = 'HttpProbeError';
  }
}

/** Send one request and read the whole answer (or fail within the deadline). */
export function httpRequest(target: Target, path: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (target.hostHeader && !Object.keys(headers).some((h) => h.toLowerCase() === 'host'))
      headers['Host'] = target.hostHeader;
    if (options.body) headers['Content-Length'] = String(options.body.length);
    if (options.announceBytes !== undefined) headers['Content-Length'] = String(options.announceBytes);
    const sentAt = performance.now();
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new HttpProbeError(`no complete answer within ${timeoutMs} ms`, 'timeout')),
      timeoutMs,
    );
    const onAbort = () => fail(new HttpProbeError('interrupted', 'aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const request = target.tls ? tlsRequest : plainRequest;
    const req = request(
      {
        ...(target.tls ? tlsClientOptions(target.tls) : {}),
        host: target.host,
        port: target.port,
        path: mountedPath(target, path),
        method: options.method ?? 'GET',
        headers,
        agent: false,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (res) => {
        const clientAddress = res.socket?.localAddress ?? null;
        const parts: Buffer[] = [];
        const arrivals: number[] = [];
        res.on('data', (chunk: Buffer) => {
          parts.push(chunk);
          arrivals.push(performance.now());
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          // An announced-but-unsent body: the answer came early; drop the connection.
          if (options.announceBytes !== undefined) req.destroy();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            clientAddress,
            body: Buffer.concat(parts),
            arrivals,
            sentAt,
            endedAt: performance.now(),
          });
        });
        res.on('error', (err) => fail(new HttpProbeError(err.message, 'connection')));
      },
    );
    req.on('error', (err) => fail(new HttpProbeError(err.message, 'connection')));
    if (options.chunkedBody) {
      for (const piece of options.chunkedBody) req.write(piece);
      req.end();
    } else if (options.announceBytes !== undefined) {
      req.flushHeaders();
    } else {
      req.end(options.body);
    }
  });
}

/** Parse a JSON answer body; null when it is not JSON. */
export function jsonOf<T>(answer: HttpAnswer): T | null {
  try {
    return JSON.parse(answer.body.toString('utf8')) as T;
  } catch {
    return null;
  }
}
