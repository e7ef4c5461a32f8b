import { describe, expect, it } from 'vitest';
import { StackgenError, statusFor } from '../../../src/errors.js';
import { responseHeadersForClient, upstreamLine } from '../../../src/gateway/proxy.js';
import * as failure from '../../../src/gateway/transports/upstream-failure.js';
import { type GatewayRequest, targetName } from '../../../src/gateway/transport.js';
import { backendRequestHeaders } from '../../../src/gateway/transports/http.js';
import { type Backend, createUpstreamPool } from '../../../src/gateway/upstream-pool.js';

describe('proxy core (pure parts)', () => {
  it.each([
    ['SG_ERR_UPSTREAM_CONNECT', 502],
    ['SG_ERR_UPSTREAM_RESET', 502],
    ['SG_ERR_UPSTREAM_MALFORMED', 502],
    ['SG_ERR_UPSTREAM_TIMEOUT', 504],
    ['SG_ERR_UPSTREAM_REQUEST_TOO_LARGE', 500],
  ] as const)('%s → %i', (code, status) => {
    expect(statusFor(new StackgenError(code, 'x'))).toBe(status);
  });

  it('removes hop-by-hop fields and those named in Connection, keeps duplicates, adds security headers', () => {
    const out = responseHeadersForClient(
      [
        ['Content-Type', 'text/plain'],
        ['Connection', 'close, X-Private'],
        ['X-Private', 'secret'],
        ['Keep-Alive', 'timeout=5'],
        ['Transfer-Encoding', 'chunked'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['x-frame-options', 'DENY'],
      ],
      [
        ['X-Frame-Options', 'SAMEORIGIN'],
        ['X-Content-Type-Options', 'nosniff'],
      ],
    );
    expect(out).toEqual([
      'Content-Type',
      'text/plain',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'x-frame-options',
      'DENY',
      'X-Content-Type-Options',
      'nosniff',
    ]);
  });
});

describe('http transport request headers', () => {
  const req = {
    method: 'POST',
    rawTarget: '/x',
    host: 'example.com',
    scheme: 'http',
    remoteAddress: '10.0.0.7',
    rawHeaders: [
      'Host',
      'example.com',
      'X-Forwarded-For',
      '1.2.3.4',
      'X-Forwarded-Proto',
      'https',
      'X-Real-IP',
      '1.2.3.4',
      'Proxy',
      'http://evil:3128',
      'Connection',
      'keep-alive, X-Hop',
      'X-Hop',
      'v',
      'Content-Length',
      '5',
      'Cookie',
      'a=1',
      'Cookie',
      'b=2',
    ],
    body: { kind: 'memory', length: 5, chunks: [Buffer.from('hello')] },
  } as unknown as GatewayRequest;

  it('replaces X-Forwarded-*, drops Proxy and hop-by-hop fields, keeps Host and duplicates', () => {
    const h = backendRequestHeaders(req, null);
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < h.length; i += 2) pairs.push([h[i] as string, h[i + 1] as string]);
    expect(pairs).toEqual([
      ['Host', 'example.com'],
      ['Cookie', 'a=1'],
      ['Cookie', 'b=2'],
      ['X-Forwarded-For', '10.0.0.7'],
      ['X-Forwarded-Proto', 'http'],
      ['X-Forwarded-Host', 'example.com'],
      ['X-Real-IP', '10.0.0.7'],
      ['Content-Length', '5'],
    ]);
  });

  it('never forwards a client-sent X-Real-IP, Forwarded or HTTPS flag (X-Forwarded-Ssl…)', () => {
    const spoofed = [
      ['X-Real-IP', '6.6.6.6'],
      ['Forwarded', 'for=6.6.6.6;proto=https'],
      ['X-Forwarded-Ssl', 'on'],
      ['X-Forwarded-Protocol', 'https'],
      ['X-Url-Scheme', 'https'],
      ['Front-End-Https', 'on'],
    ].flat();
    const h = backendRequestHeaders({ ...req, rawHeaders: spoofed, body: null } as GatewayRequest, null);
    expect(h.filter((_, i) => i % 2 === 1)).not.toContain('6.6.6.6');
    const names = h.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const dropped of [
      'forwarded',
      'x-forwarded-ssl',
      'x-forwarded-protocol',
      'x-url-scheme',
      'front-end-https',
    ])
      expect(names).not.toContain(dropped);
    expect(h.slice(h.indexOf('X-Real-IP'), h.indexOf('X-Real-IP') + 2)).toEqual(['X-Real-IP', '10.0.0.7']);
  });
});

describe('upstream pool', () => {
  const target = (port: number) => ({
    scheme: 'http' as const,
    address: { kind: 'tcp' as const, host: 'h', port },
  });
  const pool = createUpstreamPool(
    {
      kind: 'upstream',
      path: '/',
      upstreams: [target(1), target(2), target(3)],
      scriptName: '',
      documentRoot: '/',
      websocket: false,
    },
    (t) => ({
      scheme: 'http',
      target: t,
      request: async () => Promise.reject(new Error('unused')),
      close: async () => {},
    }),
  );

  it('goes round robin and skips a backend marked down until fail_timeout passes', () => {
    const names = (n: number, now: number) =>
      Array.from({ length: n }, () => pool.pick(new Set(), now)?.name);
    expect(names(3, 0)).toEqual(['http://h:1', 'http://h:2', 'http://h:3']);
    pool.markDown(pool.backends[1]!, 0);
    expect(names(4, 1)).toEqual(['http://h:1', 'http://h:3', 'http://h:1', 'http://h:3']);
    expect(names(3, 20_000)).toEqual(['http://h:1', 'http://h:2', 'http://h:3']);
  });

  it('retries on a backend still marked down when the one just tried refused too (a rolling restart)', () => {
    const [one, two, three] = pool.backends as [Backend, Backend, Backend];
    pool.markDown(one, 0);
    pool.markDown(three, 100);
    // `two` refused now: `one` (back, but still marked down) is tried before `three`.
    expect(pool.pick(new Set([two]), 200)?.name).toBe('http://h:1');
    expect(pool.pick(new Set([two, one]), 200)?.name).toBe('http://h:3');
    one.downUntil = 0;
    three.downUntil = 0;
  });

  it('never picks a backend twice for one request', () => {
    const tried = new Set([pool.backends[0]!, pool.backends[1]!, pool.backends[2]!]);
    expect(pool.pick(tried, 0)).toBeNull();
  });

  it('names targets as they are written in the config', () => {
    expect(targetName({ scheme: 'uwsgi', address: { kind: 'unix', path: '/run/a.sock' } })).toBe(
      'uwsgi://unix:/run/a.sock',
    );
    expect(targetName({ scheme: 'cgi', address: { kind: 'script', path: '/x.py' } })).toBe('cgi:/x.py');
  });
});

describe("upstreamLine (the start of an upstream failure's log line)", () => {
  const target = { scheme: 'uwsgi', address: { kind: 'unix', path: '/run/a.sock' } } as const;

  it('names the target once, for an upstream error as for any other', () => {
    const cause = Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' });
    const line = upstreamLine(
      'uwsgi://unix:/run/a.sock',
      failure.connect({ target, sentAnything: false, cause }),
    );
    expect(line).toBe(
      'upstream uwsgi://unix:/run/a.sock: cannot connect (ENOENT). [SG_ERR_UPSTREAM_CONNECT]',
    );
    expect(upstreamLine('uwsgi://unix:/run/a.sock', new Error('boom'))).toBe(
      'upstream uwsgi://unix:/run/a.sock: boom',
    );
  });
});
