// headers: the app sees the real client (address and scheme as the proxy set them), not
// what a client claims: a spoofed X-Forwarded-Proto/-For must not become the truth; Host
// is preserved; a client's `Proxy:` header never becomes HTTP_PROXY (httpoxy, CVE-2016-5385).

import { isIP } from 'node:net';
import type { EchoResponse } from './contract.js';
import { httpRequest, jsonOf } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

const SPOOFED_IP = '6.6.6.6';
const HOST = 'stackgen-verify.test';

/** The client address the app would trust: REMOTE_ADDR when it is an IP, else the proxy's X-Forwarded-For. */
export function clientAddressSeen(echo: EchoResponse): string | null {
  if (echo.remote_addr && isIP(echo.remote_addr)) return echo.remote_addr;
  return echo.headers['x-real-ip'] ?? echo.headers['x-forwarded-for'] ?? null;
}

export const headersProbe: ProbeDefinition<{ status: number; echo: EchoResponse | null }> = {
  id: 'headers',
  title: 'real client address and scheme; spoofed X-Forwarded-* ignored; Host kept; Proxy dropped',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  expect: (ctx) => `client 127.0.0.1, scheme http, host ${ctx.front.hostHeader ?? HOST}, HTTP_PROXY null`,
  async observe(ctx) {
    const answer = await httpRequest(ctx.front, '/stackgen-verify/headers', {
      headers: {
        // With a server_name, only that name reaches the stack on a real host.
        Host: ctx.front.hostHeader ?? HOST,
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-For': SPOOFED_IP,
        Proxy: 'http://evil.invalid:1',
      },
      signal: ctx.signal,
    });
    return { status: answer.status, echo: jsonOf<EchoResponse>(answer) };
  },
  judge({ status, echo }, ctx) {
    const host = ctx.front.hostHeader ?? HOST;
    if (status !== 200 || !echo) return fail(`answered ${status}`);
    const problems: string[] = [];
    const client = clientAddressSeen(echo);
    if (client !== '127.0.0.1') problems.push(`client address seen as ${client}`);
    if (ctx.plan.front.kind === 'none') {
      // No proxy: nothing strips a client's headers, so they reach the app as sent. What the
      // app server itself must not do is believe them — address and scheme stay the peer's.
      if (echo.scheme !== 'http') problems.push(`scheme seen as ${echo.scheme}`);
      if (!echo.host?.startsWith(host)) problems.push(`Host seen as ${echo.host}`);
      return problems.length > 0
        ? fail(problems.join('; '))
        : pass(
            `client ${client}, scheme ${echo.scheme}, host ${echo.host} (no proxy: X-Forwarded-*/Proxy reach the app unfiltered, the server did not apply them)`,
          );
    }
    const forwarded = `${echo.headers['x-forwarded-for'] ?? ''} ${echo.environ.HTTP_X_FORWARDED_FOR ?? ''}`;
    if (forwarded.includes(SPOOFED_IP)) problems.push(`spoofed X-Forwarded-For ${SPOOFED_IP} passed through`);
    if (echo.scheme !== 'http') problems.push(`scheme seen as ${echo.scheme}`);
    const proto = echo.headers['x-forwarded-proto'] ?? echo.environ.HTTP_X_FORWARDED_PROTO;
    if (proto && proto !== 'http') problems.push(`X-Forwarded-Proto ${proto} reached the app`);
    if (!echo.host?.startsWith(host)) problems.push(`Host seen as ${echo.host}`);
    if (echo.environ.HTTP_PROXY !== null) problems.push(`HTTP_PROXY=${echo.environ.HTTP_PROXY} (httpoxy)`);
    return problems.length > 0
      ? fail(problems.join('; '))
      : pass(`client ${client}, scheme ${echo.scheme}, host ${echo.host}, HTTP_PROXY null`);
  },
};
