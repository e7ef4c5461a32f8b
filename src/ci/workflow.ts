// A CI workflow file → the steps one job runs, in order, as `stackgen ci --check` executes
// them. Pure. GitHub: the job's `steps:` (each `run:` a bash script, each `uses:` an action
// to emulate). GitLab: the job's image, then each line of before_script and script (GitLab
// runs them in order and stops at the first that fails), then its artifacts.

import { parse } from 'yaml';
import { StackgenError } from '../errors.js';
import type { CiProvider } from '../render/ci.js';

/** When a step runs: GitHub's `if:` reduced to what the generated files use. */
export type StepCondition = 'success' | 'always';

/**
 * The shell a `run:` step's script runs in, as argv before the script. GitHub: a step with no
 * `shell:` (here or in `defaults.run`) runs `bash -e {0}` — no pipefail, so `verify | tee`
 * would succeed whatever verify exits; `shell: bash` runs `bash --noprofile --norc -eo pipefail
 * {0}`. GitLab's runner puts `set -eo pipefail` at the top of the job's bash script.
 */
export type StepShell = string[];
const PIPEFAIL_BASH: StepShell = ['bash', '--noprofile', '--norc', '-eo', 'pipefail'];
const GITHUB_SHELLS: Record<string, StepShell> = {
  bash: PIPEFAIL_BASH,
  sh: ['sh', '-e'],
};
const GITHUB_DEFAULT_SHELL: StepShell = ['bash', '-e'];

export type WorkflowStep =
  | { kind: 'run'; name: string; script: string; when: StepCondition; shell: StepShell }
  | { kind: 'uses'; name: string; action: string; with: Record<string, string>; when: StepCondition };

export interface WorkflowJob {
  provider: CiProvider;
  /** The job's id (GitHub's jobs.<id>, GitLab's top-level key). */
  id: string;
  /** GitHub's runs-on label, or GitLab's image. */
  runsOn: string;
  steps: WorkflowStep[];
  /** Files the job publishes afterwards (GitLab's artifacts:reports:junit), checked to exist. */
  reports: string[];
}

function fail(message: string): never {
  throw new StackgenError('SG_ERR_CI_STEP_FAILED', `the workflow cannot be run: ${message}`, {
    hint: 'regenerate it with `stackgen ci`, or undo the hand edit',
  });
}

function condition(value: unknown): StepCondition {
  // `if:` may wrap its expression in the expression syntax (two braces after a dollar sign).
  const expr = typeof value === 'string' ? value.replace(/^\$\{\{\s*(.*?)\s*\}\}$/, '$1') : value;
  if (expr === undefined || expr === 'success()') return 'success';
  if (expr === 'always()') return 'always';
  return fail(`if: ${String(value)} is not a condition --check evaluates (success() or always())`);
}

/** The one job of a workflow stackgen ci wrote (or a user kept to that shape). */
export function parseWorkflow(provider: CiProvider, text: string): WorkflowJob {
  const doc = parse(text) as Record<string, unknown> | null;
  if (doc === null || typeof doc !== 'object') return fail('not a YAML mapping');
  return provider === 'github' ? githubJob(doc) : gitlabJob(doc);
}

function githubJob(doc: Record<string, unknown>): WorkflowJob {
  const jobs = Object.entries((doc['jobs'] ?? {}) as Record<string, Record<string, unknown>>);
  if (jobs.length !== 1) return fail(`${jobs.length} jobs under jobs: (--check runs exactly one)`);
  const [id, job] = jobs[0]!;
  if (job['container'] !== undefined)
    return fail(`jobs.${id}.container: --check emulates the runner host only`);
  const steps = (job['steps'] ?? []) as Array<Record<string, unknown>>;
  const defaultShell = (scope: Record<string, unknown>): unknown =>
    (scope['defaults'] as { run?: { shell?: unknown } } | undefined)?.run?.shell;
  const shellOf = (i: number, value: unknown): StepShell => {
    if (value === undefined) return GITHUB_DEFAULT_SHELL;
    const known = typeof value === 'string' ? GITHUB_SHELLS[value] : undefined;
    return (
      known ?? fail(`jobs.${id}.steps[${i}]: shell: ${String(value)} is not one --check runs (bash or sh)`)
    );
  };
  return {
    provider: 'github',
    id,
    runsOn: String(job['runs-on'] ?? ''),
    reports: [],
    steps: steps.map((s, i): WorkflowStep => {
      const when = condition(s['if']);
      if (typeof s['run'] === 'string') {
        const name = typeof s['name'] === 'string' ? s['name'] : s['run'].split('\n')[0]!;
        const shell = shellOf(i, s['shell'] ?? defaultShell(job) ?? defaultShell(doc));
        return { kind: 'run', name, script: s['run'], when, shell };
      }
      if (typeof s['uses'] === 'string') {
        const w = (s['with'] ?? {}) as Record<string, unknown>;
        return {
          kind: 'uses',
          name: typeof s['name'] === 'string' ? s['name'] : s['uses'],
          action: s['uses'],
          with: Object.fromEntries(Object.entries(w).map(([k, v]) => [k, String(v)])),
          when,
        };
      }
      return fail(`jobs.${id}.steps[${i}] has neither run: nor uses:`);
    }),
  };
}

function gitlabJob(doc: Record<string, unknown>): WorkflowJob {
  const jobs = Object.entries(doc).filter(
    ([k, v]) => !k.startsWith('.') && v !== null && typeof v === 'object' && 'script' in v,
  ) as Array<[string, Record<string, unknown>]>;
  if (jobs.length !== 1) return fail(`${jobs.length} jobs with a script: (--check runs exactly one)`);
  const [id, job] = jobs[0]!;
  const lines = (key: string): string[] => {
    const v = job[key];
    if (v === undefined) return [];
    if (typeof v === 'string') return [v];
    if (Array.isArray(v)) return v.map(String);
    return fail(`${id}.${key} is not a list of lines`);
  };
  const artifacts = (job['artifacts'] ?? {}) as { reports?: { junit?: unknown } };
  const junit = artifacts.reports?.junit;
  return {
    provider: 'gitlab',
    id,
    runsOn: String(job['image'] ?? ''),
    steps: [...lines('before_script'), ...lines('script')].map((script) => ({
      kind: 'run',
      name: script,
      script,
      when: 'success',
      shell: PIPEFAIL_BASH,
    })),
    reports: junit === undefined ? [] : Array.isArray(junit) ? junit.map(String) : [String(junit)],
  };
}
