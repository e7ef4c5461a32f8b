// Run `stackgen verify` as a user would (a child process through tsx) and find what a run
// left behind: processes whose command line, working directory or environment names its
// sandbox dir.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VerifyReport } from '../../src/report/types.js';

export const ROOT = join(import.meta.dirname, '..', '..');
/** `--import` value for tsx that works from any working directory (inside a machine: /). */
export const TSX_IMPORT = import.meta.resolve('tsx');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The CLI's pid (the owner of the machines it booted). */
  pid: number;
}

/** Spawn the CLI; `onStderr` sees stderr as it arrives (to send a signal mid-run). */
export function runVerify(
  args: string[],
  options: { onStderr?: (text: string, child: ReturnType<typeof spawn>) => void; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'verify', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // Past the deadline verify gets SIGTERM first: it stops what it started, as a user's ^C
    // makes it (a SIGKILL at once left the run's servers behind); SIGKILL only if it hangs.
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    }, options.timeoutMs ?? 240_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      for (const dir of sandboxDirs(stderr)) announced.add(dir);
      resolve({ code, stdout, stderr, pid: child.pid ?? -1 });
    });
  });
}

/** A `verify --probe-app --json` run over several stacks, its report read back. */
export interface ProbeAppMatrix {
  run: CliRun;
  report: VerifyReport;
  /** The run's report directory (report.json; report.xml with `junit`). */
  dir: string;
  /** Remove the report directory and the sandboxes the run left (call in afterAll). */
  dispose(): void;
}

/** `stackgen verify --probe-app` of these stack files in one run, with a JSON (and JUnit) report. */
export async function verifyProbeApp(
  files: string[],
  options: { junit?: boolean; timeoutMs?: number } = {},
): Promise<ProbeAppMatrix> {
  const dir = mkdtempSync(join(tmpdir(), 'stackgen-verify-report-'));
  const run = await runVerify(
    [
      '--probe-app',
      '--json',
      join(dir, 'report.json'),
      ...(options.junit ? ['--junit', join(dir, 'report.xml')] : []),
      ...files,
    ],
    { timeoutMs: options.timeoutMs },
  );
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as VerifyReport;
  return {
    run,
    report,
    dir,
    dispose: () => {
      removeAnnouncedSandboxes();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every sandbox dir a run announced: verify keeps a failed run's files for inspection. */
const announced = new Set<string>();

/** Remove the sandbox dirs the runs of this test file left for inspection (call in afterAll). */
export function removeAnnouncedSandboxes(): void {
  for (const dir of announced) rmSync(dir, { recursive: true, force: true });
  announced.clear();
}

/** Sandbox dirs a run announced on stderr ("… in /tmp/stackgen-verify-…"). */
export function sandboxDirs(stderr: string): string[] {
  return [...stderr.matchAll(/ in (\/tmp\/stackgen-verify-[\w-]+)/g)].map((m) => m[1]!);
}

/** Live processes that name one of these dirs (zombies are dead and skipped). */
export function processesNaming(dirs: string[]): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    if (Number(pid) === process.pid) continue;
    const read = (f: string) => {
      try {
        return readFileSync(`/proc/${pid}/${f}`, 'utf8');
      } catch {
        return '';
      }
    };
    const stat = read('stat');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // gone
    }
    const cmdline = read('cmdline').replace(/\0/g, ' ');
    const text = `${cmdline}\n${cwd}\n${read('environ')}`;
    if (dirs.some((d) => text.includes(d))) found.push(`${pid} ${cmdline.slice(0, 100)}`);
  }
  return found;
}
