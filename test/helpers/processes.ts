// Start real servers for integration tests in their own process group, keep their output for
// failure messages, and stop them for sure: SIGTERM to the group, SIGKILL after a grace period.

import { type ChildProcess, spawn } from 'node:child_process';

export interface StartedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last 16 KiB of stdout+stderr. */
  output(): string;
  /** Stop the whole process group; resolves once the leader has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function startProcess(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): StartedProcess {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`cannot start ${command}`);
  const pid = child.pid;
  let log = '';
  const keep = (data: Buffer): void => {
    log = (log + data.toString('utf8')).slice(-16 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    pid,
    output: () => log,
    async stop(graceMs = 3000): Promise<void> {
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Workers of a pre-forking server may outlive their master (fcgiwrap's do, holding the
      // listening socket): kill the rest of the group and wait until it is empty.
      signalGroup(pid, 'SIGKILL');
      const deadline = Date.now() + 3000;
      while (groupExists(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
