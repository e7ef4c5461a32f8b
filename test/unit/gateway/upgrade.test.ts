import { describe, expect, it } from 'vitest';
import type { GatewayLocation } from '../../../src/gateway/config.js';
import { type Refused, type Routed, routeHead } from '../../../src/gateway/dispatch.js';
import type { GatewayState } from '../../../src/gateway/gateway-state.js';
import { createRouter } from '../../../src/gateway/router.js';
import { upgradeRefusal } from '../../../src/gateway/upgrade.js';

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
  it('400 for a location without websocket, or an Upgrade with a body', () => {
    expect(upgradeRefusal(routed('/other'), false)).toBe(400);
    expect(upgradeRefusal(routed('/ws', ['Content-Length', '3']), false)).toBe(400);
  });
  it('503 while draining, but a malformed request keeps its own status first', () => {
    expect(upgradeRefusal(routed('/ws'), true)).toBe(503);
    expect(upgradeRefusal(routed('/ws', [], '2.0'), true)).toBe(505);
  });
});
