// Carry out install steps on this machine: each command in turn, a line per step, and on
// the first failure the undo of everything this run did, in reverse (a unit that did not
// come up also shows its journal). What a run did is merged into the install manifest,
// so `stackgen uninstall` can take exactly that back later.

import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { isStackgenError, StackgenError } from '../errors.js';
import type { Artifact } from '../render/artifacts.js';
import { writeArtifacts, writeAtomic } from '../render/write.js';
import { httpStatus, isConnectable, POLL_MS } from '../runtime/readiness.js';
import { sleep } from '../runtime/process.js';
import { resolveIds, readAccountBook } from '../runtime/users.js';
import { touchedDistroProxies } from '../topology/catalog/proxies.js';
import { runningPrograms } from './facts.js';
import type { Command, HostFacts, InstallStep } from './steps.js';

/** What install keeps on disk: the steps it performed, with their undo, in install order. */
export interface InstallManifest {
  generator: 'stackgen';
  name: string;
  source: string;
  /** shared: a host-wide step another stack may hold too (InstallStep.shared). */
  steps: Array<{ id: string; title: string; undo: Command[]; shared?: boolean }>;
}

export interface ExecuteOptions {
  /** The generated files, for the write-files command. */
  artifacts: readonly Artifact[];
  source: string;
  force: boolean;
  /** Seconds a unit may take to accept connections. */
  readySeconds: number;
  out: (line: string) => void;
}

/** Why a command failed, with what the tool printed. */
class CommandFailed extends Error {
  constructor(
    message: string,
    readonly output: string,
    /** The journal of the units involved, when a unit is what failed. */
    readonly journal = '',
  ) {
    super(message);
  }
}

async function exec(argv: string[], okExit: readonly number[] = []): Promise<string> {
  const [cmd, ...args] = argv;
  const r = await execa(cmd!, args, { reject: false, all: true, stdin: 'ignore', timeout: 120_000 });
  const output = (r.all ?? '').trim();
  if (r.exitCode !== 0 && !okExit.includes(r.exitCode ?? -1))
    throw new CommandFailed(`\`${argv.join(' ')}\` exited ${r.exitCode ?? r.signal ?? 'abnormally'}`, output);
  return output;
}

/** The last journal lines of these units (what an operator would read first). */
async function journalTail(units: string[]): Promise<string> {
  if (units.length === 0) return '';
  const args = ['--no-pager', '-n', '300', '-o', 'cat', ...units.flatMap((u) => ['-u', u])];
  const r = await execa('journalctl', args, { reject: false, all: true });
  return explainingTail((r.all ?? '').trim().split('\n')).join('\n');
}

/**
 * The last 25 lines of a log, led by the exception lines before them (a server that
 * retries logs pages after the `ModuleNotFoundError: …` that explains it). Pure.
 */
export function explainingTail(lines: string[], tail = 25): string[] {
  const last = lines.slice(-tail);
  const causes = [
    ...new Set(
      lines
        .slice(0, -tail)
        .filter((l) => /\b[A-Z]\w*(Error|Exception)\b: /.test(l))
        .reverse(),
    ),
  ]
    .slice(0, 3)
    .reverse()
    .filter((l) => !last.includes(l));
  return causes.length ? [...causes, '…', ...last] : last;
}

/** How long the front may answer 502/503/504 before the path counts as broken. */
const LASTING_BAD_MS = 5000;

/** How long a unit must stay up after it first accepts connections. */
const STABLE_MS = 1000;

/** Files a write-files command is about to replace, so a rollback can put them back. */
type Snapshot = { dir: string; existed: boolean; files: Array<{ path: string; content: string | null }> };

async function runCommand(c: Command, o: ExecuteOptions): Promise<Snapshot | null> {
  switch (c.kind) {
    case 'exec':
      await exec(c.argv, c.okExit);
      return null;
    case 'write-files': {
      const snapshot: Snapshot = {
        dir: c.dir,
        existed: existsSync(c.dir),
        files: o.artifacts.map((a) => {
          const path = join(c.dir, a.path);
          return { path, content: existsSync(path) ? readFileSync(path, 'utf8') : null };
        }),
      };
      writeArtifacts(c.dir, [...o.artifacts], { force: o.force, source: o.source });
      return snapshot;
    }
    case 'write-file':
      writeAtomic(c.path, c.content, c.mode);
      return null;
    case 'symlink':
      mkdirSync(dirname(c.link), { recursive: true });
      if (isLink(c.link)) unlinkSync(c.link);
      symlinkSync(c.target, c.link);
      return null;
    case 'remove':
      rmSync(c.path, { recursive: c.recursive ?? false, force: true });
      return null;
    case 'remove-if-empty':
      try {
        rmdirSync(c.path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') o.out(`  · kept ${c.path}: it holds the app's data`);
        else if (code !== 'ENOENT') throw err;
      }
      return null;
    case 'mkdir': {
      mkdirSync(c.path, { recursive: true, mode: c.mode });
      const ids = resolveIds(readAccountBook(), c.owner, c.group);
      chownSync(c.path, ids.uid, ids.gid);
      return null;
    }
    case 'wait-ready': {
      const deadline = Date.now() + o.readySeconds * 1000;
      for (;;) {
        const ready = await Promise.all(c.endpoints.map((ep) => isConnectable(ep)));
        if (ready.every(Boolean)) {
          // A master listens before its workers boot: a worker that cannot start (gunicorn
          // exits when one fails) takes the unit down a moment later. It must stay up.
          await sleep(STABLE_MS);
          const broken = await brokenUnit(c.systemdUnits);
          if (broken) throw new CommandFailed(broken, '', await journalTail(c.logUnits));
          return null;
        }
        // A unit that already failed or is restarting will not get there: say so now.
        const broken = await brokenUnit(c.systemdUnits);
        if (broken) throw new CommandFailed(broken, '', await journalTail(c.logUnits));
        if (Date.now() > deadline) {
          const missing = c.endpoints.filter((_, i) => !ready[i]);
          throw new CommandFailed(
            `${c.what} did not accept connections on ${missing.map((e) => (e.kind === 'unix' ? e.path : `${e.host}:${e.port}`)).join(', ')} within ${o.readySeconds} s`,
            '',
            await journalTail(c.logUnits),
          );
        }
        await sleep(POLL_MS * 5);
      }
    }
    case 'reload':
      await reloadAndWait(c.service, c.pidFile);
      return null;
    case 'wait-answer': {
      const deadline = Date.now() + o.readySeconds * 1000;
      let badSince = 0;
      for (;;) {
        const last = await httpStatus({ host: c.host, port: c.port }, '/', 3000, c.hostHeader);
        if (last !== null && last !== 502 && last !== 503 && last !== 504) return null;
        // A gateway error that lasts is a broken hop (the app does not load), not a slow start.
        if (last !== null) badSince ||= Date.now();
        else badSince = 0;
        if (Date.now() > deadline || (badSince && Date.now() - badSince > LASTING_BAD_MS))
          throw new CommandFailed(
            `the front answers ${last ?? 'nothing'} on http://${c.host}:${c.port}/: the app behind it is not serving`,
            '',
            await journalTail(c.logUnits),
          );
        await sleep(200);
      }
    }
    case 'wait-supervisor': {
      const deadline = Date.now() + o.readySeconds * 1000;
      for (;;) {
        const status = await execa('supervisorctl', ['status'], { reject: false });
        if (runningPrograms(status.stdout, c.programs).length === c.programs.length) return null;
        if (Date.now() > deadline)
          throw new CommandFailed(`supervisor programs not RUNNING: ${c.programs.join(', ')}`, status.stdout);
        await sleep(200);
      }
    }
  }
}

/** Children of a process (a master's workers); empty when it is gone. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** `systemctl reload`, then wait (up to 10 s) until the master's old workers have exited. */
export async function reloadAndWait(service: string, pidFile: string): Promise<void> {
  const master = Number(readFileSync(pidFile, 'utf8').trim());
  const before = new Set(childrenOf(master));
  await exec(['systemctl', 'reload', service]);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const now = childrenOf(master);
    if (now.length > 0 && now.every((p) => !before.has(p))) return;
    await sleep(20);
  }
}

/** A unit that failed or is being restarted by systemd, in words; null when none is. */
async function brokenUnit(units: string[]): Promise<string | null> {
  for (const unit of units) {
    const r = await execa('systemctl', ['show', '--property=ActiveState,SubState,NRestarts', unit], {
      reject: false,
    });
    const p = Object.fromEntries(r.stdout.split('\n').map((l) => l.split('=') as [string, string]));
    if (p['ActiveState'] === 'failed' || p['SubState'] === 'auto-restart' || Number(p['NRestarts'] ?? 0) > 0)
      return `${unit} is ${p['ActiveState']} (${p['SubState']}, ${p['NRestarts'] ?? 0} restart(s)): it exits instead of serving`;
  }
  return null;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Undo a write-files command: put back the files it replaced (or remove the dir it made). */
function restore(s: Snapshot): void {
  if (!s.existed) {
    rmSync(s.dir, { recursive: true, force: true });
    return;
  }
  for (const f of s.files) {
    if (f.content === null) rmSync(f.path, { force: true });
    else writeAtomic(f.path, f.content, 0o644);
  }
}

export interface ExecuteResult {
  performed: InstallStep[];
  /** Steps that were already so. */
  unchanged: InstallStep[];
}

/**
 * Run the steps that are not done yet. On a failure: undo this run's steps in reverse,
 * then throw SG_ERR_INSTALL_FAILED naming the step, with the tool's output and the journal.
 */
export async function executeSteps(steps: InstallStep[], o: ExecuteOptions): Promise<ExecuteResult> {
  const performed: Array<{ step: InstallStep; snapshots: Snapshot[] }> = [];
  const unchanged: InstallStep[] = [];
  for (const step of steps) {
    if (step.done) {
      unchanged.push(step);
      o.out(`  · ${step.title} (already so)`);
      continue;
    }
    const snapshots: Snapshot[] = [];
    try {
      for (const c of step.commands) {
        const s = await runCommand(c, o);
        if (s) snapshots.push(s);
      }
    } catch (err) {
      o.out(`  ✗ ${step.title}`);
      // A generated file edited by hand: nothing was written; exit 4, not a failed step.
      if (isStackgenError(err, 'SG_ERR_USER_EDITED')) throw err;
      const output = err instanceof CommandFailed ? err.output : '';
      const units = step.commands.flatMap((c) =>
        c.kind === 'exec' && c.argv[0] === 'systemctl' && c.argv.includes('--now') ? [c.argv.at(-1)!] : [],
      );
      const journal =
        err instanceof CommandFailed && err.journal
          ? err.journal
          : units.length
            ? await journalTail(units)
            : '';
      // The half-done step first (its snapshot), then the whole ones, newest first.
      const undoing = [{ step, snapshots }, ...performed.reverse()];
      o.out(`  rolling back ${performed.length} step(s) of this run`);
      const rollbackErrors = await rollback(undoing, step, o);
      throw new StackgenError('SG_ERR_INSTALL_FAILED', `${step.title}: ${(err as Error).message}`, {
        cause: err,
        hint: 'nothing of this run is left in place; fix the cause above and run `stackgen install` again',
        details: { step: step.id, output, journal, rollbackErrors },
      });
    }
    if (step.check) {
      o.out(`  ✓ (check) ${step.title}`);
      continue;
    }
    performed.push({ step, snapshots });
    o.out(`  ✓ ${step.title}${step.why ? `  (${step.why})` : ''}`);
  }
  return { performed: performed.map((p) => p.step), unchanged };
}

async function rollback(
  undoing: Array<{ step: InstallStep; snapshots: Snapshot[] }>,
  failed: InstallStep,
  o: ExecuteOptions,
): Promise<string[]> {
  const errors: string[] = [];
  for (const { step, snapshots } of undoing) {
    // Files are put back from the snapshot: an update restores the previous version.
    if (step.id.startsWith('files:')) {
      for (const s of snapshots) restore(s);
      continue;
    }
    for (const c of step.undo) {
      try {
        await runCommand(c, o);
      } catch (err) {
        // The failed step may have stopped before the part its undo takes back.
        if (step !== failed) errors.push(`${step.title}: ${(err as Error).message}`);
      }
    }
  }
  // A reload that already happened is taken back by reloading the restored configuration.
  const reloaded = undoing.filter(({ step }) => step !== failed).map(({ step }) => step.id);
  for (const proxy of touchedDistroProxies(reloaded)) {
    if (!reloaded.includes(`${proxy.name}-reload`)) continue;
    const { service, pidFile } = proxy.distro!;
    await reloadAndWait(service, pidFile).catch((err: unknown) => errors.push((err as Error).message));
  }
  if (undoing.some(({ step }) => step.id.startsWith('unit-link:')))
    await exec(['systemctl', 'daemon-reload']).catch((err: unknown) => errors.push((err as Error).message));
  return errors;
}

/** Read the manifest of a previous install (null when there is none). */
export function readInstallManifest(path: string): InstallManifest | null {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as InstallManifest;
    return m.generator === 'stackgen' && Array.isArray(m.steps) ? m : null;
  } catch {
    return null;
  }
}

/** Merge this run's performed steps into the manifest (by id; first install order kept). */
export function mergeManifest(
  previous: InstallManifest | null,
  name: string,
  source: string,
  performed: InstallStep[],
): InstallManifest {
  const steps = [...(previous?.steps ?? [])];
  for (const s of performed) {
    if (s.undo.length === 0 && !s.id.startsWith('files:')) continue;
    const entry = { id: s.id, title: s.title, undo: s.undo, ...(s.shared ? { shared: true } : {}) };
    const at = steps.findIndex((x) => x.id === s.id);
    if (at >= 0) steps[at] = entry;
    else steps.push(entry);
  }
  return { generator: 'stackgen', name, source, steps };
}

/**
 * Undo every recorded step in reverse (uninstall); errors are collected, not fatal. A shared
 * step another installed stack still claims is kept (claims: from facts.ts sharedClaims).
 */
export async function undoManifest(
  m: InstallManifest,
  o: ExecuteOptions,
  claims: HostFacts['claims'] = {},
): Promise<string[]> {
  const errors: string[] = [];
  let frontsReloaded = false;
  for (const entry of [...m.steps].reverse()) {
    const others = entry.shared ? claims[entry.id]?.stacks : undefined;
    if (others?.length) {
      o.out(`  · kept: ${entry.title} (${others.join(', ')} still needs it)`);
      continue;
    }
    // Before the app's account goes: a distribution front whose site is gone by now is
    // reloaded, so no process it ran as that account (mod_wsgi's daemons) is left for
    // userdel to refuse ("user … is currently used by process …").
    if (entry.id.startsWith('user:') && !frontsReloaded) {
      frontsReloaded = true;
      for (const proxy of touchedDistroProxies(m.steps.map((s) => s.id))) {
        const { service, pidFile } = proxy.distro!;
        if (!existsSync(pidFile)) continue;
        await reloadAndWait(service, pidFile).catch((err: unknown) =>
          errors.push(`systemctl reload ${service}: ${(err as Error).message}`),
        );
      }
    }
    try {
      for (const c of entry.undo) await runCommand(c, o);
      o.out(`  ✓ undo: ${entry.title}`);
    } catch (err) {
      const output = err instanceof CommandFailed && err.output ? `\n${err.output}` : '';
      errors.push(`${entry.title}: ${(err as Error).message}${output}`);
      o.out(`  ✗ undo: ${entry.title}`);
    }
  }
  return errors;
}
