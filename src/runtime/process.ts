// One long-running process of a stack: spawned in its own process group (so teardown
// reaches every worker it forks), output appended to a log file, and stopped the way
// execa's terminate does it — the stop signal first, SIGKILL to the whole group after a
// grace period — recording why it ended.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { processesInGroups } from './proc.js';

export interface ProcessSpec {
  /** Launch id (component, or component@instance). */
  id: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Drop privileges to these ids (only when verify runs as root). */
  uid?: number | undefined;
  gid?: number | undefined;
  /** umask for the child (systemd's UMask=); applied around the fork. */
  umask?: number | undefined;
  logFile: string;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Why it ended: on its own, by our stop signal, by the SIGKILL escalation, or exec failed. */
  reason: 'exited' | 'stopped' | 'killed' | 'spawn-failed';
  error?: string | undefined;
}

export interface RunningProcess {
  spec: ProcessSpec;
  pid: number;
  /** Process group id: the pid, since the child called setsid (detached). */
  pgid: number;
  startedAt: number;
  /** Null while running. */
  exit(): ExitInfo | null;
  exited: Promise<ExitInfo>;
  /** Let this process outlive us: verify --keep returns to the shell while it runs on. */
  release(): void;
}

/** Spawn detached (own session and process group), stdout+stderr appended to spec.logFile. */
export function startProcess(spec: ProcessSpec): RunningProcess {
  const [program, ...args] = spec.argv;
  const log = openSync(spec.logFile, 'a', 0o644);
  let stopping: 'stopped' | 'killed' | null = null;
  let info: ExitInfo | null = null;
  let child: ChildProcess;
  const previousUmask = spec.umask === undefined ? null : process.umask(spec.umask);
  try {
    child = spawn(program ?? '', args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', log, log],
      uid: spec.uid,
      gid: spec.gid,
    });
  } finally {
    if (previousUmask !== null) process.umask(previousUmask);
    closeSync(log);
  }
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (err) => {
      info ??= { code: null, signal: null, reason: 'spawn-failed', error: err.message };
      resolve(info);
    });
    child.once('exit', (code, signal) => {
      info ??= { code, signal, reason: stopping ?? 'exited' };
      resolve(info);
    });
  });
  const running: RunningProcess & { markStopping(kind: 'stopped' | 'killed'): void } = {
    spec,
    pid: child.pid ?? -1,
    pgid: child.pid ?? -1,
    startedAt: Date.now(),
    exit: () => info,
    exited,
    release: () => child.unref(),
    markStopping(kind) {
      stopping = kind;
    },
  };
  stoppers.set(running, running.markStopping);
  return running;
}

const stoppers = new WeakMap<RunningProcess, (kind: 'stopped' | 'killed') => void>();

/** Send a signal to a whole process group; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (pgid <= 0) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export interface StopResult {
  exit: ExitInfo;
  /** The grace period ran out and the group got SIGKILL. */
  escalated: boolean;
  ms: number;
}

/**
 * Stop like systemd's KillMode=mixed: the stop signal to the main process (its master
 * tells the workers), SIGKILL to the whole group when the grace period runs out; once the
 * main process is gone, stragglers in the group get SIGKILL at once.
 */
export async function stopProcess(p: RunningProcess, signal: string, graceMs: number): Promise<StopResult> {
  const started = Date.now();
  const mark = stoppers.get(p);
  if (p.exit() === null) {
    mark?.('stopped');
    signalProcess(p.pid, signal as NodeJS.Signals);
  }
  let escalated = false;
  const timer = setTimeout(() => {
    escalated = true;
    mark?.('killed');
    signalGroup(p.pgid, 'SIGKILL');
  }, graceMs);
  const exit = await p.exited;
  clearTimeout(timer);
  await drainGroup(p.pgid, Math.min(graceMs, 1500));
  return { exit, escalated, ms: Date.now() - started };
}

/** Wait (briefly) for the rest of a group to follow its leader, then SIGKILL what is left. */
export async function drainGroup(pgid: number, waitMs: number): Promise<void> {
  const group = new Set([pgid]);
  // kill(-pgid, 0) also answers for zombies nobody reaps; /proc tells the living apart.
  const alive = () => processesInGroups(group).length > 0;
  const deadline = Date.now() + waitMs;
  while (alive() && Date.now() < deadline) await sleep(20);
  if (!alive()) return;
  signalGroup(pgid, 'SIGKILL');
  while (alive() && Date.now() < deadline + 1000) await sleep(20);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
