// headers: what the app is told about the client. The app sees the real client address as
// REMOTE_ADDR (the framework's own API: WSGI environ, ASGI scope client, tornado remote_ip)
// and the real scheme; every forwarding header a client can spoof (X-Forwarded-For/-Proto,
// X-Real-IP, Forwarded, X-Forwarded-Ssl, X-Forwarded-Protocol, X-Url-Scheme, Front-End-Https)
// is replaced or removed by the proxy; Host is preserved; a client's `Proxy:` header never
// becomes HTTP_PROXY (httpoxy, CVE-2016-5385). Security headers: the proxy's defaults are
// added once, and an app that sets its own (/__probe/frame: X-Frame-Options DENY) keeps them
// — never "DENY, SAMEORIGIN".

import { isIP } from 'node:net';
import { APP_SECURITY_HEADERS, type EchoResponse, probePaths } from './contract.js';
import { type HttpAnswer, httpRequest, jsonOf } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

const SPOOFED_IP = '6.6.6.6';
const HOST = 'stackgen-verify.test';
/**
 * The probe's source address on a loopback front. Not 127.0.0.1: that is where the proxy
 * itself connects from, so an app server reporting the proxy's address instead of the
 * client's would pass by accident. All of 127.0.0.0/8 is local on Linux; no setup needed.
 */
export const PROBE_CLIENT_ADDRESS = '127.0.0.2';

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

/** Where the probe connects from: 127.0.0.2 for an IPv4 loopback front, else the default. */
export function probeSourceAddress(frontHost: string): string | undefined {
  return isIP(frontHost) === 4 && frontHost.startsWith('127.') ? PROBE_CLIENT_ADDRESS : undefined;
}

interface Observation {
  status: number;
  echo: EchoResponse | null;
  /** The probe's end of the connection: the address the front saw. */
  client: string | null;
  echoHeaders: string[];
  frame: { status: number; rawHeaders: string[] };
}

/** Judge the echo of a request carrying SPOOFED_HEADERS (pure). */
export function forwardingProblems(echo: EchoResponse, client: string | null, edge: boolean): string[] {
  const problems: string[] = [];
  // REMOTE_ADDR as the framework reports it: no fallback to a header, which is what an app
  // reading request.remote_addr / request.META['REMOTE_ADDR'] would not do either.
  if (client === null || echo.remote_addr !== client)
    problems.push(`REMOTE_ADDR ${echo.remote_addr === '' ? '(empty)' : echo.remote_addr} (client ${client})`);
  if (echo.scheme !== 'http') problems.push(`scheme seen as ${echo.scheme}`);
  if (!edge) return problems;
  const forwarded = `${echo.headers['x-forwarded-for'] ?? ''} ${echo.environ.HTTP_X_FORWARDED_FOR ?? ''}`;
  if (forwarded.includes(SPOOFED_IP)) problems.push(`spoofed X-Forwarded-For ${SPOOFED_IP} passed through`);
  const proto = echo.headers['x-forwarded-proto'] ?? echo.environ.HTTP_X_FORWARDED_PROTO;
  if (proto && proto !== 'http') problems.push(`X-Forwarded-Proto ${proto} reached the app`);
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

export const headersProbe: ProbeDefinition<Observation> = {
  id: 'headers',
  title:
    'real client address (REMOTE_ADDR) and scheme; spoofed forwarding headers dropped; Host kept; Proxy dropped; security headers once',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  expect: (ctx) =>
    `REMOTE_ADDR ${probeSourceAddress(ctx.front.host) ?? 'the client'}, scheme http, host ${ctx.front.hostHeader ?? HOST}, ` +
    'no spoofed forwarding header, HTTP_PROXY null, X-Frame-Options DENY from the app once',
  async observe(ctx) {
    const localAddress = probeSourceAddress(ctx.front.host);
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
    const frame: HttpAnswer = await httpRequest(ctx.front, probePaths.frame(), {
      localAddress,
      signal: ctx.signal,
    });
    return {
      status: answer.status,
      echo: jsonOf<EchoResponse>(answer),
      client: answer.clientAddress,
      echoHeaders: answer.rawHeaders,
      frame: { status: frame.status, rawHeaders: frame.rawHeaders },
    };
  },
  judge(seen, ctx) {
    const host = ctx.front.hostHeader ?? HOST;
    const { status, echo } = seen;
    // gunicorn answers 400 "Contradictory scheme headers" when a spoofed X-Forwarded-Ssl
    // reaches it next to the proxy's X-Forwarded-Proto.
    if (status !== 200 || !echo)
      return fail(`answered ${status} to a request with spoofed forwarding headers`);
    const edge = ctx.plan.front.kind !== 'none';
    const problems = forwardingProblems(echo, seen.client, edge);
    if (!echo.host?.startsWith(host)) problems.push(`Host seen as ${echo.host}`);
    if (seen.frame.status !== 200) problems.push(`${probePaths.frame()} answered ${seen.frame.status}`);
    else
      problems.push(
        ...securityHeaderProblems(
          seen.frame.rawHeaders,
          seen.echoHeaders,
          edge && ctx.plan.spec.proxy.security_headers,
        ),
      );
    return problems.length > 0
      ? fail(problems.join('; '))
      : pass(
          `REMOTE_ADDR ${echo.remote_addr}, scheme ${echo.scheme}, host ${echo.host}, no spoofed header, ` +
            'HTTP_PROXY null, app security headers once',
        );
  },
};
