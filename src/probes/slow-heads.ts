// slow-heads: with no proxy in front, clients that send their request head slowly do not stop
// the app. More connections than the app server has workers each send half a head and hold
// it; one more, complete request must still be answered at once. Through a router of the
// server's own (catalog httpRouter: uWSGI's `http =`) the half heads wait in the router and
// no worker is spent; a server whose workers parse HTTP from clients themselves (uWSGI's
// http-socket facing clients) answers only when the held connections time out.
// Behind a proxy the proxy reads heads first (its own limits, probed there): not this probe.

import { connect, type Socket } from 'node:net';
import { httpRequest } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

/** The most held connections (a model with unbounded slots gets this many). */
const MAX_HELD = 12;
/** How long the complete request may take while the half heads are held. */
export const ANSWER_WITHIN_MS = 1500;

interface Observed {
  held: number;
  /** Held connections still open when the complete request was answered. */
  stillOpen: number;
  status: number | null;
  ms: number;
  error?: string;
}

/** Open a connection and send half a request head, leaving it unfinished. */
function holdHalfHead(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => {
      socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nX-Stackgen-Slow: `);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export const slowHeadsProbe: ProbeDefinition<Observed> = {
  id: 'slow-heads',
  title: 'clients sending their head slowly hold no worker (no proxy: the server’s router)',
  phase: 'exclusive',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip(ctx) {
    if (ctx.plan.front.kind !== 'none') return 'behind a proxy: the proxy reads request heads first';
    const app = ctx.plan.appServer;
    if (!app?.router)
      return 'no router of the server’s own in front of its workers (catalog httpRouter): its listener faces clients';
    return null;
  },
  expect: (ctx) => {
    const held = heldFor(ctx.behaviour.concurrency.slots);
    return `${held} half request heads held open (more than the workers), and a complete GET answered within ${ANSWER_WITHIN_MS} ms by ${ctx.plan.appServer?.router?.title ?? 'the router'}`;
  },
  async observe(ctx) {
    const held = heldFor(ctx.behaviour.concurrency.slots);
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < held; i++) sockets.push(await holdHalfHead(ctx.front.host, ctx.front.port));
      // Let every half head reach whatever reads it (a worker, or the router).
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      try {
        const answer = await httpRequest(ctx.front, '/', { signal: ctx.signal, timeoutMs: 15_000 });
        const ms = performance.now() - t0;
        const stillOpen = sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
        return { held, stillOpen, status: answer.status, ms };
      } catch (err) {
        return { held, stillOpen: 0, status: null, ms: performance.now() - t0, error: String(err) };
      }
    } finally {
      for (const s of sockets) s.destroy();
    }
  },
  judge(o) {
    const what = `${o.held} half heads held (${o.stillOpen} still open at the answer)`;
    if (o.status === null)
      return fail(`${what}; the complete request failed after ${Math.round(o.ms)} ms: ${o.error}`);
    const line = `${what}; GET / → ${o.status} in ${Math.round(o.ms)} ms`;
    if (o.ms > ANSWER_WITHIN_MS) return fail(`${line}: the slow clients held the workers`);
    // An answer only because the held connections were dropped proves nothing.
    if (o.stillOpen < o.held)
      return fail(`${line}, but ${o.held - o.stillOpen} held connections were closed first`);
    return pass(line);
  },
};

/** One more connection than the workers that could each be held by one. Pure. */
export function heldFor(slots: number): number {
  return Number.isFinite(slots) ? Math.min(slots + 1, MAX_HELD) : MAX_HELD;
}
