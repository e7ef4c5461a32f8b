// headers: what the app is told about the client. The app sees the real client address as
// REMOTE_ADDR (the framework's own API: WSGI environ, ASGI scope client, tornado remote_ip)
// and the real scheme; every forwarding header a client can spoof (X-Forwarded-For/-Proto,
// X-Real-IP, Forwarded, X-Forwarded-Ssl, X-Forwarded-Protocol, X-Url-Scheme, Front-End-Https)
// is replaced or removed by the proxy; Host is preserved; a client's `Proxy:` header never
// becomes HTTP_PROXY (httpoxy, CVE-2016-5385). Security headers: the proxy's defaults are
// added once, and an app that sets its own (/__probe/frame: X-Frame-Options DENY) keeps them
// — never "DENY, SAMEORIGIN".

import { isIP } from 'node:net';
import { clientView, trustedProxyList } from '../gateway/forwarding.js';
import { PROXIES } from '../topology/catalog/proxies.js';
import { APP_SECURITY_HEADERS, type EchoResponse, probePaths } from './contract.js';
import { type HttpAnswer, httpRequest, jsonOf, type Target } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

const SPOOFED_IP = '6.6.6.6';
const HOST = 'stackgen-verify.test';
/**
 * The probe's source address on a loopback front. Not 127.0.0.1: that is where the proxy
 * itself connects from, so an app server reporting the proxy's address instead of the
 * client's would pass by accident. All of 127.0.0.0/8 is local on Linux; no setup needed.
 */
export const PROBE_CLIENT_ADDRESS = '127.0.0.2';
/** A second source, for a stack that trusts PROBE_CLIENT_ADDRESS as its load balancer: from here the same headers must be ignored. */
export const PROBE_OTHER_ADDRESS = '127.0.0.3';

/** Forwarding headers a client may send to pose as a proxy; none may reach the app as sent. */
export const SPOOFED_HEADERS: Readonly<Record<string, string>> = {
  'X-Forwarded-Proto': 'https',
  'X-Forwarded-For': SPOOFED_IP,
  'X-Real-IP': SPOOFED_IP,
  Forwarded: `for=${SPOOFED_IP};proto=https`,
  'X-Forwarded-Ssl': 'on',
  'X-Forwarded-Protocol': 'https',
  'X-Url-Scheme': 'https',
  'Front-End-Https': 'on',
};

/** Headers the proxy must drop outright (it sets no value of its own for them). */
const DROPPED = ['forwarded', 'x-forwarded-ssl', 'x-forwarded-protocol', 'x-url-scheme', 'front-end-https'];

/** What the front adds when the stack asks for security headers (nginx site, gateway config). */
const FRONT_SECURITY_HEADERS = ['x-content-type-options', 'x-frame-options', 'referrer-policy'];

/** Every value of header `lower` in a raw [name, value, …] list. */
export function headerValues(rawHeaders: readonly string[], lower: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if ((rawHeaders[i] as string).toLowerCase() === lower) values.push(rawHeaders[i + 1] as string);
  return values;
}

/** Where the probe connects from: 127.0.0.2 (or `other`) for an IPv4 loopback front, else the default. */
export function probeSourceAddress(frontHost: string, other = false): string | undefined {
  if (isIP(frontHost) !== 4 || !frontHost.startsWith('127.')) return undefined;
  return other ? PROBE_OTHER_ADDRESS : PROBE_CLIENT_ADDRESS;
}

interface EchoSeen {
  status: number;
  echo: EchoResponse | null;
  /** The probe's end of the connection: the address the front saw. */
  source: string | null;
  rawHeaders: string[];
}

interface Observation {
  /** From PROBE_CLIENT_ADDRESS; then, when the stack has trusted_proxies, from PROBE_OTHER_ADDRESS. */
  echoes: EchoSeen[];
  frame: { status: number; rawHeaders: string[] };
}

async function spoofedEcho(
  ctx: Parameters<ProbeDefinition['observe']>[0],
  localAddress: string | undefined,
): Promise<EchoSeen> {
  const answer = await httpRequest(ctx.front, '/stackgen-verify/headers', {
    headers: {
      // With a server_name, only that name reaches the stack on a real host.
      Host: ctx.front.hostHeader ?? HOST,
      ...SPOOFED_HEADERS,
      Proxy: 'http://evil.invalid:1',
    },
    localAddress,
    signal: ctx.signal,
  });
  return {
    status: answer.status,
    echo: jsonOf<EchoResponse>(answer),
    source: answer.clientAddress,
    rawHeaders: answer.rawHeaders,
  };
}

/** The client the app must be told about: the connection's, or a trusted load balancer's word. */
export interface ExpectedClient {
  address: string | null;
  scheme: 'http' | 'https';
}

/**
 * What the app must see for a request with SPOOFED_HEADERS from `source` (pure): the spoofed
 * address and scheme only when `source` is one of the stack's trusted_proxies (nginx realip,
 * the gateway's clientView: the same rule), else the connection's own.
 */
export function expectedClient(
  source: string | null,
  trustedProxies: readonly string[],
  connection: 'http' | 'https' = 'http',
): ExpectedClient {
  if (source === null) return { address: null, scheme: connection };
  const raw = Object.entries(SPOOFED_HEADERS).flat();
  const view = clientView(source, connection, raw, trustedProxyList(trustedProxies));
  return { address: view.remoteAddress, scheme: view.scheme };
}

/** Judge the echo of a request carrying SPOOFED_HEADERS (pure). */
export function forwardingProblems(
  echo: EchoResponse,
  expected: ExpectedClient,
  edge: boolean,
  wsgiEnviron = false,
): string[] {
  const problems: string[] = [];
  const client = expected.address;
  // REMOTE_ADDR as the framework reports it: no fallback to a header, which is what an app
  // reading request.remote_addr / request.META['REMOTE_ADDR'] would not do either.
  if (client === null || echo.remote_addr !== client)
    problems.push(`REMOTE_ADDR ${echo.remote_addr === '' ? '(empty)' : echo.remote_addr} (client ${client})`);
  if (echo.scheme !== expected.scheme)
    problems.push(`scheme seen as ${echo.scheme} (want ${expected.scheme})`);
  // The URLs the framework writes into pages, redirects and e-mails (Django, Flask).
  if (typeof echo.absolute_url === 'string' && !echo.absolute_url.startsWith(`${expected.scheme}://`))
    problems.push(`the app builds absolute URLs as ${echo.absolute_url} (want ${expected.scheme}://…)`);
  if (!edge) {
    // No proxy: a WSGI server facing clients must close httpoxy itself (uWSGI overrides
    // HTTP_PROXY with an empty value, which names no proxy): the client's value must not
    // survive in the environ. An ASGI app has no environ: nothing to judge there.
    if (wsgiEnviron && echo.environ.HTTP_PROXY)
      problems.push(`HTTP_PROXY=${echo.environ.HTTP_PROXY} (httpoxy)`);
    return problems;
  }
  for (const forwarded of [echo.headers['x-forwarded-for'], echo.environ.HTTP_X_FORWARDED_FOR])
    if (forwarded !== undefined && forwarded !== null && forwarded !== client)
      problems.push(`X-Forwarded-For ${forwarded} reached the app (the proxy sets ${client})`);
  const proto = echo.headers['x-forwarded-proto'] ?? echo.environ.HTTP_X_FORWARDED_PROTO;
  if (proto && proto !== expected.scheme) problems.push(`X-Forwarded-Proto ${proto} reached the app`);
  const realIp = echo.headers['x-real-ip'];
  if (realIp !== undefined && realIp !== client) problems.push(`X-Real-IP ${realIp} reached the app`);
  for (const name of DROPPED) {
    const value = echo.headers[name];
    if (value !== undefined) problems.push(`${name}: ${value} reached the app`);
  }
  if (echo.environ.HTTP_PROXY !== null) problems.push(`HTTP_PROXY=${echo.environ.HTTP_PROXY} (httpoxy)`);
  return problems;
}

/** Security headers: the app's own once and unchanged; the front's once where the app set none (pure). */
export function securityHeaderProblems(
  frameHeaders: readonly string[],
  echoHeaders: readonly string[],
  frontAdds: boolean,
): string[] {
  const problems: string[] = [];
  for (const [name, value] of APP_SECURITY_HEADERS) {
    const seen = headerValues(frameHeaders, name.toLowerCase());
    if (seen.length !== 1 || seen[0] !== value)
      problems.push(
        `app sent ${name}: ${value}, client got ${seen.length === 0 ? 'none' : seen.join(' | ')}`,
      );
  }
  if (frontAdds)
    for (const name of FRONT_SECURITY_HEADERS) {
      const seen = headerValues(echoHeaders, name);
      if (seen.length !== 1) problems.push(`${name} sent ${seen.length} times by the front (want once)`);
    }
  return problems;
}

/** The scheme of the probe's own connection to the front: https on a TLS listener. */
const connectionScheme = (front: Target): 'http' | 'https' => (front.tls ? 'https' : 'http');

export const headersProbe: ProbeDefinition<Observation> = {
  id: 'headers',
  title:
    'real client address (REMOTE_ADDR) and scheme; spoofed forwarding headers dropped; Host kept; Proxy dropped; security headers once',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  expect: (ctx) => {
    const source = probeSourceAddress(ctx.front.host) ?? null;
    const want = expectedClient(source, ctx.plan.spec.proxy.trusted_proxies, connectionScheme(ctx.front));
    return (
      `REMOTE_ADDR ${want.address ?? 'the client'}, scheme ${want.scheme}, host ${ctx.front.hostHeader ?? HOST}, ` +
      'no spoofed forwarding header, HTTP_PROXY null, X-Frame-Options DENY from the app once'
    );
  },
  async observe(ctx) {
    const localAddress = probeSourceAddress(ctx.front.host);
    const echoes = [await spoofedEcho(ctx, localAddress)];
    // Behind a trusted load balancer: the same headers from an address it does not list.
    const other = probeSourceAddress(ctx.front.host, true);
    if (ctx.plan.spec.proxy.trusted_proxies.length > 0 && other !== undefined)
      echoes.push(await spoofedEcho(ctx, other));
    const frame: HttpAnswer = await httpRequest(ctx.front, probePaths.frame(), {
      localAddress,
      signal: ctx.signal,
    });
    return { echoes, frame: { status: frame.status, rawHeaders: frame.rawHeaders } };
  },
  judge(seen, ctx) {
    const host = ctx.front.hostHeader ?? HOST;
    const edge = ctx.plan.front.kind !== 'none';
    const trusted = ctx.plan.spec.proxy.trusted_proxies;
    const problems: string[] = [];
    const told: string[] = [];
    for (const { status, echo, source } of seen.echoes) {
      // gunicorn answers 400 "Contradictory scheme headers" when a spoofed X-Forwarded-Ssl
      // reaches it next to the proxy's X-Forwarded-Proto.
      if (status !== 200 || !echo)
        return fail(`answered ${status} to a request with spoofed forwarding headers`);
      const expected = expectedClient(source, trusted, connectionScheme(ctx.front));
      const found = forwardingProblems(echo, expected, edge, ctx.plan.spec.app.interface === 'wsgi');
      problems.push(...found.map((p) => (seen.echoes.length > 1 ? `from ${source}: ${p}` : p)));
      if (!echo.host?.startsWith(host)) problems.push(`Host seen as ${echo.host}`);
      told.push(
        `from ${source}: REMOTE_ADDR ${echo.remote_addr}, scheme ${echo.scheme}${echo.absolute_url ? `, app builds ${echo.absolute_url}` : ''}`,
      );
    }
    if (seen.frame.status !== 200) problems.push(`${probePaths.frame()} answered ${seen.frame.status}`);
    else
      problems.push(
        ...securityHeaderProblems(
          seen.frame.rawHeaders,
          seen.echoes[0]?.rawHeaders ?? [],
          // A front that cannot add a header only when the app set none adds none to the
          // app's answers (catalog appSecurityHeadersGap): the app's own are still judged.
          edge &&
            ctx.plan.spec.proxy.security_headers &&
            PROXIES[ctx.plan.front.kind].appSecurityHeadersGap === undefined,
        ),
      );
    return problems.length > 0
      ? fail(problems.join('; '))
      : pass(
          `${told.join('; ')}; host kept, no spoofed header, HTTP_PROXY ${edge ? 'null' : 'cleared'}, app security headers once`,
        );
  },
};
