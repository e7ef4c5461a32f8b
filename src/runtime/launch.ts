// Start a rendered stack the way its process manager would, wait until each part is
// ready (app servers first, then the proxy; independent parts in parallel), and stop it
// in reverse order — then prove nothing of it is left: no process, no socket file.
//
//   manager systemd    each unit's ExecStart from Plan.launches: argv, env, cwd,
//                      User/Group (privileges dropped when root), UMask=0007, the private
//                      copies its ExecStartPre=+ lines make; systemd itself is not running,
//                      so this is what it would exec
//   manager supervisor the generated supervisord.conf, run for real (supervisord -n)
//   manager none       the commands, directly
//   nginx              `nginx -c <deploy>/nginx/nginx.conf -g 'daemon off;'` (Plan.launches)

import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { StackgenError } from '../errors.js';
import type { UnitEvent } from '../report/types.js';
import { frontTarget } from '../probes/http.js';
import { acmePlan } from '../tls/acme.js';
import {
  type BoundEndpoint,
  isFrontComponent,
  type Launch,
  type Plan,
  type PrivateCopies,
  unitBaseName,
} from '../render/plan.js';
import { frontErrorLog } from '../topology/catalog/recipes.js';
import { sandboxMainPidFile } from '../topology/site.js';
import { loadsEnvFile } from '../render/artifacts.js';
import { parseEnvFile } from '../stack/env-file.js';
import type { Manager } from '../stack/schema.js';
import { likelyCause, type NotReadyFacts, type PathFact, tailLines } from './diagnose.js';
import { portHolder, type ProcInfo, processesOfRun } from './proc.js';
import {
  type ExitInfo,
  type ProcessSpec,
  type RunningProcess,
  signalGroup,
  startProcess,
  stopProcess,
} from './process.js';
import { httpStatus, isConnectable, pollUntil } from './readiness.js';
import { type AccountBook, groupIdsOf, nameOfGid, nameOfUid, resolveIds } from './users.js';

const execFileAsync = promisify(execFile);

/** The environment systemd gives a service before its Environment= lines (systemd.exec(5)). */
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** systemd unit's UMask=0007 (templates/systemd/app.service.hbs). */
const SYSTEMD_UMASK = 0o007;
/** verify does not wait a production grace period (up to 35 s) for a stop. */
const MAX_STOP_GRACE_MS = 5000;

/** One process verify starts and stops; under supervisor, supervisord stands for its programs. */
export interface Unit {
  id: string;
  /** Components (topology ids) this unit brings up. */
  components: string[];
  role: 'app' | 'proxy' | 'manager';
  program: string;
  user: string;
  spec: ProcessSpec;
  /** Endpoints that must accept connections. */
  ready: BoundEndpoint[];
  /** A front: also needs an HTTP answer that is not a 502/504. */
  /** The front's address and the Host readiness asks for (a real server_name: the others get 444). */
  httpReady: { host: string; port: number; hostHeader?: string | undefined } | null;
  stopSignal: string;
  graceMs: number;
  /** Start after these units are ready. */
  after: string[];
  /** Log files that explain this unit (its own output, nginx's error log, program logs). */
  logs: string[];
  /**
   * Socket files its manager removes when it stops: systemd deletes a unit's
   * RuntimeDirectory= (and the sockets in it) at stop, whether or not the server did.
   */
  removedAtStop: string[];
  /**
   * Root-only files its manager copies for it before it starts (systemd's ExecStartPre=+ in
   * the rendered unit: the gateway's TLS key), removed with the directory at stop.
   */
  privateCopies: PrivateCopies | null;
  /**
   * Where its main pid is recorded while it runs (systemd's MAINPID, for a rendered script
   * that reloads it as `systemctl reload` would: certbot's deploy hook); null: not recorded.
   */
  mainPidFile: string | null;
}

export interface StackRuntime {
  plan: Plan;
  units: Unit[];
  running: Map<string, RunningProcess>;
  /** Process groups started (for the leftover check). */
  pgids: Set<number>;
  /** Units that needed SIGKILL: they could not clean up (e.g. remove their socket). */
  killed: Set<string>;
}

/** systemd manager notes for the report: systemd itself was not running. */
export const SYSTEMD_NOTE =
  'systemd was not running: each unit’s ExecStart was run as the unit describes (User/Group, WorkingDirectory, Environment, UMask; its RuntimeDirectory emptied at stop)';

function baseEnv(manager: Manager, user: string): Record<string, string> {
  if (manager === 'none') return { ...(process.env as Record<string, string>) };
  const home = user === 'root' ? '/root' : '/';
  return {
    PATH: SYSTEMD_PATH,
    LANG: process.env['LANG'] ?? 'C.UTF-8',
    HOME: home,
    USER: user,
    LOGNAME: user,
  };
}

function nameOf(launch: Launch): string {
  return launch.id;
}

/** app.env_file's entries, read as the manager reads them (as root); none without one. */
export function readSecrets(plan: Plan): Array<[string, string]> {
  if (plan.site.envFile === null) return [];
  let text: string;
  try {
    text = readFileSync(plan.site.envFile, 'utf8');
  } catch (cause) {
    throw new StackgenError('SG_ERR_ENV_FILE', `app.env_file ${plan.site.envFile} cannot be read`, {
      cause,
      hint: 'create it (KEY=value lines), owned by root with mode 600',
    });
  }
  return parseEnvFile(text).entries;
}

/** The units of a plan for its manager. Pure but for account lookups. */
export function planUnits(
  plan: Plan,
  book: AccountBook,
  options: {
    dropPrivileges: boolean;
    /** app.env_file's entries: what systemd's EnvironmentFile= gives the app's own processes. */
    secrets?: ReadonlyArray<[string, string]>;
  },
): Unit[] {
  const manager = plan.spec.processes.manager;
  const logDir = plan.site.logDir;
  const ids = (user: string, group: string) =>
    options.dropPrivileges && user !== 'root'
      ? resolveIds(book, user, group)
      : { uid: undefined, gid: undefined };
  const graceOf = (l: Launch) => Math.min(l.stopGraceSeconds * 1000, MAX_STOP_GRACE_MS);
  const front =
    plan.front.kind === 'none'
      ? null
      : {
          host: plan.front.listen.host,
          port: plan.front.listen.port,
          hostHeader: frontTarget(plan).hostHeader,
        };
  const units: Unit[] = [];
  const managed = plan.launches.filter((l) => l.managed);
  // A front the distribution runs in production (Debian's nginx): verify runs it itself.
  const unmanaged = plan.launches.filter((l) => !l.managed);
  const componentOf = (id: string) => plan.topology.components.find((c) => c.id === id);
  const isFront = (l: Launch) => isFrontComponent(plan, l.component);
  const errorLog = frontErrorLog(plan);
  const depsOf = (component: string) => componentOf(component)?.dependsOn ?? [];

  if (manager === 'supervisor' && managed.length > 0) {
    units.push({
      id: 'supervisord',
      components: [...new Set(managed.map((l) => l.component))],
      role: 'manager',
      program: 'supervisord',
      user: 'root',
      spec: {
        id: 'supervisord',
        argv: ['supervisord', '-c', plan.files.supervisordConf, '-n'],
        env: baseEnv(manager, 'root'),
        cwd: plan.site.configDir,
        logFile: join(logDir, 'supervisord.out'),
      },
      ready: managed.flatMap((l) => (l.ready ? [l.ready] : [])),
      httpReady: managed.some(isFront) ? front : null,
      stopSignal: 'SIGTERM',
      // supervisord stops its programs one after another (each waits out its own stop), so
      // its own stop takes their sum: a Celery worker's warm shutdown comes on top of the app's.
      graceMs: managed.reduce((sum, l) => sum + graceOf(l), 0) + 1000,
      after: [],
      removedAtStop: [],
      privateCopies: null,
      mainPidFile: null,
      logs: [
        join(logDir, 'supervisord.log'),
        ...[...new Set(managed.map((l) => l.component))].map((c) =>
          join(
            logDir,
            `${unitBaseName(plan, c)}${managed.filter((l) => l.component === c).length > 1 || managed.find((l) => l.component === c)?.instance ? '-*' : ''}.log`,
          ),
        ),
      ],
    });
  } else {
    for (const l of managed) {
      const { uid, gid } = ids(l.user, l.group);
      units.push({
        id: nameOf(l),
        components: [l.component],
        role: isFront(l) ? 'proxy' : 'app',
        program: componentOf(l.component)?.program ?? l.component,
        user: l.user,
        spec: {
          id: l.id,
          argv: l.argv,
          env: {
            ...baseEnv(manager, l.user),
            ...l.env,
            ...(loadsEnvFile(plan, l) ? Object.fromEntries(options.secrets ?? []) : {}),
          },
          cwd: l.cwd,
          uid,
          gid,
          umask: manager === 'systemd' ? SYSTEMD_UMASK : undefined,
          logFile: join(logDir, `${l.id.replace('@', '-')}.log`),
        },
        ready: l.ready ? [l.ready] : [],
        httpReady: isFront(l) ? front : null,
        stopSignal: l.stopSignal,
        graceMs: graceOf(l),
        after: [],
        logs: [join(logDir, `${l.id.replace('@', '-')}.log`)],
        removedAtStop:
          manager === 'systemd' && l.ownsRunDir && l.ready?.kind === 'unix' ? [l.ready.path] : [],
        privateCopies: manager === 'systemd' ? l.privateCopies : null,
        // The front's, for proxy.tls.acme only: certbot's deploy hook reloads it by this pid
        // here. Nothing else reads it, and the machine target's manager-none stacks run in
        // the production site, whose run directory nothing creates.
        mainPidFile: isFront(l) && acmePlan(plan) ? sandboxMainPidFile(plan.site, l.id) : null,
      });
    }
  }
  for (const l of unmanaged) {
    units.push({
      id: l.id,
      components: [l.component],
      role: 'proxy',
      program: componentOf(l.component)?.program ?? l.component,
      // It starts as root and drops to its configured worker user itself.
      user: plan.site.users.proxy,
      spec: {
        id: l.id,
        argv: l.argv,
        env: { PATH: SYSTEMD_PATH, ...l.env },
        cwd: l.cwd,
        logFile: join(logDir, `${l.id}.out`),
      },
      ready: l.ready ? [l.ready] : [],
      httpReady: front,
      stopSignal: l.stopSignal,
      graceMs: graceOf(l),
      after: [],
      logs: [join(logDir, `${l.id}.out`), ...(errorLog ? [errorLog] : [])],
      removedAtStop: [],
      privateCopies: null,
      mainPidFile: null,
    });
  }
  // A unit waits for the units that bring up the components its components depend on.
  for (const u of units) {
    const deps = new Set(u.components.flatMap(depsOf));
    u.after = units.filter((o) => o !== u && o.components.some((c) => deps.has(c))).map((o) => o.id);
  }
  return units;
}

/** Start order in waves: each wave's units only wait for earlier waves. */
export function startWaves(units: Unit[]): Unit[][] {
  const waves: Unit[][] = [];
  const placed = new Set<string>();
  while (placed.size < units.length) {
    const wave = units.filter((u) => !placed.has(u.id) && u.after.every((a) => placed.has(a)));
    if (wave.length === 0) throw new StackgenError('SG_ERR_INTERNAL', 'dependency cycle between components');
    for (const u of wave) placed.add(u.id);
    waves.push(wave);
  }
  return waves;
}

function readTail(path: string, bytes = 16 * 1024): string {
  const files = path.endsWith('-*.log')
    ? safeList(dirname(path))
        .filter((f) => f.startsWith(`${path.slice(dirname(path).length + 1, -6)}-`))
        .map((f) => join(dirname(path), f))
    : [path];
  return files
    .map((f) => {
      try {
        const text = readFileSync(f, 'utf8');
        return text.slice(-bytes);
      } catch {
        return '';
      }
    })
    .join('\n');
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export interface StartOptions {
  deadlineMs: number;
  signal?: AbortSignal | undefined;
  onEvent?: ((e: UnitEvent) => void) | undefined;
  book: AccountBook;
}

/** The facts behind "not ready", gathered from disk for the pure diagnosis. */
function notReadyFacts(
  rt: StackRuntime,
  unit: Unit,
  exit: ExitInfo | null,
  lastStatus: number | null,
  book: AccountBook,
): NotReadyFacts {
  const plan = rt.plan;
  // The upstream's own logs explain a proxy's 502 (an app that accepts, then fails to import).
  const upstreamLogs =
    unit.role === 'proxy' ? rt.units.filter((u) => u.role !== 'proxy').flatMap((u) => u.logs) : [];
  const frontLog = frontErrorLog(plan);
  const own = unit.logs.filter((l) => l !== frontLog);
  const errorLog = unit.role === 'proxy' && frontLog ? readTail(frontLog) : '';
  const socket = /connect\(\) to unix:(\S+?) failed/.exec(errorLog)?.[1] ?? null;
  const proxyUser = plan.site.users.proxy;
  const account = book.accounts.find((a) => a.name === proxyUser);
  const tcpPorts = unit.ready.flatMap((ep) => (ep.kind === 'tcp' ? [ep.port] : []));
  const holder = exit && tcpPorts.length ? (tcpPorts.map(portHolder).find((h) => h !== null) ?? null) : null;
  return {
    component: unit.id,
    program: unit.program,
    logTail: [...own, ...upstreamLogs].map((l) => readTail(l)).join('\n'),
    errorLog,
    exit,
    socketPath: socket ? pathFacts(socket, rt.plan.site.configDir, book) : [],
    proxy: account ? { user: proxyUser, uid: account.uid, gids: groupIdsOf(book, proxyUser) } : null,
    portHolder: holder,
    entry: plan.app.entry,
    appRoot: plan.app.root,
    lastStatus,
  };
}

/** Owner and mode of each directory from the sandbox root down to the socket. */
function pathFacts(socket: string, configDir: string, book: AccountBook): PathFact[] {
  const top = dirname(configDir);
  const parts = relative(top, socket).split('/');
  const facts: PathFact[] = [];
  let path = top;
  for (const part of ['', ...parts]) {
    path = part ? join(path, part) : path;
    try {
      const st = lstatSync(path);
      facts.push({
        path,
        exists: true,
        mode: st.mode,
        uid: st.uid,
        gid: st.gid,
        owner: nameOfUid(book, st.uid),
        group: nameOfGid(book, st.gid),
      });
    } catch {
      facts.push({ path, exists: false, mode: 0, uid: -1, gid: -1, owner: '?', group: '?' });
    }
  }
  return facts;
}

/** Start every unit in dependency order; throws SG_ERR_COMPONENT_NOT_READY with the cause. */
export async function startStack(rt: StackRuntime, options: StartOptions): Promise<void> {
  for (const wave of startWaves(rt.units)) {
    await Promise.all(wave.map((u) => startUnit(rt, u, options)));
  }
}

async function startUnit(rt: StackRuntime, unit: Unit, options: StartOptions): Promise<void> {
  const t0 = Date.now();
  options.onEvent?.({ unit: unit.id, phase: 'starting' });
  // A port someone else holds makes "connectable" lie: refuse before starting.
  for (const ep of unit.ready) {
    if (ep.kind !== 'tcp') continue;
    const holder = portHolder(ep.port);
    if (holder) {
      const cause = `${unit.id} cannot listen on ${ep.host}:${ep.port}: the address is already in use by ${holder}`;
      options.onEvent?.({ unit: unit.id, phase: 'failed', detail: cause });
      throw notReady(unit, cause, []);
    }
  }
  if (unit.privateCopies) makePrivateCopies(unit.privateCopies, unit.spec.uid);
  const proc = startProcess(unit.spec);
  rt.running.set(unit.id, proc);
  if (unit.mainPidFile && proc.pid > 0) writeFileSync(unit.mainPidFile, `${proc.pid}\n`);
  if (proc.pgid > 0) rt.pgids.add(proc.pgid);
  const deadline = Date.now() + options.deadlineMs;
  const died = () => {
    const exit = proc.exit();
    if (exit) return `exited (${exit.signal ?? exit.code ?? exit.error})`;
    // An earlier unit that died meanwhile (gunicorn gives up after its workers fail to boot).
    for (const other of rt.units) {
      const o = rt.running.get(other.id);
      if (o && o !== proc && o.exit() && other.role !== 'proxy') return `${other.id} exited`;
    }
    if (unit.role === 'manager' && /gave up: /.test(readTail(join(rt.plan.site.logDir, 'supervisord.log'))))
      return 'supervisord gave up on a program';
    return null;
  };
  const outcome = await pollUntil(
    async () => {
      const answers = await Promise.all(unit.ready.map((ep) => isConnectable(ep)));
      return answers.every(Boolean) ? true : null;
    },
    { deadline, giveUp: died, signal: options.signal },
  );
  let lastStatus: number | null = null;
  let ok = outcome.ok;
  if (ok && unit.httpReady) {
    const front = unit.httpReady;
    let badSince = 0;
    const http = await pollUntil(
      async () => {
        lastStatus = await httpStatus(front, '/', 3000, front.hostHeader);
        if (lastStatus !== null && lastStatus !== 502 && lastStatus !== 504) return lastStatus;
        return null;
      },
      {
        deadline,
        signal: options.signal,
        // Upstreams were ready before the proxy started: a 502 that lasts is a broken hop.
        giveUp: () => {
          const d = died();
          if (d) return d;
          if (lastStatus === 502 || lastStatus === 504) {
            badSince ||= Date.now();
            if (Date.now() - badSince > 600) return `answers ${lastStatus}`;
          }
          return null;
        },
      },
    );
    ok = http.ok;
    if (!http.ok && http.why === 'aborted') throw interrupted();
  }
  if (!outcome.ok && outcome.why === 'aborted') throw interrupted();
  if (ok) {
    options.onEvent?.({ unit: unit.id, phase: 'ready', ms: Date.now() - t0 });
    return;
  }
  // Blame the unit that died, if one did; else this one.
  const dead = rt.units.find((u) => u.role !== 'proxy' && rt.running.get(u.id)?.exit()) ?? unit;
  const deadProc = rt.running.get(dead.id);
  const facts = notReadyFacts(
    rt,
    dead === unit ? unit : dead,
    deadProc?.exit() ?? null,
    lastStatus,
    options.book,
  );
  const cause = likelyCause(facts);
  options.onEvent?.({ unit: dead.id, phase: 'failed', detail: cause });
  throw notReady(
    dead,
    cause,
    tailLines(facts.errorLog ? `${facts.logTail}\n${facts.errorLog}` : facts.logTail, 15),
  );
}

function notReady(unit: Unit, cause: string, tail: string[]): StackgenError {
  return new StackgenError('SG_ERR_COMPONENT_NOT_READY', `${unit.id} is not ready: ${cause}`, {
    hint: `its log: ${unit.logs.join(', ')}`,
    details: { component: unit.id, cause, logTail: tail },
  });
}

function interrupted(): StackgenError {
  return new StackgenError('SG_ERR_INTERRUPTED', 'interrupted while starting the stack');
}

export interface StopReport {
  stopped: Array<{ unit: string; ms: number; escalated: boolean; exit: ExitInfo }>;
  /** Processes of the run still alive after every unit was stopped (then SIGKILLed). */
  leftovers: ProcInfo[];
  /** Socket files left in the run dir. */
  sockets: string[];
}

/** Stop units in reverse start order (proxies first), then look for anything left. */
export async function stopStack(rt: StackRuntime, onEvent?: (e: UnitEvent) => void): Promise<StopReport> {
  const stopped: StopReport['stopped'] = [];
  const waves = startWaves(rt.units).reverse();
  for (const wave of waves) {
    await Promise.all(
      wave.map(async (u) => {
        const proc = rt.running.get(u.id);
        if (!proc) return;
        onEvent?.({ unit: u.id, phase: 'stopping' });
        const r = await stopProcess(proc, u.stopSignal, u.graceMs);
        if (r.escalated) rt.killed.add(u.id);
        removeAtStop(u);
        stopped.push({ unit: u.id, ms: r.ms, escalated: r.escalated, exit: r.exit });
        onEvent?.({ unit: u.id, phase: 'stopped', ms: r.ms });
      }),
    );
  }
  const leftovers = processesOfRun(dirname(rt.plan.site.configDir), rt.pgids);
  for (const p of leftovers) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  for (const pgid of rt.pgids) signalGroup(pgid, 'SIGKILL');
  const sockets = safeList(rt.plan.site.runDir)
    .map((f) => join(rt.plan.site.runDir, f))
    .filter((f) => {
      try {
        return statSync(f).isSocket();
      } catch {
        return false;
      }
    });
  return { stopped, leftovers, sockets };
}

/** supervisorctl's name for a component's program (`name:*` for numbered processes). */
function supervisorName(rt: StackRuntime, component: string): string {
  const numbered = rt.plan.launches.filter((l) => l.component === component).some((l) => l.instance !== null);
  const name = unitBaseName(rt.plan, component);
  return numbered ? `${name}:*` : name;
}

/** Stop one component mid-run (the backend-down probe), as its manager would. */
export async function stopComponent(rt: StackRuntime, component: string, graceMs: number): Promise<boolean> {
  const units = rt.units.filter((u) => u.components.includes(component));
  if (units.length === 0) return false;
  if (units.some((u) => u.role === 'manager')) {
    // supervisor stops its program (stopsignal, stopasgroup) when told over its socket.
    const result = await execFileAsync('supervisorctl', [
      '-c',
      rt.plan.files.supervisordConf,
      'stop',
      supervisorName(rt, component),
    ]).catch((err: unknown) => ({ stdout: String(err) }));
    return !/ERROR/.test(result.stdout);
  }
  await Promise.all(
    units.map(async (u) => {
      const proc = rt.running.get(u.id);
      if (!proc) return;
      const r = await stopProcess(proc, u.stopSignal, Math.min(graceMs, u.graceMs));
      if (r.escalated) rt.killed.add(u.id);
      removeAtStop(u);
    }),
  );
  return true;
}

/** Do what the unit's manager does after it stopped (systemd: empty its RuntimeDirectory). */
function removeAtStop(unit: Unit): void {
  for (const f of unit.removedAtStop) rmSync(f, { force: true });
  if (unit.privateCopies) rmSync(unit.privateCopies.dir, { recursive: true, force: true });
  if (unit.mainPidFile) rmSync(unit.mainPidFile, { force: true });
}

/**
 * What the unit's `ExecStartPre=+/usr/bin/install …` lines do (artifacts.ts
 * privateCopyCommands), run by this process as root would: the directory mode 0700 and each
 * copy mode 0400, owned by the unit's user (`uid`; undefined: this process's own user).
 */
export function makePrivateCopies(copies: PrivateCopies, uid: number | undefined): void {
  mkdirSync(copies.dir, { recursive: true, mode: 0o700 });
  chmodSync(copies.dir, 0o700);
  if (uid !== undefined) chownSync(copies.dir, uid, -1);
  for (const f of copies.files) {
    rmSync(f.to, { force: true });
    copyFileSync(f.from, f.to);
    chmodSync(f.to, 0o400);
    if (uid !== undefined) chownSync(f.to, uid, -1);
  }
}

/** Start a component again after stopComponent (the backend-down probe), as its manager would. */
export async function restartComponent(
  rt: StackRuntime,
  component: string,
  options: StartOptions,
): Promise<void> {
  const units = rt.units.filter((u) => u.components.includes(component));
  if (units.some((u) => u.role === 'manager')) {
    await execFileAsync('supervisorctl', [
      '-c',
      rt.plan.files.supervisordConf,
      'start',
      supervisorName(rt, component),
    ]);
    const ready = units.flatMap((u) => u.ready);
    const outcome = await pollUntil(
      async () => ((await Promise.all(ready.map((ep) => isConnectable(ep)))).every(Boolean) ? true : null),
      { deadline: Date.now() + options.deadlineMs, signal: options.signal },
    );
    if (!outcome.ok) throw new StackgenError('SG_ERR_COMPONENT_NOT_READY', `${component} did not come back`);
    return;
  }
  await Promise.all(units.map((u) => startUnit(rt, u, options)));
}

/**
 * A shell script that stops a kept stack the way verify would: proxies first, each main
 * process its stop signal, the whole group SIGKILL after the grace period, then the sandbox
 * is removed. Pure.
 */
export function stopScript(rt: StackRuntime, sandboxDir: string): string {
  const lines = [
    '#!/bin/sh',
    `# Stops the stack \`stackgen verify --keep\` left running in ${sandboxDir}, then removes it.`,
    '# Each unit: its stop signal to the main process, SIGKILL to its process group after the grace.',
    '# alive: the process exists and is not a zombie (a dead child nobody reaped yet).',
    'alive() { s=$(sed \'s/.*) //\' "/proc/$1/stat" 2>/dev/null | cut -d" " -f1); [ -n "$s" ] && [ "$s" != Z ]; }',
    'stop() { # pid pgid signal grace-seconds',
    '  kill -"$3" "$1" 2>/dev/null',
    '  i=0; while alive "$1" && [ "$i" -lt "$(( $4 * 10 ))" ]; do sleep 0.1; i=$((i + 1)); done',
    '  kill -KILL -"$2" 2>/dev/null',
    '  return 0',
    '}',
  ];
  for (const wave of startWaves(rt.units).reverse()) {
    for (const u of wave) {
      const proc = rt.running.get(u.id);
      if (proc && proc.exit() === null)
        lines.push(
          `stop ${proc.pid} ${proc.pgid} ${u.stopSignal.replace('SIG', '')} ${Math.ceil(u.graceMs / 1000)} # ${u.id}`,
        );
    }
  }
  lines.push(`rm -rf '${sandboxDir}'`, '');
  return lines.join('\n');
}
