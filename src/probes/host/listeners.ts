// listeners: nothing of the stack but its proxy listens on an address the network can
// reach — a uwsgi/FastCGI/SCGI socket on a public address runs code for anyone who finds it —
// and the front listens on every address of proxy.listen (0.0.0.0:80 and [::]:80 by default).
// With no proxy (proxy.kind none) the app server is the front: it may listen publicly, on
// the ports the stack gives it and no other.

import { type Plan, unitBaseName } from '../../render/plan.js';
import { PROXIES } from '../../topology/catalog/proxies.js';
import { fail, pass, type ProbeDefinition } from '../types.js';
import { type Listener, readListeners } from './sockets.js';

const text = (l: Listener) =>
  `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port} (${l.unit ?? l.command ?? 'unknown'})`;

/** The TCP ports clients reach: the front's, or with no proxy every port the app server binds. */
function frontPorts(plan: Plan): number[] {
  if (plan.front.kind !== 'none') return [plan.front.listen.port];
  return (plan.appServer?.bound ?? []).flatMap((ep) => (ep.kind === 'tcp' ? [ep.port] : []));
}

export const listenersProbe: ProbeDefinition<Listener[]> = {
  id: 'listeners',
  title: 'only the proxy listens on a non-loopback address',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  expect: (ctx) =>
    `listening on ${ctx.plan.front.listens.map((l) => `${l.host}:${l.port}`).join(', ')}; non-loopback listeners of the stack: ${ctx.plan.front.kind === 'none' ? `the app server on ${frontPorts(ctx.plan).join(', ')}` : (ctx.host?.proxyService ?? `its ${ctx.plan.front.kind}`)} only`,
  observe: async () => readListeners(),
  judge(listeners, ctx) {
    const host = ctx.host!;
    const proxyUnits = new Set([
      ...(host.proxyService ? [`${host.proxyService}.service`] : []),
      // A front stackgen runs itself (the gateway, lighttpd): its own unit.
      ...(ctx.plan.front.kind === 'none'
        ? []
        : host.startUnits.filter((u) => u === `${unitBaseName(ctx.plan, ctx.plan.front.kind)}.service`)),
    ]);
    const stackUnit = (unit: string | null) =>
      unit !== null && (host.appUnits.includes(unit) || unit.startsWith(`${ctx.plan.name}-`));
    const ports = frontPorts(ctx.plan);
    const facesClients = (l: Listener) =>
      proxyUnits.has(l.unit!) ||
      (ctx.plan.front.kind === 'none' && host.appUnits.includes(l.unit!) && ports.includes(l.port));
    const publicOnes = listeners.filter((l) => !l.loopback);
    const wrong = publicOnes.filter((l) => stackUnit(l.unit) && !facesClients(l));
    if (wrong.length > 0) return fail(`reachable from the network: ${wrong.map(text).join(', ')}`);
    const bare = (h: string) => h.replace(/^\[(.*)\]$/, '$1');
    // A front whose [::] socket takes IPv4 too (catalog v6WildcardTakesV4: Apache) holds
    // 0.0.0.0:port with it.
    const mapped = PROXIES[ctx.plan.front.kind].v6WildcardTakesV4 !== undefined;
    const holds = (l: Listener, host: string) =>
      bare(l.address) === bare(host) || (mapped && bare(host) === '0.0.0.0' && bare(l.address) === '::');
    const missing = ctx.plan.front.listens.filter(
      (want) => !listeners.some((l) => l.port === want.port && holds(l, want.host)),
    );
    if (missing.length > 0)
      return fail(
        `nothing listens on ${missing.map((m) => `${m.host}:${m.port}`).join(', ')} (proxy.listen)`,
      );
    const proxy = publicOnes.filter((l) => l.unit !== null && facesClients(l));
    const others = publicOnes.filter((l) => !proxy.includes(l));
    return pass(
      `public: ${proxy.map(text).join(', ') || 'none of the stack'}${others.length ? `; not the stack's: ${others.map(text).join(', ')}` : ''}`,
    );
  },
};
