// Verify one stack: render it into a sandbox, start it as its manager would, prove every
// request path with probes, stop it and prove nothing is left. With --probe-app the probe
// app stands in for the user's app; the user's own checks then get a boot of their own app.

import { certificateNames } from '../tls/throwaway-ca.js';
import { acmePlan, specUsesAcme, withAcmeDirectory } from '../tls/acme.js';
import { obtainSandboxCertificate, type SandboxAcme } from './acme-issue.js';
import { type PebblePorts, pebbleDirectory, useCertbotPebbleEnv } from './pebble.js';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isStackgenError, StackgenError } from '../errors.js';
import { stackBehaviour } from '../probes/behaviour.js';
import { frontTarget } from '../probes/http.js';
import { reachProbe } from '../probes/reach.js';
import { PROBES } from '../probes/registry.js';
import { runProbes } from '../probes/runner.js';
import type { AnyProbe, ProbeResult } from '../probes/types.js';
import { userCheckProbes } from '../probes/user-checks.js';
import type { Artifact } from '../render/artifacts.js';
import { backendComponent, type Plan } from '../render/plan.js';
import type { PassReport, ProgressEvent, StackReport, UnitEvent } from '../report/types.js';
import { emptyPass, outcomeOf } from '../report/types.js';
import type { LoadedSpec } from '../stack/parse.js';
import {
  planUnits,
  readSecrets,
  restartComponent,
  type StackRuntime,
  startStack,
  stopComponent,
  stopScript,
  stopStack,
  SYSTEMD_NOTE,
} from './launch.js';
import { machinePass } from './machine-target.js';
import { TASK_WORKER } from '../topology/catalog/tasks.js';
import { sleep } from './process.js';
import { createSandbox, freePortBlocks } from './sandbox.js';
import { analyzeUnits, unitsDir } from './systemd-analyze.js';
import type { AccountBook } from './users.js';

export type VerifyTarget = 'sandbox' | 'machine';

export interface VerifyOptions {
  /** sandbox: a temp dir, processes started as their manager would; machine: a throwaway real host. */
  target?: VerifyTarget | undefined;
  probeApp: boolean;
  keep: boolean;
  only?: string | undefined;
  cores: number;
  /** --cores was given: `auto` is rendered for `cores` instead of counted by the server. */
  coresPinned?: boolean | undefined;
  stackgenCommand: string[];
  book: AccountBook;
  signal: AbortSignal;
  readyDeadlineMs: number;
  onProgress?: ((e: ProgressEvent) => void) | undefined;
  /** Test seams: see SandboxOptions. */
  portOverrides?: Record<number, number> | undefined;
  mutateArtifacts?: ((artifacts: Artifact[], plan: Plan) => Artifact[]) | undefined;
}

/** How long after a (re)start teardown waits before it stops the stack. */
const START_SETTLE_MS = 1500;

/** Verify one loaded stack. Never throws for a failing stack: failures are in the report. */
export async function verifyStack(loaded: LoadedSpec, options: VerifyOptions): Promise<StackReport> {
  const t0 = performance.now();
  const notes = new Set<string>();
  options.onProgress?.({ type: 'stack', file: loaded.file, name: loaded.spec.name });
  const passes: PassReport[] = [];
  const checks = loaded.spec.checks;
  const onMachine = options.target === 'machine';
  const machine = (app: PassReport['app'], allProbes: boolean) =>
    machinePass(loaded, {
      app,
      allProbes,
      cores: options.cores,
      coresPinned: options.coresPinned,
      only: options.only,
      selfCommand: options.stackgenCommand,
      signal: options.signal,
      onProgress: options.onProgress,
      notes,
    });
  if (options.probeApp) {
    // --keep keeps the last boot: the user's app when their checks get a boot of their own.
    const keep = options.keep && checks.length === 0;
    passes.push(
      onMachine
        ? await machine('probe-app', true)
        : await verifyPass(loaded, { ...options, keep }, 'probe-app', PROBES, notes),
    );
  }
  const last = passes.at(-1);
  const runUserPass = !options.probeApp || (checks.length > 0 && !last?.notReady && !last?.interrupted);
  if (runUserPass) {
    const probes = options.probeApp
      ? [reachProbe, ...userCheckProbes(checks)]
      : [...PROBES, ...userCheckProbes(checks)];
    passes.push(
      onMachine
        ? await machine('user-app', !options.probeApp)
        : await verifyPass(loaded, options, 'user-app', probes, notes),
    );
  }
  return {
    file: loaded.file,
    name: loaded.spec.name,
    outcome: outcomeOf(passes),
    notes: [...notes],
    passes,
    wallMs: Math.round(performance.now() - t0),
  };
}

async function verifyPass(
  loaded: LoadedSpec,
  options: VerifyOptions,
  app: PassReport['app'],
  probes: ReadonlyArray<AnyProbe>,
  notes: Set<string>,
): Promise<PassReport> {
  const t0 = performance.now();
  const root = process.getuid?.() === 0;
  // proxy.tls.acme: a pebble on free loopback ports is the CA; the sandbox renders the stack
  // with its directory in place of stack.yaml's (the one value changed).
  const pebblePorts = specUsesAcme(loaded.spec) ? await freePebblePorts() : null;
  const sandbox = await createSandbox(
    pebblePorts ? { ...loaded, spec: withAcmeDirectory(loaded.spec, pebbleDirectory(pebblePorts)) } : loaded,
    {
      probeApp: app === 'probe-app',
      cores: options.cores,
      coresPinned: options.coresPinned,
      stackgenCommand: options.stackgenCommand,
      book: options.book,
      portOverrides: options.portOverrides,
      mutateArtifacts: options.mutateArtifacts,
    },
  );
  const { plan } = sandbox;
  options.onProgress?.({ type: 'pass', app, dir: sandbox.dir });
  if (sandbox.usersMapped)
    notes.add(
      `not run as root: the users from stack.yaml (${loaded.spec.processes.user}, ${loaded.spec.proxy.user}) were mapped to the current user, so permission problems between proxy and socket cannot show`,
    );
  if (sandbox.standIns.length > 0)
    notes.add(
      `the app's own account does not exist on this host yet (\`stackgen install\` creates it): ran as ${sandbox.standIns.join(', ')} (the proxy's group stands in for the membership install adds); the app's user is still not the proxy's`,
    );
  const acme = acmePlan(plan);
  if (plan.site.tls?.replaces && !(acme && pebblePorts))
    notes.add(
      `proxy.tls: a certificate from this run's throwaway CA (openssl, for ${certificateNames(plan.spec.proxy.server_name).join(' ')}) stood in for ${plan.site.tls.replaces.cert}; the probes trusted that CA alone (stackgen check judges your files)`,
    );
  const manager = plan.spec.processes.manager;
  if (manager === 'systemd') notes.add(SYSTEMD_NOTE);
  const behaviour = stackBehaviour(plan, sandbox.probe?.key ?? null);
  if (sandbox.probe) for (const n of behaviour.notes) notes.add(`documented gap: ${n}`);

  const rt: StackRuntime = {
    plan,
    units: planUnits(plan, options.book, { dropPrivileges: root, secrets: readSecrets(plan) }),
    running: new Map(),
    pgids: new Set(),
    killed: new Set(),
  };
  const report = emptyPass(app, sandbox.dir);
  const readyMs = new Map<string, number>();
  const onEvent = (event: UnitEvent) => {
    if (event.phase === 'ready' && event.ms !== undefined) readyMs.set(event.unit, event.ms);
    options.onProgress?.({ type: 'unit', event });
  };
  const analyzed = manager === 'systemd' ? analyzeUnits(unitsDir(plan.site.configDir)) : null;

  const startOptions = {
    deadlineMs: options.readyDeadlineMs,
    signal: options.signal,
    onEvent,
    book: options.book,
  };
  const backend = backendComponent(plan);
  let started = false;
  let lastStart = performance.now();
  try {
    await startStack(rt, startOptions);
    lastStart = performance.now();
    started = true;
  } catch (err) {
    if (isStackgenError(err, 'SG_ERR_COMPONENT_NOT_READY')) {
      const d = err.details ?? {};
      report.notReady = {
        component: String(d['component'] ?? '?'),
        cause: String(d['cause'] ?? err.message),
        logTail: (d['logTail'] as string[] | undefined) ?? [],
      };
      options.onProgress?.({ type: 'not-ready', ...report.notReady });
    } else if (isStackgenError(err, 'SG_ERR_INTERRUPTED')) {
      report.interrupted = true;
    } else {
      await stopStack(rt, onEvent);
      throw err;
    }
  }

  // proxy.tls.acme: certbot obtains the certificate through the running front; the probes
  // then trust pebble's root alone, and certbot (the renewal probe's) pebble's listener.
  let front = frontTarget(plan);
  let sandboxAcme: SandboxAcme | null = null;
  let undoCertbotEnv: (() => void) | null = null;
  if (started && acme && pebblePorts && front.tls) {
    options.onProgress?.({ type: 'unit', event: { unit: 'certbot certonly', phase: 'starting' } });
    try {
      sandboxAcme = await obtainSandboxCertificate(acme, {
        dir: sandbox.dir,
        httpPort: plan.front.listen.port,
        ports: pebblePorts,
        front,
      });
      front = { ...front, tls: { ...front.tls, caFile: sandboxAcme.pebble.root } };
      notes.add(
        `proxy.tls.acme: in the sandbox, pebble (free loopback ports, its DNS answering 127.0.0.1 for every name) issued the certificate to certbot (--config-dir/--work-dir/--logs-dir in the sandbox) over HTTP-01 on the sandbox's http port, the render's proxy.tls.acme.directory being pebble's in place of stack.yaml's; the ${acme.frontTitle} started with a throwaway-CA certificate as the placeholder, the rendered deploy hook relinked it to certbot's live files and reloaded the ${acme.frontTitle} (its SIGHUP here, systemctl reload in production), and the probes trusted pebble's root alone`,
      );
      undoCertbotEnv = useCertbotPebbleEnv(sandboxAcme.pebble.listenerCa);
      options.onProgress?.({
        type: 'unit',
        event: {
          unit: 'certbot certonly',
          phase: 'ready',
          ms: sandboxAcme.certonlyMs + sandboxAcme.servedMs,
        },
      });
    } catch (err) {
      if (!isStackgenError(err, 'SG_ERR_COMPONENT_NOT_READY')) {
        await stopStack(rt, onEvent);
        throw err;
      }
      const d = err.details ?? {};
      report.notReady = {
        component: String(d['component'] ?? 'certbot'),
        cause: String(d['cause'] ?? err.message),
        logTail: (d['logTail'] as string[] | undefined) ?? [],
      };
      options.onProgress?.({ type: 'not-ready', ...report.notReady });
      started = false;
    }
  }

  if (started) {
    const results = await runProbes({
      paths: plan.topology.paths,
      probes,
      only: options.only,
      context: {
        plan,
        front,
        host: null,
        probe: sandbox.probe,
        behaviour,
        staticFixtures: sandbox.staticFixtures,
        signal: options.signal,
        stopBackend: async () => {
          if (!backend) return 'no app server process: CGI runs a process per request';
          // The subject is the proxy's answer, not a graceful shutdown (teardown proves that):
          // an app server that lingers on the proxy's keep-alive connections is killed after 2 s.
          return (await stopComponent(rt, backend, 2000)) ? null : `could not stop ${backend}`;
        },
        stopTaskWorker: async () =>
          // The worker's own grace (tasks.time_limit + margin, at most verify's 5 s): no early kill.
          (await stopComponent(rt, TASK_WORKER, Number.POSITIVE_INFINITY))
            ? null
            : `could not stop ${TASK_WORKER}`,
        startTaskWorker: async () => {
          try {
            await restartComponent(rt, TASK_WORKER, startOptions);
            lastStart = performance.now();
            return null;
          } catch (err) {
            return (err as Error).message;
          }
        },
        restartBackend: async () => {
          if (!backend) return null;
          try {
            await restartComponent(rt, backend, startOptions);
            lastStart = performance.now();
            return null;
          } catch (err) {
            return (err as Error).message;
          }
        },
      },
      onStart: (key) => options.onProgress?.({ type: 'probe-start', key }),
      onResult: (result) => options.onProgress?.({ type: 'probe', result }),
    });
    report.probes.push(...results);
    if (options.signal.aborted) report.interrupted = true;
  }
  if (sandboxAcme) {
    await sandboxAcme.pebble.stop();
    undoCertbotEnv?.();
  }
  if (analyzed) {
    const r = await analyzed;
    report.probes.push(r);
    options.onProgress?.({ type: 'probe', result: r });
  }

  if (options.keep && started && !report.interrupted) {
    const script = join(sandbox.dir, 'stop.sh');
    writeFileSync(script, stopScript(rt, sandbox.dir), { mode: 0o755 });
    // The processes run on after we exit: nothing of ours may keep the event loop alive.
    for (const proc of rt.running.values()) proc.release();
    report.kept = {
      urls: plan.front.listens.map((l) => `http://${l.host}:${l.port}/`),
      stopCommand: `sh ${script}`,
    };
  } else {
    // Not within a moment of a start: uWSGI 2.0 misses a stop signal while its workers are
    // still starting and waits out its mercy (see the generated ini) — what teardown proves
    // is the stop of a serving stack.
    if (started) await sleep(Math.max(0, START_SETTLE_MS - (performance.now() - lastStart)));
    const stop = await stopStack(rt, onEvent);
    for (const s of stop.stopped)
      report.units.push({
        id: s.unit,
        readyMs: readyMs.get(s.unit) ?? null,
        stopMs: s.ms,
        escalated: s.escalated,
      });
    const teardown: ProbeResult[] = [
      {
        key: 'stack/no-process-left',
        path: 'stack',
        probe: 'no-process-left',
        title: 'nothing of the stack runs after stop',
        status: stop.leftovers.length === 0 ? 'pass' : 'fail',
        expected: 'no process of the run alive after every unit stopped',
        actual:
          stop.leftovers.length === 0
            ? `${stop.stopped.length} unit(s) stopped${stop.stopped.some((s) => s.escalated) ? ' (some needed SIGKILL)' : ''}`
            : `left running (then killed): ${stop.leftovers.map((p) => `${p.pid} ${p.cmdline.slice(0, 60)}`).join('; ')}`,
        durationMs: stop.stopped.reduce((m, s) => Math.max(m, s.ms), 0),
      },
      {
        key: 'stack/no-socket-left',
        path: 'stack',
        probe: 'no-socket-left',
        title: 'no socket file left behind',
        // A unit verify had to SIGKILL never got the chance to remove its socket.
        status: stop.sockets.length === 0 ? 'pass' : rt.killed.size > 0 ? 'skip' : 'fail',
        expected: `no socket file in ${plan.site.runDir}`,
        actual:
          stop.sockets.length === 0
            ? 'none'
            : `${stop.sockets.join(', ')}${rt.killed.size > 0 ? ` (${[...rt.killed].join(', ')} needed SIGKILL, so cleanup is not provable)` : ''}`,
        durationMs: 0,
      },
    ];
    if (started || report.notReady) {
      for (const t of teardown) {
        report.probes.push(t);
        options.onProgress?.({ type: 'probe', result: t });
      }
    }
    // A failed run keeps its sandbox (the logs explain the failure); an interrupted one
    // leaves nothing behind.
    const failed = report.notReady !== null || report.probes.some((p) => p.status === 'fail');
    if (!failed || report.interrupted) rmSync(sandbox.dir, { recursive: true, force: true });
  }
  report.wallMs = Math.round(performance.now() - t0);
  return report;
}

/** Turn an unexpected error into a StackgenError for main.ts. */
export function asStackgenError(err: unknown): StackgenError {
  return isStackgenError(err)
    ? err
    : new StackgenError('SG_ERR_INTERNAL', (err as Error).message, { cause: err });
}

/** Four consecutive free loopback ports for pebble's API, management, DNS and DNS management. */
async function freePebblePorts(): Promise<PebblePorts> {
  const [block] = await freePortBlocks([4]);
  const [api, management, dns, dnsManagement] = block!;
  return { api: api!, management: management!, dns: dns!, dnsManagement: dnsManagement! };
}
