// The machine target's launcher, as it runs INSIDE the throwaway host: `stackgen install`
// puts the production render in place and the real systemd (or Debian's supervisord)
// starts it; the probes then run from inside the machine's network against the production
// address. Two phases around a reboot the host side performs: `up` (install, every sandbox
// probe that is not destructive, and what only a real host can show) and `after-reboot`
// (the stack came back by itself, graceful stop, backend down, uninstall leaves nothing).

import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { execa } from 'execa';
import { isStackgenError } from '../errors.js';
import { installStack, uninstallStack } from '../install/install.js';
import { explainingTail } from '../install/run.js';
import { backendUnitFilter, startUnits, supervisorPrograms, systemdServices } from '../install/steps.js';
import { codeUpdate } from '../install/deploy.js';
import { stackBehaviour } from '../probes/behaviour.js';
import { AFTER_REBOOT_PROBES, HOST_PROBES } from '../probes/host/registry.js';
import { readListeners } from '../probes/host/sockets.js';
import { frontTarget, type Target } from '../probes/http.js';
import { reachProbe } from '../probes/reach.js';
import { PROBES } from '../probes/registry.js';
import { runProbes } from '../probes/runner.js';
import type { ProbeSubstitution } from '../probes/substitute.js';
import type { AnyProbe, InstalledHost, ProbeResult } from '../probes/types.js';
import { userCheckProbes } from '../probes/user-checks.js';
import { renderArtifacts } from '../render/artifacts.js';
import { backendComponent, buildPlan, type Plan, unitBaseName } from '../render/plan.js';
import { TASK_WORKER } from '../topology/catalog/tasks.js';
import type { PassReport, ProgressEvent } from '../report/types.js';
import { readStackSpec } from '../stack/parse.js';
import { PROXIES } from '../topology/catalog/proxies.js';
import { resolveTopology } from '../topology/resolve.js';
import { productionSite } from '../topology/site.js';
import {
  planUnits,
  readSecrets,
  restartComponent,
  type StackRuntime,
  type StartOptions,
  startStack,
  stopComponent,
  stopStack,
} from './launch.js';
import { isConnectable } from './readiness.js';
import { readAccountBook, resolveIds } from './users.js';
import { sleep } from './process.js';
import { type Pebble, PEBBLE_DIRECTORY, pebbleRootFile, startPebble, useCertbotPebbleEnv } from './pebble.js';
import { acmePlan, withAcmeDirectory } from '../tls/acme.js';
import { staticFixtures } from './sandbox.js';

/** After a restart, time for workers to finish loading before the next step. */
const SETTLE_MS = 1000;
/** How long after the machine's boot uninstall may begin. */
const BOOT_SETTLE_MS = 2000;

/** Whether any of these units is still active (or stopping). */
async function anyActive(units: string[]): Promise<boolean> {
  const r = await run(['systemctl', 'is-active', ...units]);
  return r.output.split('\n').some((s) => s === 'active' || s === 'deactivating' || s === 'activating');
}

/** What the host side asks of one run inside the machine. */
export interface InstalledJob {
  phase: 'up' | 'after-reboot';
  /** stack.yaml as staged inside the machine. */
  stackFile: string;
  app: PassReport['app'];
  /** The probe app standing in (its paths are the machine's), or null for the user's app. */
  probe: ProbeSubstitution | null;
  /** Run the whole probe list (true) or only reach and the user's checks (the user-app pass after a probe-app pass). */
  allProbes: boolean;
  cores: number;
  /** --cores was given: `auto` is rendered for `cores` instead of counted by the server. */
  coresPinned?: boolean | undefined;
  only?: string | undefined;
  selfCommand: string[];
  /** The CA that signed the certificate staged for proxy.tls (a path in the machine): the only one probes trust. */
  trustedCa?: string | null | undefined;
  /**
   * proxy.tls.acme: pebble runs in the machine (files under `dir`) and the plan is rendered
   * with proxy.tls.acme.directory replaced by pebble's — the one value of stack.yaml changed.
   */
  acme?: { dir: string } | null | undefined;
}

export interface PhaseOutcome {
  probes: ProbeResult[];
  notReady: PassReport['notReady'];
}

/** The production plan of the staged stack, as install renders it. */
function planOf(job: InstalledJob): Plan {
  const loaded = readStackSpec(job.stackFile);
  const spec = job.acme ? withAcmeDirectory(loaded.spec, PEBBLE_DIRECTORY) : loaded.spec;
  const topology = resolveTopology(spec, { cores: job.cores, coresPinned: job.coresPinned ?? false });
  return buildPlan(
    topology,
    productionSite(loaded.spec, { baseDir: loaded.baseDir }),
    basename(resolve(job.stackFile)),
  );
}

async function run(argv: string[], timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  const [cmd, ...args] = argv;
  const r = await execa(cmd!, args, { reject: false, all: true, stdin: 'ignore', timeout: timeoutMs });
  return { code: r.exitCode ?? null, output: (r.all ?? '').trim() };
}

/** The target with its TLS client trusting `ca` alone (the run's throwaway CA), when given. */
function trustingOnly(target: Target, ca: string | null): Target {
  return target.tls && ca ? { ...target, tls: { ...target.tls, caFile: ca } } : target;
}

/** The stack as its manager runs it here: unit and program names from the same artifacts install used. */
export function installedHost(plan: Plan): InstalledHost {
  const artifacts = renderArtifacts(plan);
  const manager = plan.spec.processes.manager;
  const distro = PROXIES[plan.front.kind].distro;
  const backend = backendComponent(plan) !== null;
  const isBackend = backendUnitFilter(plan);
  const services = systemdServices(plan, artifacts).filter(isBackend);
  // A target's instances are named too: `systemctl stop X.target` returns while they still
  // drain their requests (PartOf= propagates the stop without waiting for it).
  const control =
    manager === 'systemd'
      ? [...new Set([...startUnits(artifacts).filter(isBackend), ...services])]
      : manager === 'supervisor'
        ? supervisorPrograms(plan).filter(isBackend)
        : [];
  return {
    manager,
    appUnits: manager === 'systemd' ? services : control,
    appControl: backend ? control : [],
    startUnits: manager === 'systemd' ? startUnits(artifacts) : [],
    proxyService: distro?.service ?? null,
    codeUpdate: codeUpdate(plan, artifacts),
    run,
    logTail: async (lines = 12) => {
      const units = manager === 'systemd' ? [...new Set([...services, ...startUnits(artifacts)])] : [];
      const journal = units.length
        ? (
            await run([
              'journalctl',
              '--no-pager',
              '-o',
              'short-precise',
              '-n',
              String(lines),
              ...units.flatMap((u) => ['-u', u]),
            ])
          ).output
        : '';
      const files = [
        ...(distro ? [distro.errorLog] : []),
        ...(manager === 'supervisor' ? logFilesOf(plan) : []),
      ];
      const tails = files.flatMap((f) => tailOf(f, lines).map((l) => `${basename(f)}: ${l}`));
      return [...journal.split('\n').filter(Boolean), ...tails];
    },
  };
}

/** The probes of a phase for this job. */
function probesOf(job: InstalledJob): AnyProbe[] {
  const checks = userCheckProbes(readStackSpec(job.stackFile).spec.checks);
  const notDestructive = (list: ReadonlyArray<AnyProbe>) => list.filter((p) => p.phase !== 'destructive');
  const destructive = PROBES.filter((p) => p.phase === 'destructive');
  if (job.phase === 'up')
    return job.allProbes
      ? [...notDestructive(PROBES), ...HOST_PROBES, ...checks]
      : [reachProbe, ...HOST_PROBES.filter((p) => p.id === 'owns-address'), ...checks];
  // after-reboot waits for the stack to come back; reach (the gate of the rest) follows it.
  const [rebooted, ...rest] = AFTER_REBOOT_PROBES;
  return job.allProbes ? [rebooted!, reachProbe, ...rest, ...destructive] : [rebooted!];
}

/** Run one phase inside the machine; progress goes to `emit` as it happens. */
export async function runInstalledPhase(
  job: InstalledJob,
  emit: (e: ProgressEvent) => void,
  signal: AbortSignal,
): Promise<PhaseOutcome> {
  const phaseStart = performance.now();
  const plan = planOf(job);
  const host = installedHost(plan);
  const outcome: PhaseOutcome = { probes: [], notReady: null };
  // proxy.tls.acme: the CA is pebble, on this machine's loopback, validating on the stack's
  // port 80; certbot (install's, the renewal probe's) trusts pebble's listener through
  // REQUESTS_CA_BUNDLE, and the probes trust pebble's root alone.
  let pebble: Pebble | null = null;
  let undoCertbotEnv: (() => void) | null = null;
  let trustedCa = job.trustedCa ?? null;
  if (job.acme && acmePlan(plan)) {
    if (job.phase === 'up') {
      emit({ type: 'unit', event: { unit: 'pebble', phase: 'starting' } });
      const t0 = Date.now();
      try {
        mkdirSync(job.acme.dir, { recursive: true, mode: 0o755 });
        pebble = await startPebble(job.acme.dir, plan.front.listen.port);
      } catch (err) {
        const d = isStackgenError(err) ? (err.details ?? {}) : {};
        outcome.notReady = {
          component: 'pebble',
          cause: (err as Error).message,
          logTail: (d['logTail'] as string[] | undefined) ?? [],
        };
        emit({ type: 'not-ready', ...outcome.notReady });
        return outcome;
      }
      undoCertbotEnv = useCertbotPebbleEnv(pebble.listenerCa);
      emit({ type: 'unit', event: { unit: 'pebble', phase: 'ready', ms: Date.now() - t0 } });
    }
    trustedCa = pebbleRootFile(job.acme.dir);
  }
  try {
    return await runPhaseWith(job, plan, host, outcome, trustedCa, emit, signal, phaseStart);
  } finally {
    await pebble?.stop();
    undoCertbotEnv?.();
  }
}

/** The install (phase up), the probes and (after the reboot) the uninstall of one phase. */
async function runPhaseWith(
  job: InstalledJob,
  plan: Plan,
  host: InstalledHost,
  outcome: PhaseOutcome,
  trustedCa: string | null,
  emit: (e: ProgressEvent) => void,
  signal: AbortSignal,
  phaseStart: number,
): Promise<PhaseOutcome> {
  if (job.phase === 'up') {
    emit({ type: 'unit', event: { unit: 'stackgen install', phase: 'starting' } });
    const t0 = Date.now();
    try {
      await installStack(plan, job.stackFile, {
        dryRun: false,
        force: false,
        selfCommand: job.selfCommand,
        out: (line) => emit({ type: 'step', text: line }),
      });
    } catch (err) {
      const d = isStackgenError(err) ? (err.details ?? {}) : {};
      const tail = [String(d['output'] ?? ''), String(d['journal'] ?? '')]
        .join('\n')
        .split('\n')
        .filter(Boolean);
      outcome.notReady = {
        component: 'stackgen install',
        cause: (err as Error).message,
        logTail: explainingTail(tail, 20),
      };
      emit({ type: 'not-ready', ...outcome.notReady });
      return outcome;
    }
    emit({ type: 'unit', event: { unit: 'stackgen install', phase: 'ready', ms: Date.now() - t0 } });
  }
  // processes.manager none: nothing starts the stack but its user — here, stackgen's own
  // launcher runs the same commands (as verify's sandbox does), as the deploy README says.
  const direct = plan.spec.processes.manager === 'none' ? await startDirect(plan, signal, emit) : null;
  if (direct && 'notReady' in direct) {
    outcome.notReady = direct.notReady;
    emit({ type: 'not-ready', ...direct.notReady });
    return outcome;
  }
  const readyEndpoints = plan.launches
    .filter((l) => l.component === backendComponent(plan))
    .flatMap((l) => (l.ready ? [l.ready] : []));
  const startBackend = async (): Promise<string | null> => {
    if (direct) {
      const component = backendComponent(plan);
      if (!component) return null;
      return restartComponent(direct.rt, component, direct.start).then(
        () => null,
        (err: Error) => err.message,
      );
    }
    if (host.appControl.length === 0) return null;
    const argv =
      host.manager === 'supervisor'
        ? ['supervisorctl', 'start', ...host.appControl]
        : ['systemctl', 'start', ...host.appControl];
    const r = await run(argv);
    if (r.code !== 0) return `${argv.join(' ')}: ${r.output}`;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if ((await Promise.all(readyEndpoints.map((ep) => isConnectable(ep)))).every(Boolean)) {
        // The master accepts before its workers have loaded the app; a stop in that
        // window waits out uWSGI's mercy (see the ini). Let the workers settle.
        await sleep(SETTLE_MS);
        return null;
      }
      await sleep(50);
    }
    return `${readyEndpoints.length} endpoint(s) not accepting connections 30 s after ${argv.join(' ')}`;
  };
  const results = await runProbes({
    paths: plan.topology.paths,
    probes: probesOf(job),
    only: job.only,
    context: {
      plan,
      front: trustingOnly(frontTarget(plan), trustedCa),
      probe: job.probe,
      behaviour: stackBehaviour(plan, job.probe?.key ?? null),
      staticFixtures:
        job.phase === 'up' ? staticFixtures(plan, job.probe !== null) : staticFixtures(plan, false),
      signal,
      host,
      stopBackend: async () => {
        if (direct) {
          const component = backendComponent(plan);
          if (!component) return 'no app server process: CGI runs a process per request';
          return (await stopComponent(direct.rt, component, 2000)) ? null : `could not stop ${component}`;
        }
        if (host.appControl.length === 0) return 'no app server process: CGI runs a process per request';
        if (host.manager === 'supervisor') {
          const r = await run(['supervisorctl', 'stop', ...host.appControl]);
          return r.code === 0 ? null : `supervisorctl stop: ${r.output}`;
        }
        // The subject is the proxy's answer, not a graceful stop (graceful-stop proves that):
        // what has not stopped after 2 s is killed, as the sandbox does.
        const r = await run(['systemctl', 'stop', '--no-block', ...host.appControl]);
        if (r.code !== 0) return `systemctl stop: ${r.output}`;
        const deadline = Date.now() + 2000;
        while (Date.now() < deadline && (await anyActive(host.appUnits))) await sleep(50);
        if (await anyActive(host.appUnits))
          await run(['systemctl', 'kill', '--signal=SIGKILL', ...host.appUnits]);
        return null;
      },
      restartBackend: startBackend,
      stopTaskWorker: async () => {
        if (direct)
          return (await stopComponent(direct.rt, TASK_WORKER, Number.POSITIVE_INFINITY))
            ? null
            : `could not stop ${TASK_WORKER}`;
        // Blocking: systemctl stop returns once the worker exited (its warm shutdown done).
        const argv =
          host.manager === 'supervisor'
            ? ['supervisorctl', 'stop', unitBaseName(plan, TASK_WORKER)]
            : ['systemctl', 'stop', `${unitBaseName(plan, TASK_WORKER)}.service`];
        const r = await run(argv, 300_000);
        return r.code === 0 && !/ERROR/.test(r.output) ? null : `${argv.join(' ')}: ${r.output}`;
      },
      startTaskWorker: async () => {
        if (direct)
          return restartComponent(direct.rt, TASK_WORKER, direct.start).then(
            () => null,
            (err: Error) => err.message,
          );
        const argv =
          host.manager === 'supervisor'
            ? ['supervisorctl', 'start', unitBaseName(plan, TASK_WORKER)]
            : ['systemctl', 'start', `${unitBaseName(plan, TASK_WORKER)}.service`];
        const r = await run(argv, 60_000);
        return r.code === 0 && !/ERROR/.test(r.output) ? null : `${argv.join(' ')}: ${r.output}`;
      },
    },
    onStart: (key) => emit({ type: 'probe-start', key }),
    onResult: (result) => emit({ type: 'probe', result }),
  });
  outcome.probes.push(...results);
  if (direct) {
    // The next phase follows a reboot, which ends them anyway; the last one stops them first.
    if (job.phase === 'after-reboot') {
      await stopStack(direct.rt);
      // What the launcher made for the commands goes with them.
      rmSync(plan.site.runDir, { recursive: true, force: true });
      rmSync(plan.site.logDir, { recursive: true, force: true });
    } else for (const proc of direct.rt.running.values()) proc.release();
  }
  if (job.phase === 'after-reboot') {
    // Not within a moment of the boot: uWSGI 2.0 misses a stop signal while its workers are
    // still starting and then waits out its mercy (see the ini); no operator uninstalls then.
    await sleep(Math.max(0, BOOT_SETTLE_MS - (performance.now() - phaseStart)));
    for (const r of await uninstallProbes(plan, job, emit)) {
      outcome.probes.push(r);
      emit({ type: 'probe', result: r });
    }
  }
  return outcome;
}

/** Start a manager-less stack's commands with verify's launcher; the runtime, or why not. */
async function startDirect(
  plan: Plan,
  signal: AbortSignal,
  emit: (e: ProgressEvent) => void,
): Promise<{ rt: StackRuntime; start: StartOptions } | { notReady: NonNullable<PassReport['notReady']> }> {
  mkdirSync(plan.site.logDir, { recursive: true, mode: 0o750 });
  const book = readAccountBook();
  // Sockets need their directory, as a user starting the commands would make it.
  if (plan.launches.some((l) => l.ready?.kind === 'unix')) {
    mkdirSync(plan.site.runDir, { recursive: true, mode: 0o750 });
    const ids = resolveIds(book, plan.site.users.app, plan.site.users.group);
    chownSync(plan.site.runDir, ids.uid, ids.gid);
  }
  const rt: StackRuntime = {
    plan,
    units: planUnits(plan, book, { dropPrivileges: true, secrets: readSecrets(plan) }),
    running: new Map(),
    pgids: new Set(),
    killed: new Set(),
  };
  const start: StartOptions = {
    deadlineMs: 30_000,
    signal,
    onEvent: (event) => emit({ type: 'unit', event }),
    book,
  };
  try {
    await startStack(rt, start);
    return { rt, start };
  } catch (err) {
    await stopStack(rt);
    const d = isStackgenError(err) ? (err.details ?? {}) : {};
    return {
      notReady: {
        component: String(d['component'] ?? 'stack'),
        cause: String(d['cause'] ?? (err as Error).message),
        logTail: (d['logTail'] as string[] | undefined) ?? [],
      },
    };
  }
}

/** Uninstall, then prove it took back everything: units, processes, sockets, files; nginx still serves. */
async function uninstallProbes(
  plan: Plan,
  job: InstalledJob,
  emit: (e: ProgressEvent) => void,
): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  const result = (probe: string, title: string, ok: boolean, expected: string, actual: string, t0: number) =>
    out.push({
      key: `stack/${probe}`,
      path: 'stack',
      probe,
      title,
      status: ok ? 'pass' : 'fail',
      expected,
      actual,
      durationMs: Math.round(performance.now() - t0),
    });
  const host = installedHost(plan);
  let t0 = performance.now();
  try {
    const steps = await uninstallStack(plan.name, job.stackFile, {
      dryRun: false,
      out: (line) => emit({ type: 'step', text: line }),
    });
    result(
      'uninstall',
      'stackgen uninstall takes back what install did',
      true,
      'exit 0',
      `${steps} step(s) taken back`,
      t0,
    );
  } catch (err) {
    result(
      'uninstall',
      'stackgen uninstall takes back what install did',
      false,
      'exit 0',
      (err as Error).message,
      t0,
    );
  }
  t0 = performance.now();
  const units = [...host.startUnits, ...host.appUnits];
  const stillLoaded: string[] = [];
  for (const u of new Set(units)) {
    const r = await run(['systemctl', 'show', '--property=LoadState,ActiveState', u]);
    if (/ActiveState=(active|activating|deactivating)/.test(r.output) || /LoadState=loaded/.test(r.output))
      stillLoaded.push(u);
  }
  const procs = processesNaming(plan.site.configDir);
  result(
    'no-process-left',
    'nothing of the stack runs after uninstall',
    stillLoaded.length === 0 && procs.length === 0,
    'no unit of the stack loaded, no process naming its files',
    stillLoaded.length || procs.length
      ? `left: ${[...stillLoaded, ...procs].join('; ')}`
      : `${new Set(units).size} unit(s) gone`,
    t0,
  );
  t0 = performance.now();
  // The broker's run directory and the state directories (its append-only file, beat's schedule) too.
  const ownDirs = plan.launches.flatMap((l) => [
    ...(l.ownsRunDir && l.runDir !== plan.site.runDir ? [l.runDir] : []),
    ...(l.stateDir ? [l.stateDir] : []),
  ]);
  const leftovers = [
    plan.site.configDir,
    plan.site.runDir,
    `/var/lib/stackgen/${plan.name}`,
    ...ownDirs,
  ].filter((p) => existsSync(p));
  const sockets = existsSync(plan.site.runDir)
    ? readdirSync(plan.site.runDir).filter((f) => statSync(`${plan.site.runDir}/${f}`).isSocket())
    : [];
  result(
    'no-socket-left',
    'no socket, run directory or installed file left behind',
    leftovers.length === 0,
    `none of ${[plan.site.configDir, plan.site.runDir, ...ownDirs].join(', ')}`,
    leftovers.length === 0
      ? 'none'
      : `left: ${leftovers.join(', ')}${sockets.length ? ` (sockets: ${sockets.join(', ')})` : ''}`,
    t0,
  );
  const front = PROXIES[plan.front.kind];
  if (front.distro) {
    t0 = performance.now();
    const configTest = front.distro.configTest.join(' ');
    const test = await run(front.distro.configTest);
    // The port the host's front serves by itself afterwards: the one its main config listens
    // on (Apache's ports.conf: 80) when the catalog names it — the stack's own port (8080)
    // is gone with its site — else the stack's (Debian's nginx default site is back on it).
    const port = front.distro.listensAlready?.[0] ?? plan.front.listen.port;
    const publicPort = readListeners().some((l) => l.port === port && !l.loopback);
    result(
      'host-nginx-works',
      `the host's own ${front.title} works after uninstall`,
      test.code === 0 && publicPort,
      `${configTest} passes and ${front.title} listens on ${port} again`,
      test.code !== 0
        ? `${configTest}: ${test.output}`
        : publicPort
          ? `${configTest} ok, listening on ${port}`
          : `nothing listens on ${port}`,
      t0,
    );
  }
  return out;
}

/** The last lines of a file (none when it cannot be read). */
function tailOf(file: string, lines: number): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-lines);
  } catch {
    return [];
  }
}

/** supervisor's log files of the stack's programs. */
function logFilesOf(plan: Plan): string[] {
  try {
    return readdirSync(plan.site.logDir).map((f) => `${plan.site.logDir}/${f}`);
  } catch {
    return [];
  }
}

/** Live processes whose command line names this path. */
function processesNaming(path: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(path)) found.push(`${pid} ${cmd.slice(0, 80)}`);
    } catch {
      // gone
    }
  }
  return found;
}
