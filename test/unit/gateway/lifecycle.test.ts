// runGatewayProcess in this process: it listens, reports its URLs, and resolves with exit code
// 0 once a stop signal has drained it. The signal is delivered by calling the listener it
// installed (emitting a real SIGTERM would reach the test runner's own handlers too).

import { describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../../src/gateway/config.js';
import { runGatewayProcess } from '../../../src/gateway/lifecycle.js';
import { httpCall } from '../../helpers/http-client.js';
import { answer, scriptedLocation, scriptedTransport } from '../../helpers/gateway-harness.js';

const config: GatewayConfig = {
  source: null,
  listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
  serverName: 'lifecycle.test',
  hosts: [],
  workers: 1,
  maxBodyBytes: 1024,
  maxHeaderBytes: 16 * 1024,
  timeouts: {
    clientHeaderMs: 1_000,
    clientBodyMs: 1_000,
    keepaliveMs: 1_000,
    connectMs: 1_000,
    readMs: 1_000,
    sendMs: 1_000,
    shutdownMs: 500,
  },
  accessLog: { kind: 'off' },
  securityHeaders: [],
  gzip: true,
  tls: null,
  trustedProxies: [],
  locations: [scriptedLocation('/', 'app')],
};

describe('runGatewayProcess', () => {
  it('serves until SIGTERM, then drains and resolves with 0, removing its signal listeners', async () => {
    const before = new Set(process.listeners('SIGTERM'));
    let urls: string[] = [];
    const running = runGatewayProcess(config, {
      createTransport: (target) => scriptedTransport(target, () => answer(200, 'up')),
      onListening: (u) => {
        urls = u;
      },
    });
    while (urls.length === 0) await new Promise((r) => setTimeout(r, 5));
    const port = Number(new URL(urls[0] as string).port);
    expect((await httpCall(port, { path: '/', headers: ['Connection', 'close'] })).body.toString()).toBe(
      'up',
    );

    const stop = process.listeners('SIGTERM').find((l) => !before.has(l));
    expect(stop).toBeDefined();
    (stop as (signal: NodeJS.Signals) => void)('SIGTERM');
    expect(await running).toBe(0);
    expect(process.listeners('SIGTERM').filter((l) => !before.has(l))).toHaveLength(0);
    await expect(httpCall(port, { path: '/' })).rejects.toThrow(/ECONNREFUSED/);
  });
});
