// listeners: nothing of the stack but its proxy listens on an address the network can
// reach — a uwsgi/FastCGI/SCGI socket on a public address runs code for anyone who finds it —
// and the front listens on every address of proxy.listen (0.0.0.0:80 and [::]:80 by default).

import { fail, pass, type ProbeDefinition } from '../types.js';
import { type Listener, readListeners } from './sockets.js';

const text = (l: Listener) =>
  `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port} (${l.unit ?? l.command ?? 'unknown'})`;

export const listenersProbe: ProbeDefinition<Listener[]> = {
  id: 'listeners',
  title: 'only the proxy listens on a non-loopback address',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  expect: (ctx) =>
    `listening on ${ctx.plan.front.listens.map((l) => `${l.host}:${l.port}`).join(', ')}; non-loopback listeners of the stack: ${ctx.host?.proxyService ?? 'its gateway'} only`,
  observe: async () => readListeners(),
  judge(listeners, ctx) {
    const host = ctx.host!;
    const proxyUnits = new Set([
      ...(host.proxyService ? [`${host.proxyService}.service`] : []),
      ...host.startUnits.filter((u) => u.includes('-gateway')),
    ]);
    const stackUnit = (unit: string | null) =>
      unit !== null && (host.appUnits.includes(unit) || unit.startsWith(`${ctx.plan.name}-`));
    const publicOnes = listeners.filter((l) => !l.loopback);
    const wrong = publicOnes.filter((l) => stackUnit(l.unit) && !proxyUnits.has(l.unit!));
    if (wrong.length > 0) return fail(`reachable from the network: ${wrong.map(text).join(', ')}`);
    const bare = (h: string) => h.replace(/^\[(.*)\]$/, '$1');
    const missing = ctx.plan.front.listens.filter(
      (want) => !listeners.some((l) => l.port === want.port && bare(l.address) === bare(want.host)),
    );
    if (missing.length > 0)
      return fail(
        `nothing listens on ${missing.map((m) => `${m.host}:${m.port}`).join(', ')} (proxy.listen)`,
      );
    const proxy = publicOnes.filter((l) => l.unit !== null && proxyUnits.has(l.unit));
    const others = publicOnes.filter((l) => !proxy.includes(l));
    return pass(
      `public: ${proxy.map(text).join(', ') || 'none of the stack'}${others.length ? `; not the stack's: ${others.map(text).join(', ')}` : ''}`,
    );
  },
};
