// reboot: after a power cycle (the machine's PID 1 killed, booted again on the same disk)
// the stack is back with no manual step: its units enabled and active, its run directory
// recreated, and a request through the front answered by the app.

import type { EchoResponse } from '../contract.js';
import { bodyExcerpt } from '../excerpt.js';
import { httpRequest, jsonOf } from '../http.js';
import { fail, pass, type ProbeDefinition } from '../types.js';
import { sleep } from '../../runtime/process.js';
import { isConnectable } from '../../runtime/readiness.js';

/** A unit of Type=exec is "active" a moment before it listens: answers are retried this long. */
const SETTLE_MS = 15_000;

interface Observed {
  inactive: string[];
  status: number | null;
  excerpt: string;
  echoed: boolean;
  error: string | null;
  ms: number;
}

export const rebootProbe: ProbeDefinition<Observed> = {
  id: 'after-reboot',
  title: 'after a reboot the stack is back by itself',
  phase: 'gate',
  kinds: ['app'],
  needsProbeApp: false,
  after: [],
  skip: (ctx) =>
    ctx.host?.manager === 'none'
      ? 'processes.manager is none: nothing starts the stack at boot (by design; choose systemd or supervisor)'
      : null,
  expect: (ctx) =>
    `${[...(ctx.host?.startUnits ?? []), ...(ctx.host?.proxyService ? [ctx.host.proxyService] : [])].join(', ')} active; GET answered by the app`,
  async observe(ctx) {
    const host = ctx.host!;
    const t0 = performance.now();
    const units = [...host.startUnits, ...(host.proxyService ? [host.proxyService] : [])];
    const endpoints = ctx.plan.launches.filter((l) => l.managed).flatMap((l) => (l.ready ? [l.ready] : []));
    let inactive: string[] = [];
    let status: number | null = null;
    let excerpt = '';
    let echoed = false;
    let error: string | null = null;
    while (performance.now() - t0 < SETTLE_MS) {
      inactive = [];
      if (host.manager === 'systemd' || host.proxyService)
        for (const u of units) {
          const r = await host.run(['systemctl', 'is-active', u]);
          if (r.output.trim() !== 'active') inactive.push(`${u} ${r.output.trim()}`);
        }
      // Every process must be back (nginx balances over per-port instances).
      const down = (await Promise.all(endpoints.map((ep) => isConnectable(ep)))).flatMap((ok, i) =>
        ok ? [] : [endpoints[i]!],
      );
      for (const ep of down)
        inactive.push(`${ep.kind === 'unix' ? ep.path : `${ep.host}:${ep.port}`} not accepting`);
      try {
        const answer = await httpRequest(ctx.front, ctx.probe ? '/stackgen-verify/after-reboot' : '/', {
          signal: ctx.signal,
          timeoutMs: 2000,
        });
        status = answer.status;
        excerpt = bodyExcerpt(answer);
        echoed = ctx.probe ? jsonOf<EchoResponse>(answer)?.app === ctx.probe.key : status < 400;
        error = null;
      } catch (err) {
        error = (err as Error).message;
      }
      if (inactive.length === 0 && echoed) break;
      await sleep(200);
    }
    return { inactive, status, excerpt, echoed, error, ms: Math.round(performance.now() - t0) };
  },
  judge(o) {
    if (o.inactive.length > 0) return fail(`not active after the reboot: ${o.inactive.join(', ')}`);
    if (!o.echoed)
      return fail(o.status === null ? `no answer: ${o.error}` : `${o.status} ${o.excerpt}: not the app`);
    return pass(`units active, the app answered ${o.status} ${o.ms} ms after boot`);
  },
};
