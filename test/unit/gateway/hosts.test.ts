// The gateway's Host check: with `hosts` set (a stack's real server_name), a request naming
// another Host is refused with 421 before routing, so it never reaches a backend.

import { describe, expect, it } from 'vitest';
import type { GatewayLocation } from '../../../src/gateway/config.js';
import { routeHead, servesHost } from '../../../src/gateway/dispatch.js';
import type { GatewayState } from '../../../src/gateway/gateway-state.js';
import { createRouter } from '../../../src/gateway/router.js';

const root: GatewayLocation = {
  kind: 'upstream',
  path: '/',
  upstreams: [{ scheme: 'http', address: { kind: 'tcp', host: '127.0.0.1', port: 1 } }],
  scriptName: '',
  documentRoot: '/srv',
  websocket: false,
};
const stateWith = (hosts: string[]) =>
  ({ router: createRouter([root]), config: { hosts }, httpsRedirect: null }) as unknown as GatewayState;
const head = (host: string | null, httpVersion = '1.1') => ({
  method: 'GET',
  httpVersion,
  url: '/',
  rawHeaders: host === null ? [] : ['Host', host],
});

describe('servesHost', () => {
  it('answers every Host without a hosts list (server_name _)', () => {
    expect(servesHost([], 'anything.example')).toBe(true);
  });
  it('matches the name without port, case and a trailing dot', () => {
    expect(servesHost(['shop.example'], 'shop.example')).toBe(true);
    expect(servesHost(['shop.example'], 'SHOP.Example:8080')).toBe(true);
    expect(servesHost(['shop.example'], 'shop.example.')).toBe(true);
    expect(servesHost(['[::1]'], '[::1]:80')).toBe(true);
  });
  it('refuses other names, and a name that only starts like the server name', () => {
    expect(servesHost(['shop.example'], 'evil.example')).toBe(false);
    expect(servesHost(['shop.example'], 'shop.example.evil')).toBe(false);
    expect(servesHost(['shop.example'], '127.0.0.1')).toBe(false);
  });
  it("nginx's wildcard forms: *.x for subdomains, .x for it and its subdomains", () => {
    expect(servesHost(['*.shop.example'], 'a.shop.example')).toBe(true);
    expect(servesHost(['*.shop.example'], 'shop.example')).toBe(false);
    expect(servesHost(['.shop.example'], 'shop.example')).toBe(true);
    expect(servesHost(['.shop.example'], 'a.b.shop.example')).toBe(true);
    expect(servesHost(['.shop.example'], 'evilshop.example')).toBe(false);
  });
  it('an HTTP/1.0 request without Host is for the server name', () => {
    expect(servesHost(['shop.example'], null)).toBe(true);
  });
});

describe('routeHead with hosts', () => {
  it('refuses an unknown Host with 421 before routing', () => {
    const r = routeHead(stateWith(['shop.example']), head('evil.example'), 'http');
    expect(r).toMatchObject({ ok: false, status: 421, by: 'host' });
  });
  it('routes the server name', () => {
    expect(routeHead(stateWith(['shop.example']), head('shop.example'), 'http').ok).toBe(true);
  });
});
