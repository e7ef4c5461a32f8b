import { describe, expect, it } from 'vitest';
import type { GatewayLocation } from '../../../src/gateway/config.js';
import { type Refused, type Routed, routeHead } from '../../../src/gateway/dispatch.js';
import type { GatewayState } from '../../../src/gateway/gateway-state.js';
import { createRouter } from '../../../src/gateway/router.js';
import { upgradeRefusal, withoutUpgrade } from '../../../src/gateway/upgrade.js';

const upstream = (path: string, websocket: boolean): GatewayLocation => ({
  kind: 'upstream',
  path,
  upstreams: [{ scheme: 'http', address: { kind: 'tcp', host: '127.0.0.1', port: 1 } }],
  scriptName: '',
  documentRoot: '/srv',
  websocket,
});
const state = {
  router: createRouter([upstream('/ws', true), upstream('/', false)]),
  config: { hosts: [] },
  httpsRedirect: null,
} as unknown as GatewayState;

function routed(url: string, headers: string[] = [], httpVersion = '1.1'): Routed | Refused {
  return routeHead(state, { method: 'GET', httpVersion, url, rawHeaders: ['Host', 'x', ...headers] }, 'http');
}

describe('upgradeRefusal', () => {
  it('tunnels a body-less Upgrade to a websocket location', () => {
    expect(upgradeRefusal(routed('/ws/chat'), false)).toBeNull();
  });
  it('a location without websocket serves it as a plain request (as nginx); 400 for an Upgrade with a body', () => {
    expect(upgradeRefusal(routed('/other'), false)).toBe('plain');
    expect(upgradeRefusal(routed('/other'), true)).toBe('plain');
    expect(upgradeRefusal(routed('/ws', ['Content-Length', '3']), false)).toBe(400);
  });
  it('503 while draining, but a malformed request keeps its own status first', () => {
    expect(upgradeRefusal(routed('/ws'), true)).toBe(503);
    expect(upgradeRefusal(routed('/ws', [], '2.0'), true)).toBe(505);
  });
});

describe('withoutUpgrade (the head of an Upgrade that is not tunnelled, served as a plain request)', () => {
  it('drops Upgrade and the upgrade Connection token, keeps everything else in order', () => {
    const head = withoutUpgrade({
      method: 'GET',
      url: '/a?b=1',
      httpVersion: '1.1',
      rawHeaders: [
        'Host',
        'x',
        'Upgrade',
        'h2c',
        'Connection',
        'Upgrade, HTTP2-Settings',
        'HTTP2-Settings',
        'AAM',
        'X-A',
        'caf\xe9',
      ],
    });
    expect(head.toString('latin1')).toBe(
      'GET /a?b=1 HTTP/1.1\r\nHost: x\r\nConnection: HTTP2-Settings\r\nHTTP2-Settings: AAM\r\nX-A: caf\xe9\r\n\r\n',
    );
  });
  it('drops a Connection field left empty', () => {
    const head = withoutUpgrade({
      method: 'GET',
      url: '/',
      httpVersion: '1.0',
      rawHeaders: ['Connection', 'upgrade', 'Upgrade', 'websocket'],
    });
    expect(head.toString('latin1')).toBe('GET / HTTP/1.0\r\n\r\n');
  });
});
