// reload under load: while N clients keep sending requests, `systemctl reload` of the app
// server and then of the proxy — the way a deploy or a certificate renewal reloads them —
// and count the requests that failed (goal: none). A server with no graceful reload is
// said to have none (its unit has no ExecReload; a restart drops requests by design).
// Two more ways a reload goes wrong without a failed request: it stalls new requests (all
// workers replaced at once: uWSGI's SIGHUP held requests 1.3 s where the chain reload holds
// them 50 ms), and it did not happen (the probe app's workers answering after the reload
// must all be new processes).

import { reloadAndWait } from '../../install/run.js';
import { answersCommand } from '../../install/deploy.js';
import { PROXIES } from '../../topology/catalog/proxies.js';
import { SERVERS } from '../../topology/catalog/servers.js';
import { isFrontComponent, unitBaseName } from '../../render/plan.js';
import { httpRequest, jsonOf } from '../http.js';
import { fail, pass, type ProbeContext, type ProbeDefinition } from '../types.js';
import type { EchoResponse } from '../contract.js';
import { sleep } from '../../runtime/process.js';

const CLIENTS = 8;
/** Each window: requests before, during and after the reloads. */
const WARMUP_MS = 400;
const SETTLE_MS = 600;
/** `systemctl reload` may take this long to return. */
const RELOAD_DEADLINE_MS = 15_000;
/**
 * Until every worker answering is a new one, per worker: uWSGI's chain reload replaces one
 * worker at a time and looks at its chain about once a second (~2 s a worker, measured).
 * Twice that, because the wait ends as soon as only new workers answer and a slow machine is
 * not a failed reload: gunicorn's HUP of 5 Django workers (each importing Django afresh)
 * took 18.6 s on this 2-core machine at load 10–13, past a budget of 3 s a worker.
 */
const REPLACE_MS_PER_WORKER = 6000;
/** How often the probe looks at which workers answer while it waits for the reload to finish. */
const POLL_MS = 400;
/**
 * No request answered for this long during a reload (and 10 × the longest such time before
 * it) is a stall: no worker was left to answer. Loose on purpose: the machine is shared.
 */
const STALL_MS = 1000;

interface Window {
  name: string;
  ok: number;
  failed: number;
  samples: string[];
  /** The slowest answered request that started in this window (ms). */
  maxMs: number;
  /** The longest time in this window in which no request at all was answered (ms). */
  gapMs: number;
  startedAt: number;
  /** Pids of the probe app's workers that answered (empty for a user's app). */
  pids: Set<number>;
}

function newWindow(name: string): Window {
  return {
    name,
    ok: 0,
    failed: 0,
    samples: [],
    maxMs: 0,
    gapMs: 0,
    pids: new Set(),
    startedAt: performance.now(),
  };
}

interface Observed {
  windows: Window[];
  reloads: string[];
  errors: string[];
  /** The app server was reloaded in place (its workers must have been replaced). */
  appReloaded: boolean;
  /** What the proxy's error log gained while the probe ran: it names the hop that failed. */
  proxyLog: string[];
}

/** Lines of the proxy's error log shown with a failure (the newest ones). */
const LOG_LINES = 6;

/** The distribution proxy's error log, where nginx and Apache name a failed upstream hop. */
function proxyErrorLog(ctx: ProbeContext): string | null {
  return ctx.host?.proxyService ? (PROXIES[ctx.plan.front.kind].distro?.errorLog ?? null) : null;
}

/** The error log's size now (0 when it does not exist yet). */
async function logSize(ctx: ProbeContext, file: string): Promise<number> {
  const r = await ctx.host!.run(['sh', '-c', `stat -c %s ${file} 2>/dev/null || echo 0`]);
  return Number.parseInt(r.output.trim(), 10) || 0;
}

/**
 * The last error lines written to the log past `from` bytes: nginx's `[error]` and Apache's
 * `[module:error]` (and worse), not the notices a reload writes.
 */
async function logSince(ctx: ProbeContext, file: string, from: number): Promise<string[]> {
  const errors = String.raw`\[([a-z_]+:)?(error|crit|alert|emerg)\]`;
  const r = await ctx.host!.run([
    'sh',
    '-c',
    `tail -c +${from + 1} ${file} 2>/dev/null | grep -E '${errors}' | tail -n ${LOG_LINES}`,
  ]);
  return r.output.split('\n').filter((l) => l.trim() !== '');
}

type Reload =
  | { name: string; run: (answering: () => Set<number>) => Promise<void>; app?: true }
  | { name: string; none: string };

/** The reloads this stack gets, in order: the app server's (when it has one), then the proxy's. */
function reloadsOf(ctx: ProbeContext): Reload[] {
  const host = ctx.host!;
  const out: Reload[] = [];
  const update = host.codeUpdate;
  if (update.kind === 'reload')
    out.push({
      name: update.commands.map((argv) => argv.join(' ')).join('; '),
      app: true,
      run: async (answering) => {
        const before = new Set(answering());
        for (const argv of update.commands) {
          const r = await host.run(argv, RELOAD_DEADLINE_MS);
          if (r.code !== 0) throw new Error(r.output);
        }
        // The command returns once the signal is sent; the master swaps workers after. With
        // the probe app the pids say when that is done; a user's app gets a fixed wait.
        if (!ctx.probe || before.size === 0) return sleep(SETTLE_MS * 2);
        const workers = ctx.plan.appServer?.workers.count ?? 1;
        const deadline = performance.now() + REPLACE_MS_PER_WORKER * workers + SETTLE_MS;
        while (performance.now() < deadline) {
          answering().clear();
          await sleep(POLL_MS);
          const now = answering();
          if (now.size > 0 && ![...now].some((pid) => before.has(pid))) break;
        }
        await sleep(SETTLE_MS);
      },
    });
  else if (update.kind === 'rolling-restart')
    out.push({
      name: `rolling restart (${update.ctl} restart ${update.instances.map((i) => i.unit).join(', then ')})`,
      app: true,
      run: async () => {
        for (const { unit, host: addr, port } of update.instances) {
          const r = await host.run([update.ctl, 'restart', unit], RELOAD_DEADLINE_MS);
          if (r.code !== 0) throw new Error(r.output);
          const up = await host.run(
            [
              'sh',
              '-c',
              `for i in $(seq 100); do ${answersCommand(addr, port)} 2>/dev/null && exit 0; sleep 0.1; done; exit 1`,
            ],
            RELOAD_DEADLINE_MS,
          );
          if (up.code !== 0)
            throw new Error(`${unit} did not answer HTTP on ${addr}:${port} within 15 s of its restart`);
          // The proxy takes it back into rotation only after this (lighttpd's disable-time).
          if (update.readmit) await sleep(update.readmit.seconds * 1000);
        }
        await sleep(SETTLE_MS);
      },
    });
  else out.push({ name: 'app server reload', none: update.why });
  const front = frontReloadOf(ctx);
  if (front) out.push(front);
  else if (PROXIES[ctx.plan.front.kind].process?.reload === null)
    // A front without a graceful in-place reload (catalog: lighttpd's SIGUSR1 is not a
    // SignalPlan) is restarted for a new config: nothing to reload under load.
    out.push({
      name: `${PROXIES[ctx.plan.front.kind].title} reload`,
      none: `${PROXIES[ctx.plan.front.kind].title} has no in-place reload here: a config change is a restart`,
    });
  return out;
}

/**
 * The proxy's reload, as a certificate renewal runs it: the distribution's service (nginx), or
 * the unit of a front stackgen runs itself (the gateway); null when there is none to reload.
 */
export function frontReloadOf(ctx: ProbeContext): { name: string; run: () => Promise<void> } | null {
  const host = ctx.host!;
  const own = ctx.plan.launches.find((l) => l.managed && isFrontComponent(ctx.plan, l.component));
  const frontUnit = own
    ? host.startUnits.find((u) => u === `${unitBaseName(ctx.plan, own.component)}.service`)
    : undefined;
  if (host.proxyService) {
    const distro = PROXIES[ctx.plan.front.kind].distro!;
    return {
      name: `systemctl reload ${host.proxyService}`,
      run: () => reloadAndWait(distro.service, distro.pidFile),
    };
  }
  if (frontUnit && PROXIES[ctx.plan.front.kind].process?.reload === null) return null;
  if (frontUnit && host.manager === 'systemd')
    return {
      name: `systemctl reload ${frontUnit}`,
      run: async () => {
        const r = await host.run(['systemctl', 'reload', frontUnit], RELOAD_DEADLINE_MS);
        if (r.code !== 0) throw new Error(r.output);
        await sleep(SETTLE_MS);
      },
    };
  return null;
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
    /** Pids answering since the reload's waiter last looked. */
    const recent = new Set<number>();
    let lastAnswer = performance.now();
    let current: Window = newWindow('before');
    const windows = [current];
    let running = true;
    const client = async () => {
      while (running && !ctx.signal.aborted) {
        const w = current;
        const t0 = performance.now();
        try {
          const answer = await httpRequest(ctx.front, path, { signal: ctx.signal, timeoutMs: 20_000 });
          const done = performance.now();
          w.maxMs = Math.max(w.maxMs, done - t0);
          w.gapMs = Math.max(w.gapMs, done - Math.max(lastAnswer, w.startedAt));
          lastAnswer = done;
          const pid = ctx.probe ? jsonOf<EchoResponse>(answer)?.pid : undefined;
          if (typeof pid === 'number') {
            w.pids.add(pid);
            recent.add(pid);
          }
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
    const errorLog = proxyErrorLog(ctx);
    const logFrom = errorLog ? await logSize(ctx, errorLog) : 0;
    const clients = Array.from({ length: CLIENTS }, client);
    const reloads: string[] = [];
    const errors: string[] = [];
    let appReloaded = false;
    await sleep(WARMUP_MS);
    for (const r of reloadsOf(ctx)) {
      if ('none' in r) {
        reloads.push(`${r.name}: ${r.none}`);
        continue;
      }
      current = newWindow(r.name);
      windows.push(current);
      const t0 = performance.now();
      try {
        await r.run(() => recent);
        if ('app' in r) appReloaded = true;
        reloads.push(`${r.name} (${Math.round(performance.now() - t0)} ms)`);
      } catch (err) {
        errors.push(`${r.name}: ${(err as Error).message}`);
      }
    }
    current = newWindow('after');
    windows.push(current);
    await sleep(SETTLE_MS);
    running = false;
    await Promise.all(clients);
    const failedAny = windows.some((w) => w.failed > 0);
    const proxyLog = errorLog && failedAny ? await logSince(ctx, errorLog, logFrom) : [];
    return { windows, reloads, errors, appReloaded, proxyLog };
  },
  judge({ windows, reloads, errors, appReloaded, proxyLog }, ctx) {
    const total = windows.reduce((n, w) => n + w.ok + w.failed, 0);
    const failed = windows.reduce((n, w) => n + w.failed, 0);
    const per = windows.map(
      (w) =>
        `${w.name}: ${w.failed}/${w.ok + w.failed}, slowest ${Math.round(w.maxMs)} ms, longest without an answer ${Math.round(w.gapMs)} ms${w.samples.length ? ` (${w.samples.join('; ')})` : ''}`,
    );
    if (errors.length > 0) return fail(`reload failed: ${errors.join('; ')}`);
    const facts = `${failed} of ${total} requests failed — ${per.join(', ')}; reloads: ${reloads.join(', ')}`;
    if (total === 0) return fail('no request was answered at all');
    // An app server inside the front (mod_wsgi) is restarted by the front's reload: the
    // requests it was running may fail, as many as its catalog entry documents (measured),
    // in the front's window alone.
    const loss = SERVERS[ctx.plan.spec.serve.server].inFront?.frontReloadLoss;
    const frontWindow = ctx.host ? frontReloadOf(ctx)?.name : undefined;
    const lost = loss ? (windows.find((w) => w.name === frontWindow)?.failed ?? 0) : 0;
    const documentedLoss = loss !== undefined && lost <= loss.requests && failed === lost;
    if (failed > 0 && !documentedLoss)
      return fail(
        proxyLog.length > 0 ? `${facts}; the proxy's error log said: ${proxyLog.join(' | ')}` : facts,
      );
    const before = windows[0]!;
    // A front whose graceful reload has a documented accept gap (catalog reloadAcceptGap:
    // Apache's) is allowed that much in its own window, and an app update that documents one
    // (mod_wsgi's touched script) in its own; every other window keeps STALL_MS.
    const gap = PROXIES[ctx.plan.front.kind].process?.reloadAcceptGap;
    const frontName = gap ? frontWindow : undefined;
    const update = ctx.host?.codeUpdate;
    const appGap = update?.kind === 'reload' ? update.acceptGap : undefined;
    const appName =
      appGap && update?.kind === 'reload'
        ? update.commands.map((argv) => argv.join(' ')).join('; ')
        : undefined;
    const bound = (w: Window) =>
      w.name === frontName
        ? Math.max(STALL_MS, gap!.ms)
        : w.name === appName
          ? Math.max(STALL_MS, appGap!.ms)
          : STALL_MS;
    const stalled = windows
      .slice(1, -1)
      .filter((w) => w.gapMs > bound(w) && w.gapMs > 10 * before.gapMs)
      .map(
        (w) =>
          `${w.name}: ${Math.round(w.gapMs)} ms without an answer to any of ${CLIENTS} clients (before: ${Math.round(before.gapMs)} ms)`,
      );
    if (stalled.length > 0) return fail(`reload stalled new requests: ${stalled.join('; ')} — ${facts}`);
    const after = windows.at(-1)!;
    const kept = [...after.pids].filter((pid) => before.pids.has(pid));
    if (appReloaded && before.pids.size > 0 && kept.length > 0)
      return fail(
        `the app server reload did not replace every worker: pids ${kept.join(', ')} answered before and after — ${facts}`,
      );
    const allowed = windows.filter((w) => (w.name === frontName || w.name === appName) && w.gapMs > STALL_MS);
    const within = allowed.map((w) => {
      const g = w.name === appName ? appGap! : gap!;
      return `${w.name}: ${Math.round(w.gapMs)} ms without an answer, within the documented ${g.ms} ms (${g.why})`;
    });
    const lossNote =
      lost > 0 && loss
        ? [`${frontWindow}: ${lost} failed, within the documented ${loss.requests} (${loss.message})`]
        : [];
    const notes = [...within, ...lossNote];
    return pass(notes.length > 0 ? `${facts}; ${notes.join('; ')}` : facts);
  },
};
