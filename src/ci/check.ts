// `stackgen ci --check`: run a workflow's job on a throwaway machine (src/runtime/machine.ts,
// the machine `verify --target machine` boots) — every `run:` step (GitHub) or script line
// (GitLab) in order, in a copy of the repository, through an egress proxy that reaches only
// the package registries (./egress.ts). What a runner provides before the steps and what a
// `uses:` action does is emulated, each in a named way (RUNNERS, ACTIONS below), and
// reported as such: the result says which step failed, its exit code and its output's tail.

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { StackgenError } from '../errors.js';
import { bootMachine, type Machine } from '../runtime/machine.js';
import { DISTROS, distroFromOsRelease } from '../topology/catalog/distros.js';
import { EGRESS_PORT, EGRESS_RELAY, EGRESS_SOCKET, type Egress, startEgress } from './egress.js';
import type { StepShell, WorkflowJob, WorkflowStep } from './workflow.js';

export interface StepResult {
  name: string;
  /** ok; failed (exit code ≠ 0, or an emulation refused); skipped after an earlier failure. */
  status: 'ok' | 'failed' | 'skipped';
  exitCode: number | null;
  ms: number;
  /** The step's last output lines (stdout and stderr interleaved). */
  tail: string;
  /** For an emulated step: what was done instead of running it. */
  emulated?: string;
}

export interface CiCheckReport {
  job: WorkflowJob;
  steps: StepResult[];
  /** What the machine stands in for, in words (the runner or the image). */
  runner: string;
  bootMs: number;
  ok: boolean;
}

const TAIL_LINES = 30;
const tail = (text: string) => text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');

/** The state steps share: their environment and the directory they run in. */
interface Session {
  machine: Machine;
  workspace: string;
  env: Record<string, string>;
  /** Directories later steps find first on PATH (GitHub's $GITHUB_PATH). */
  path: string[];
  /** The repository's path inside the machine (what checkout copies). */
  repo: string;
}

type Emulation = (s: Session, step: Extract<WorkflowStep, { kind: 'uses' }>) => Promise<StepResult>;

/** Run a shell script inside, in the workspace, with the session's environment. */
async function shell(
  s: Session,
  script: string,
  timeoutMs: number,
  stepShell: StepShell = ['bash', '--noprofile', '--norc', '-eo', 'pipefail'],
): Promise<{ code: number | null; out: string }> {
  const env = { ...s.env, PATH: [...s.path, s.env['PATH']!].join(':') };
  const r = await s.machine.exec(
    [
      'env',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      'bash',
      '--noprofile',
      '--norc',
      '-c',
      // The step's own shell (workflow.ts StepShell), in the workspace, stderr with stdout.
      'exec 2>&1; cd "$0" || exit 1; exec "$@"',
      s.workspace,
      ...stepShell,
      '-c',
      script,
    ],
    { timeoutMs },
  );
  return { code: r.code, out: `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}` };
}

const done = (name: string, t0: number, ok: boolean, text: string, emulated: string): StepResult => ({
  name,
  status: ok ? 'ok' : 'failed',
  exitCode: ok ? 0 : 1,
  ms: Date.now() - t0,
  tail: tail(text),
  emulated,
});

/** The `uses:` actions --check can stand in for, keyed by name without the @version. */
const ACTIONS: Readonly<Record<string, Emulation>> = {
  // Copies the repository (the directory the workflow was written into) into the workspace.
  'actions/checkout': async (s, step) => {
    const t0 = Date.now();
    const r = await s.machine.exec(['cp', '-a', `${s.repo}/.`, s.workspace]);
    return done(step.name, t0, r.code === 0, r.stderr, `copied ${s.repo} into ${s.workspace}`);
  },
  // The machine's own Node (this host's) stands in for the downloaded one when its major is
  // the one asked for; it is linked into a tool-cache directory put first on PATH, and npm's
  // global prefix points there — as setup-node leaves it: `npm install --global` programs
  // land there, off sudo's secure_path.
  'actions/setup-node': async (s, step) => {
    const t0 = Date.now();
    const wanted = step.with['node-version'] ?? '';
    const v = await s.machine.exec(['node', '--version']);
    const have = v.stdout.trim().replace(/^v/, '');
    if (v.code !== 0 || have.split('.')[0] !== wanted.split('.')[0] || !have.startsWith(wanted))
      return done(
        step.name,
        t0,
        false,
        `node-version ${wanted} asked for; this machine's Node is ${have || 'missing'}, and --check does not download another`,
        'none',
      );
    const prefix = `/opt/hostedtoolcache/node/${have}/x64`;
    const r = await s.machine.exec([
      'sh',
      '-c',
      `set -e; mkdir -p ${prefix}/bin ${prefix}/lib; ln -sf /usr/bin/node ${prefix}/bin/node; ln -sf /usr/lib/node_modules/npm/bin/npm-cli.js ${prefix}/bin/npm; ln -sf /usr/lib/node_modules/npm/bin/npx-cli.js ${prefix}/bin/npx`,
    ]);
    s.path.unshift(`${prefix}/bin`);
    s.env['npm_config_prefix'] = prefix;
    return done(step.name, t0, r.code === 0, r.stderr, `Node ${have} of this machine, linked into ${prefix}`);
  },
  // Nothing is uploaded: the files it would upload must exist (its if-no-files-found is "warn").
  'actions/upload-artifact': async (s, step) => {
    const t0 = Date.now();
    const r = await shell(
      s,
      `shopt -s nullglob; files=(${step.with['path'] ?? ''}); ls -l "\${files[@]}" </dev/null`,
      10_000,
    );
    const some = r.out.trim() !== '' && r.code === 0;
    return done(
      step.name,
      t0,
      true,
      some ? r.out : 'warning: no files match',
      `listed ${step.with['path']}, uploaded nothing`,
    );
  },
};

/** A runner's passwordless sudo, as root: options dropped, PATH reset to sudo's secure_path. */
export const SUDO_SHIM = `#!/bin/sh
# stackgen ci --check: GitHub's runner has passwordless sudo; this machine runs steps as root.
# Like sudo's env_reset with Ubuntu's secure_path, the command gets that PATH, not the caller's.
while [ "$#" -gt 0 ]; do case "$1" in -E|-H|-n|-S) shift;; -u) shift 2;; --) shift; break;; -*) shift;; *) break;; esac; done
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin
exec "$@"
`;

interface Runner {
  /** What the machine stands in for, and how, for the report. */
  describe: (job: WorkflowJob, osRelease: string, node: string) => { ok: boolean; text: string };
  workspace: (repo: string) => string;
  env: (workspace: string) => Record<string, string>;
  /** Files the runner has that a Debian host does not (GitHub's sudo). */
  files: Record<string, { content: string; mode: number }>;
  /** Whether the repository is there before the first step (GitLab clones before the job). */
  checkedOut: boolean;
}

const RUNNERS: Readonly<Record<WorkflowJob['provider'], Runner>> = {
  github: {
    describe: (job, osRelease) => {
      const here = distroFromOsRelease(osRelease);
      return {
        ok: /^ubuntu-/.test(job.runsOn),
        text: `runs-on ${job.runsOn} emulated by a throwaway ${here ? DISTROS[here].title : 'unknown'} machine: the steps run as root with a sudo that resets PATH as the runner's does; Ubuntu's archive, its package versions and its cgroup layout are not what ran`,
      };
    },
    workspace: (repo) => `/home/runner/work/${repo}/${repo}`,
    env: (w) => ({
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: w,
      RUNNER_TEMP: '/home/runner/work/_temp',
      GITHUB_STEP_SUMMARY: '/home/runner/work/_temp/step_summary.md',
      HOME: '/root',
    }),
    files: { '/usr/local/bin/sudo': { content: SUDO_SHIM, mode: 0o755 } },
    checkedOut: false,
  },
  gitlab: {
    describe: (job, osRelease, node) => {
      // node:MAJOR-CODENAME: the official Node image on a Debian release.
      const m = /^node:(\d+)-bookworm$/.exec(job.runsOn);
      const here = distroFromOsRelease(osRelease);
      const ok = m !== null && here === 'debian-12' && node.split('.')[0] === m[1];
      return {
        ok,
        text: ok
          ? `image ${job.runsOn} emulated by a throwaway Debian 12 machine with Node ${node} (systemd runs in it, the image has none: the job must not need it)`
          : `image ${job.runsOn}: --check can stand in only for node:<this machine's Node major>-bookworm on a Debian 12 machine (this one: ${here ?? 'unknown'}, Node ${node})`,
      };
    },
    workspace: (repo) => `/builds/${repo}`,
    env: (w) => ({ CI: 'true', GITLAB_CI: 'true', CI_PROJECT_DIR: w, HOME: '/root' }),
    files: {},
    checkedOut: true,
  },
};

export interface CheckOptions {
  job: WorkflowJob;
  /** The repository on the host (the directory the workflow was written into). */
  repoDir: string;
  /** Per-step limit; the generated jobs allow 20 minutes in all. */
  stepTimeoutMs?: number;
  /** One line per step as it finishes. */
  onStep?: (r: StepResult) => void;
  log?: (line: string) => void;
  /**
   * The units masked on the runner's machine (default: the machine target's MASKED_UNITS).
   * `stackgen ci` passes machineMasks of the stack's front: a real runner masks nothing, and a
   * verify --target machine booted inside inherits the runner's masks, so Debian's
   * apache2.service masked here failed an Apache stack's install ("Unit file … is masked").
   */
  masked?: readonly string[];
}

/** Run the job on a fresh throwaway machine and report every step. */
export async function checkWorkflow(options: CheckOptions): Promise<CiCheckReport> {
  const { job } = options;
  const runner = RUNNERS[job.provider];
  const machine = await bootMachine({
    visible: [options.repoDir],
    masked: options.masked,
    log: options.log ?? (() => {}),
  });
  let egress: Egress | null = null;
  try {
    egress = await startEgress(machine.path(EGRESS_SOCKET));
    await startRelay(machine);
    const aptProxy = `// stackgen ci --check: this machine reaches the archive only through its egress proxy\nAcquire::http::Proxy "http://127.0.0.1:${EGRESS_PORT}/";\nAcquire::https::Proxy "http://127.0.0.1:${EGRESS_PORT}/";\n`;
    const files = {
      ...runner.files,
      '/etc/apt/apt.conf.d/00stackgen-ci-check-egress': { content: aptProxy, mode: 0o644 },
    };
    for (const [path, f] of Object.entries(files)) {
      mkdirSync(dirname(machine.path(path)), { recursive: true });
      writeFileSync(machine.path(path), f.content);
      chmodSync(machine.path(path), f.mode);
    }
    const repo = machine.inside(options.repoDir);
    const workspace = runner.workspace(basename(options.repoDir));
    const proxy = `http://127.0.0.1:${EGRESS_PORT}`;
    const s: Session = {
      machine,
      workspace,
      repo,
      path: [],
      env: {
        ...runner.env(workspace),
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        DEBIAN_FRONTEND: 'noninteractive',
        http_proxy: proxy,
        https_proxy: proxy,
        HTTP_PROXY: proxy,
        HTTPS_PROXY: proxy,
        // A host whose network intercepts TLS gives its Node an extra CA file; the steps reach
        // the same network through the egress proxy, so they get the same trust (a runner
        // without such a network needs none).
        ...(process.env['NODE_EXTRA_CA_CERTS']
          ? { NODE_EXTRA_CA_CERTS: process.env['NODE_EXTRA_CA_CERTS'] }
          : {}),
      },
    };
    const prep = await machine.exec([
      'sh',
      '-c',
      `set -e; mkdir -p "$1" /home/runner/work/_temp; touch /home/runner/work/_temp/step_summary.md; ${runner.checkedOut ? 'cp -a "$2/." "$1"' : ':'}`,
      'prep',
      workspace,
      repo,
    ]);
    if (prep.code !== 0)
      throw new StackgenError('SG_ERR_INTERNAL', `could not prepare the workspace: ${prep.stderr}`);
    const osRelease = await machine.exec(['cat', '/etc/os-release']);
    const node = (await machine.exec(['node', '--version'])).stdout.trim().replace(/^v/, '');
    const described = runner.describe(job, osRelease.stdout, node);

    const results: StepResult[] = [];
    const record = (r: StepResult) => {
      results.push(r);
      options.onStep?.(r);
    };
    if (!described.ok)
      record({
        name: `runner: ${job.runsOn}`,
        status: 'failed',
        exitCode: null,
        ms: 0,
        tail: described.text,
      });
    for (const step of job.steps) {
      const failedBefore = results.some((r) => r.status === 'failed');
      if (failedBefore && step.when !== 'always') {
        record({ name: step.name, status: 'skipped', exitCode: null, ms: 0, tail: '' });
        continue;
      }
      const t0 = Date.now();
      if (step.kind === 'uses') {
        const action = ACTIONS[step.action.split('@')[0]!];
        record(
          action
            ? await action(s, step)
            : done(step.name, t0, false, `--check cannot emulate ${step.action}`, 'none'),
        );
        continue;
      }
      const r = await shell(s, step.script, options.stepTimeoutMs ?? 20 * 60_000, step.shell);
      const refused = egress.refused.length > 0 ? `\n(egress refused: ${egress.refused.join(', ')})` : '';
      record({
        name: step.name,
        status: r.code === 0 ? 'ok' : 'failed',
        exitCode: r.code,
        ms: Date.now() - t0,
        tail: tail(`${r.out}${r.code === 0 ? '' : refused}`),
      });
    }
    for (const report of job.reports) {
      const t0 = Date.now();
      const r = await shell(s, `test -s ${JSON.stringify(report)}`, 10_000);
      record(
        done(
          `artifacts: reports: junit ${report}`,
          t0,
          r.code === 0,
          r.code === 0 ? '' : `${report} was not written: the job publishes no test results`,
          'checked that the file exists; uploaded nothing',
        ),
      );
    }
    return {
      job,
      steps: results,
      runner: described.text,
      bootMs: machine.bootMs,
      ok: results.every((r) => r.status === 'ok'),
    };
  } finally {
    await egress?.close();
    await machine.dispose();
  }
}

/** Start the inside half of the egress proxy and wait until it listens. */
async function startRelay(machine: Machine): Promise<void> {
  const child = machine.spawn(['node', '-e', EGRESS_RELAY]);
  child.stdin?.end();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StackgenError('SG_ERR_INTERNAL', 'the egress relay did not start')),
      10_000,
    );
    child.stdout?.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new StackgenError('SG_ERR_INTERNAL', `the egress relay exited (${code})`));
    });
  });
  child.stdout?.resume();
  child.stderr?.resume();
}

/** The human report: one line per step (status, time, name), the failed step's tail below it. */
export function formatCiCheck(report: CiCheckReport, title: string): string {
  const lines = [
    `${title}: ${report.ok ? 'PASS' : 'FAIL'}`,
    `  note: ${report.runner}; booted in ${report.bootMs} ms`,
  ];
  for (const r of report.steps) {
    const secs = `${(r.ms / 1000).toFixed(1)} s`.padStart(7);
    const status = r.status === 'ok' ? 'ok  ' : r.status === 'failed' ? 'FAIL' : 'skip';
    lines.push(
      `  ${status} ${secs}  ${r.name.split('\n')[0]}${r.emulated ? `  (emulated: ${r.emulated})` : ''}`,
    );
    if (r.status === 'failed')
      lines.push(
        `       exit code ${r.exitCode ?? '-'}; output tail:`,
        ...r.tail.split('\n').map((l) => `         ${l}`),
      );
  }
  return `${lines.join('\n')}\n`;
}
