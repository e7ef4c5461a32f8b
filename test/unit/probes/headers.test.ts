import { describe, expect, it } from 'vitest';
import type { EchoResponse } from '../../../src/probes/contract.js';
import {
  expectedClient,
  forwardingProblems,
  headerValues,
  probeSourceAddress,
  securityHeaderProblems,
} from '../../../src/probes/headers.js';

const CLIENT = '127.0.0.2';
const DIRECT = { address: CLIENT, scheme: 'http' } as const;

function echo(over: { remote_addr?: string | null; headers?: Record<string, string> } = {}): EchoResponse {
  return {
    remote_addr: CLIENT,
    scheme: 'http',
    headers: { 'x-forwarded-for': CLIENT, 'x-forwarded-proto': 'http' },
    environ: { HTTP_PROXY: null, HTTP_X_FORWARDED_FOR: CLIENT, HTTP_X_FORWARDED_PROTO: 'http' },
    ...over,
  } as unknown as EchoResponse;
}

describe('headers probe: forwarding headers', () => {
  it('passes a proxy that set the client address and dropped every spoofed header', () => {
    expect(forwardingProblems(echo({ headers: { 'x-real-ip': CLIENT } }), DIRECT, true)).toEqual([]);
  });

  it('demands REMOTE_ADDR: empty (gunicorn on a unix socket) or the proxy address fails, whatever X-Real-IP says', () => {
    expect(
      forwardingProblems(echo({ remote_addr: '', headers: { 'x-real-ip': CLIENT } }), DIRECT, true),
    ).toEqual([`REMOTE_ADDR (empty) (client ${CLIENT})`]);
    expect(forwardingProblems(echo({ remote_addr: '127.0.0.1' }), DIRECT, true)).toHaveLength(1);
  });

  it('fails on each spoofed header that reached the app', () => {
    const problems = forwardingProblems(
      echo({
        headers: {
          'x-real-ip': '6.6.6.6',
          forwarded: 'for=6.6.6.6',
          'x-forwarded-ssl': 'on',
          'x-forwarded-protocol': 'https',
          'x-url-scheme': 'https',
          'front-end-https': 'on',
        },
      }),
      DIRECT,
      true,
    );
    expect(problems).toHaveLength(6);
  });

  it('behind a trusted load balancer the spoofed values are the truth, and then demanded', () => {
    const trusted = expectedClient(CLIENT, ['127.0.0.2/32']);
    expect(trusted).toEqual({ address: '6.6.6.6', scheme: 'https' });
    expect(expectedClient('127.0.0.3', ['127.0.0.2/32'])).toEqual({ address: '127.0.0.3', scheme: 'http' });
    expect(expectedClient(CLIENT, [])).toEqual(DIRECT);
    // The proxy ignored the load balancer: the app sees the balancer's address and http.
    expect(forwardingProblems(echo(), trusted, true)).toEqual([
      'REMOTE_ADDR 127.0.0.2 (client 6.6.6.6)',
      'scheme seen as http (want https)',
      'X-Forwarded-For 127.0.0.2 reached the app (the proxy sets 6.6.6.6)',
      'X-Forwarded-For 127.0.0.2 reached the app (the proxy sets 6.6.6.6)',
      'X-Forwarded-Proto http reached the app',
    ]);
  });

  it('with no proxy in front only the address and scheme are judged', () => {
    expect(forwardingProblems(echo({ headers: { forwarded: 'for=6.6.6.6' } }), DIRECT, false)).toEqual([]);
  });

  it('with no proxy a WSGI server must close httpoxy itself: an emptied HTTP_PROXY names no proxy', () => {
    const proxied = (value: string | null) => {
      const e = echo();
      return { ...e, environ: { ...e.environ, HTTP_PROXY: value } };
    };
    expect(forwardingProblems(proxied('http://evil.invalid:1'), DIRECT, false, true)).toEqual([
      'HTTP_PROXY=http://evil.invalid:1 (httpoxy)',
    ]);
    expect(forwardingProblems(proxied(''), DIRECT, false, true)).toEqual([]);
    // An ASGI app has no environ: its probe app's HTTP_PROXY is only the header.
    expect(forwardingProblems(proxied('http://evil.invalid:1'), DIRECT, false, false)).toEqual([]);
  });
});

describe('headers probe: security headers', () => {
  const app = [
    'X-Frame-Options',
    'DENY',
    'X-Content-Type-Options',
    'nosniff',
    'Referrer-Policy',
    'no-referrer',
  ];
  const front = [
    'X-Frame-Options',
    'SAMEORIGIN',
    'X-Content-Type-Options',
    'nosniff',
    'Referrer-Policy',
    'x',
  ];

  it("passes the app's own values once and the front's once where the app set none", () => {
    expect(securityHeaderProblems(app, front, true)).toEqual([]);
  });

  it('fails "DENY, SAMEORIGIN": the proxy added a second, conflicting value', () => {
    expect(securityHeaderProblems([...app, 'X-Frame-Options', 'SAMEORIGIN'], front, true)).toEqual([
      'app sent X-Frame-Options: DENY, client got DENY | SAMEORIGIN',
    ]);
  });

  it('fails when the front adds none (or two) where the stack asks for them', () => {
    expect(securityHeaderProblems(app, [], true)).toHaveLength(3);
    expect(securityHeaderProblems(app, [...front, 'x-frame-options', 'DENY'], true)).toHaveLength(1);
    expect(securityHeaderProblems(app, [], false)).toEqual([]);
  });

  it('headerValues matches names case-insensitively and keeps repeats', () => {
    expect(headerValues(['A', '1', 'a', '2', 'B', '3'], 'a')).toEqual(['1', '2']);
  });
});

describe('headers probe: source address', () => {
  it('connects from 127.0.0.2 to a loopback IPv4 front, so the proxy address (127.0.0.1) cannot pass as the client', () => {
    expect(probeSourceAddress('127.0.0.1')).toBe('127.0.0.2');
    expect(probeSourceAddress('::1')).toBeUndefined();
    expect(probeSourceAddress('10.0.0.5')).toBeUndefined();
  });
});
