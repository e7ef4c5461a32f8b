// The h2 request head as the guard sees it, and the https redirect target (pure parts of
// h2-lane.ts and dispatch.ts).

import { describe, expect, it } from 'vitest';
import { ACME_CHALLENGE_PREFIX, httpsLocation, routeHead } from '../../../src/gateway/dispatch.js';
import type { GatewayState } from '../../../src/gateway/gateway-state.js';
import { h2RequestHeaders, headerListSize } from '../../../src/gateway/h2-lane.js';
import { createRouter } from '../../../src/gateway/router.js';

describe('h2RequestHeaders', () => {
  it(':authority becomes Host, pseudo-headers go, repeats stay', () => {
    expect(
      h2RequestHeaders(
        {
          ':method': 'GET',
          ':path': '/x',
          ':scheme': 'https',
          ':authority': 'app.test',
          'x-a': '1',
          'set-cookie': ['a', 'b'],
        },
        true,
      ),
    ).toEqual(['host', 'app.test', 'x-a', '1', 'set-cookie', 'a', 'set-cookie', 'b']);
  });
  it('a Host field wins over :authority (the guard then sees one Host)', () => {
    expect(h2RequestHeaders({ ':authority': 'a.test', host: 'b.test' }, true)).toEqual(['host', 'b.test']);
  });
  it('a body without content-length is announced as chunked (read whole, sent with a length)', () => {
    expect(h2RequestHeaders({ ':authority': 'a' }, false)).toEqual([
      'host',
      'a',
      'transfer-encoding',
      'chunked',
    ]);
    expect(h2RequestHeaders({ ':authority': 'a', 'content-length': '3' }, false)).toEqual([
      'host',
      'a',
      'content-length',
      '3',
    ]);
  });
});

it('headerListSize counts name + value + 32 per field (RFC 9113 §6.5.2)', () => {
  expect(headerListSize({ ':path': '/', 'set-cookie': ['a', 'bb'] })).toBe(
    5 + 1 + 32 + (10 + 1 + 32) + (10 + 2 + 32),
  );
});

describe('redirect_http', () => {
  const state = (port: number | null) =>
    ({
      router: createRouter([
        { kind: 'upstream', path: '/', upstreams: [], scriptName: '', documentRoot: '/', websocket: false },
      ]),
      config: { hosts: ['app.test'], serverName: 'app.test' },
      httpsRedirect: { port },
    }) as unknown as GatewayState;
  const head = (url: string, host: string | null = 'APP.test:80', httpVersion = '1.1') => ({
    method: 'GET',
    httpVersion,
    url,
    rawHeaders: host === null ? [] : ['Host', host],
  });

  it('plain http: 301 to https://host[:port]/same/target?query', () => {
    expect(routeHead(state(null), head('/a/b?x=1&y=2'), 'http')).toMatchObject({
      ok: false,
      status: 301,
      redirectTo: 'https://app.test/a/b?x=1&y=2',
    });
    expect(routeHead(state(8443), head('/a%20b?q'), 'http')).toMatchObject({
      redirectTo: 'https://app.test:8443/a%20b?q',
    });
    // HTTP/1.0 without Host: the server name.
    expect(routeHead(state(null), head('/', null, '1.0'), 'http')).toMatchObject({
      redirectTo: 'https://app.test/',
    });
  });
  it('not the ACME challenge path, not https, not an unknown Host (421 first)', () => {
    expect(routeHead(state(null), head(`${ACME_CHALLENGE_PREFIX}tok`), 'http').ok).toBe(true);
    expect(routeHead(state(null), head('/a'), 'https').ok).toBe(true);
    expect(routeHead(state(null), head('/a', 'evil.test'), 'http')).toMatchObject({ status: 421 });
  });
  it('httpsLocation keeps IPv6 literals and drops the port', () => {
    expect(httpsLocation('[::1]:80', null, '/x')).toBe('https://[::1]/x');
    expect(httpsLocation('Example.ORG', null, '/')).toBe('https://example.org/');
  });
});
