// backend-down: with the app server stopped, the proxy answers 502 promptly — an error
// page, never a hang. Destructive: it runs last, and starts the app server again after,
// so teardown (and `verify --keep`) finds the whole stack running.

import { httpRequest } from './http.js';
import type { ProxyKind } from '../stack/schema.js';
import { PROXIES } from '../topology/catalog/proxies.js';
import { fail, pass, type ProbeDefinition } from './types.js';

const PROMPT_MS = 5000;

type Observed =
  | { stopped: false; why: string }
  | {
      stopped: true;
      status: number | null;
      ms: number;
      error?: string;
      logs: string[];
      restart: string | null;
    };

/** The front's answers for a stopped app server: 502, or its catalog entry's own (lighttpd's 503 or 500). */
function downStatuses(kind: ProxyKind): readonly number[] {
  return PROXIES[kind].backendDownStatus?.statuses ?? [502];
}

export const backendDownProbe: ProbeDefinition<Observed> = {
  id: 'backend-down',
  title: 'app server stopped → 502 from the proxy, promptly',
  phase: 'destructive',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) =>
    ctx.plan.front.kind === 'none' ? 'no proxy: nothing stands between the client and the app' : null,
  expect: (ctx) => `${downStatuses(ctx.plan.front.kind).join(' or ')} within ${PROMPT_MS} ms`,
  async observe(ctx) {
    const why = await ctx.stopBackend();
    if (why !== null) return { stopped: false, why };
    const t0 = performance.now();
    let seen: { status: number | null; ms: number; error?: string };
    try {
      const answer = await httpRequest(ctx.front, '/stackgen-verify/backend-down', {
        signal: ctx.signal,
        timeoutMs: PROMPT_MS * 2,
      });
      seen = { status: answer.status, ms: Math.round(performance.now() - t0) };
    } catch (err) {
      seen = { status: null, ms: Math.round(performance.now() - t0), error: (err as Error).message };
    }
    // What the front logged about it, when it did not answer as expected (the machine target).
    const want = downStatuses(ctx.plan.front.kind);
    const logs =
      (seen.status === null || !want.includes(seen.status)) && ctx.host ? await ctx.host.logTail() : [];
    return { stopped: true, ...seen, logs, restart: await ctx.restartBackend() };
  },
  judge(o, ctx) {
    const want = downStatuses(ctx.plan.front.kind);
    if (!o.stopped) return { status: 'skip', actual: o.why };
    if (o.restart !== null) return fail(`the app server did not start again: ${o.restart}`);
    if (o.status === null) return fail(`no answer: ${o.error}`);
    if (!want.includes(o.status))
      return fail(`${o.status} after ${o.ms} ms${o.logs.length ? ` — logs: ${o.logs.join(' | ')}` : ''}`);
    return o.ms <= PROMPT_MS
      ? pass(`${o.status} after ${o.ms} ms`)
      : fail(`${o.status}, but only after ${o.ms} ms`);
  },
};
