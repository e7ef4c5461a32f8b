// websocket: an Upgrade through every hop reaches the app, and text and binary messages
// echo back (a proxy that drops `Upgrade`/`Connection` answers 400/404 instead of 101).

import { createHash, randomBytes } from 'node:crypto';
import { probePaths } from './contract.js';
import { mountedPath } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';
import { connectWebSocket } from './websocket-client.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const TEXT = 'héllo ✓ stackgen';

type Observed =
  | { ok: true; scheme: 'ws' | 'wss'; text: string; binaryIntact: boolean; closeCode: number }
  | { ok: false; error: string };

export const websocketProbe: ProbeDefinition<Observed> = {
  id: 'websocket-echo',
  title: 'WebSocket upgrade and echo',
  phase: 'parallel',
  kinds: ['websocket'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip: (ctx) =>
    ctx.probe && !ctx.probe.app.websocket ? `the ${ctx.probe.key} probe app has no WebSocket` : null,
  expect: (ctx) =>
    `over ${ctx.front.tls ? 'wss' : 'ws'}://: 101, text and 70 000-byte binary message echoed, clean close 1000`,
  async observe(ctx) {
    try {
      // wss:// on a TLS front (proxy.tls: the Upgrade rides the TLS listener, as a browser's on an
      // https page must); the stack's own name as Host (on a real name, any other is refused).
      const host = ctx.front.host.includes(':') ? `[${ctx.front.host}]` : ctx.front.host;
      const scheme = ctx.front.tls ? 'wss' : 'ws';
      const ws = await connectWebSocket(
        `${scheme}://${host}:${ctx.front.port}${mountedPath(ctx.front, probePaths.ws())}`,
        {
          timeoutMs: 5000,
          tls: ctx.front.tls,
          ...(ctx.front.hostHeader ? { headers: { Host: ctx.front.hostHeader } } : {}),
        },
      );
      try {
        ws.sendText(TEXT);
        const text = await ws.receive();
        const blob = randomBytes(70_000);
        ws.sendBinary(blob);
        const binary = await ws.receive();
        const closed = await ws.close(1000, 'done');
        return {
          ok: true,
          scheme,
          text: text.data.toString('utf8'),
          binaryIntact: binary.type === 'binary' && sha256(binary.data) === sha256(blob),
          closeCode: closed.code,
        };
      } finally {
        ws.destroy();
      }
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  },
  judge(o) {
    if (!o.ok) return fail(o.error);
    if (o.text !== TEXT) return fail(`text echoed as ${JSON.stringify(o.text)}`);
    if (!o.binaryIntact) return fail('binary message not echoed intact');
    return pass(`${o.scheme}://: text and binary echoed; closed ${o.closeCode}`);
  },
};
