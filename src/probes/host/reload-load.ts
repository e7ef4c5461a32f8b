// reload under load: while N clients keep sending requests, `systemctl reload` of the app
// server and then of the proxy — the way a deploy or a certificate renewal reloads them —
// and count the requests that failed (goal: none). A server with no graceful reload is
// said to have none (its unit has no ExecReload; a restart drops requests by design).

import { reloadAndWait } from '../../install/run.js';
import { PROXIES } from '../../topology/catalog/proxies.js';
import { isFrontComponent, unitBaseName } from '../../render/plan.js';
import { httpRequest } from '../http.js';
import { fail, pass, type ProbeContext, type ProbeDefinition } from '../types.js';
import { sleep } from '../../runtime/process.js';

const CLIENTS = 8;
/** Each window: requests before, during and after the reloads. */
const WARMUP_MS = 400;
const SETTLE_MS = 600;
/** A reload may take this long to finish (new workers up, old ones gone). */
const RELOAD_DEADLINE_MS = 15_000;

interface Window {
  name: string;
  ok: number;
  failed: number;
  samples: string[];
}

interface Observed {
  windows: Window[];
  reloads: string[];
  errors: string[];
}

/** The reloads this stack gets, in order: the app server's (when it has one), then the proxy's. */
function reloadsOf(
  ctx: ProbeContext,
): Array<{ name: string; run: () => Promise<void> } | { name: string; none: string }> {
  const host = ctx.host!;
  const out: Array<{ name: string; run: () => Promise<void> } | { name: string; none: string }> = [];
  const app = ctx.plan.topology.components.find((c) => c.role === 'app-server');
  if (app && host.manager === 'systemd' && app.reload)
    out.push({
      name: `systemctl reload ${host.appUnits.join(' ')}`,
      run: async () => {
        const r = await host.run(['systemctl', 'reload', ...host.appUnits], RELOAD_DEADLINE_MS);
        if (r.code !== 0) throw new Error(r.output);
        // systemctl returns once the signal is sent; the master swaps workers after.
        await sleep(SETTLE_MS * 2);
      },
    });
  else if (app)
    out.push({
      name: 'app server reload',
      none:
        host.manager === 'systemd'
          ? `${app.title} has no graceful reload (a restart drops requests)`
          : `${host.manager} has no reload`,
    });
  // A front stackgen runs itself (the gateway) reloads through its own unit.
  const own = ctx.plan.launches.find((l) => l.managed && isFrontComponent(ctx.plan, l.component));
  const frontUnit = own
    ? host.startUnits.find((u) => u === `${unitBaseName(ctx.plan, own.component)}.service`)
    : undefined;
  if (host.proxyService) {
    const distro = PROXIES[ctx.plan.front.kind].distro!;
    out.push({
      name: `systemctl reload ${host.proxyService}`,
      run: () => reloadAndWait(distro.service, distro.pidFile),
    });
  } else if (frontUnit && host.manager === 'systemd')
    out.push({
      name: `systemctl reload ${frontUnit}`,
      run: async () => {
        const r = await host.run(['systemctl', 'reload', frontUnit], RELOAD_DEADLINE_MS);
        if (r.code !== 0) throw new Error(r.output);
        await sleep(SETTLE_MS);
      },
    });
  return out;
}

export const reloadUnderLoadProbe: ProbeDefinition<Observed> = {
  id: 'reload-under-load',
  title: 'reload of app server and proxy under load: no request fails',
  phase: 'exclusive',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) => (ctx.host?.manager === 'none' ? 'no process manager to reload through' : null),
  expect: () => `${CLIENTS} clients looping; 0 failed requests across the reloads`,
  async observe(ctx) {
    const path = ctx.probe ? '/stackgen-verify/load' : '/';
    let current: Window = { name: 'before', ok: 0, failed: 0, samples: [] };
    const windows = [current];
    let running = true;
    const client = async () => {
      while (running && !ctx.signal.aborted) {
        const w = current;
        try {
          const answer = await httpRequest(ctx.front, path, { signal: ctx.signal, timeoutMs: 20_000 });
          if (answer.status >= 500) {
            w.failed++;
            if (w.samples.length < 3) w.samples.push(String(answer.status));
          } else w.ok++;
        } catch (err) {
          w.failed++;
          if (w.samples.length < 3) w.samples.push((err as Error).message);
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    const reloads: string[] = [];
    const errors: string[] = [];
    await sleep(WARMUP_MS);
    for (const r of reloadsOf(ctx)) {
      if ('none' in r) {
        reloads.push(`${r.name}: ${r.none}`);
        continue;
      }
      current = { name: r.name, ok: 0, failed: 0, samples: [] };
      windows.push(current);
      const t0 = performance.now();
      try {
        await r.run();
        reloads.push(`${r.name} (${Math.round(performance.now() - t0)} ms)`);
      } catch (err) {
        errors.push(`${r.name}: ${(err as Error).message}`);
      }
    }
    current = { name: 'after', ok: 0, failed: 0, samples: [] };
    windows.push(current);
    await sleep(SETTLE_MS);
    running = false;
    await Promise.all(clients);
    return { windows, reloads, errors };
  },
  judge({ windows, reloads, errors }) {
    const total = windows.reduce((n, w) => n + w.ok + w.failed, 0);
    const failed = windows.reduce((n, w) => n + w.failed, 0);
    const per = windows.map(
      (w) =>
        `${w.name}: ${w.failed}/${w.ok + w.failed}${w.samples.length ? ` (${w.samples.join('; ')})` : ''}`,
    );
    if (errors.length > 0) return fail(`reload failed: ${errors.join('; ')}`);
    const facts = `${failed} of ${total} requests failed — ${per.join(', ')}; reloads: ${reloads.join(', ')}`;
    if (total === 0) return fail('no request was answered at all');
    return failed === 0 ? pass(facts) : fail(facts);
  },
};
