// The one place `check` runs anything: each step's tool is looked up (a missing one is a
// failed check carrying its install hint, never a crash), its directories prepared, the
// tool run with a deadline, and its output handed to the step's judge.

import { mkdirSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { findProgram } from '../doctor/probe.js';
import { writeAtomic } from '../render/write.js';
import type { CheckResult } from '../report/types.js';
import type { Verdict } from '../report/verdict.js';
import type { CheckStep } from './definitions.js';

/** Run one step; every outcome (missing tool, crash, timeout) becomes a result. */
export async function runCheckStep(step: CheckStep): Promise<CheckResult> {
  const started = performance.now();
  const action = step.action;
  const command = action.kind === 'exec' ? action.argv : [step.title];
  const done = (v: Verdict): CheckResult => ({
    ...v,
    detail: v.detail ?? '',
    warnings: v.warnings ?? [],
    step,
    command,
    durationMs: Math.round(performance.now() - started),
  });

  if (step.need && findProgram(step.need.program) === null) {
    return done({
      status: 'fail',
      actual: `${step.need.program} is not installed`,
      detail: `${step.need.program}: not found on PATH\ninstall it: apt-get install -y ${step.need.package} (or run \`stackgen doctor --install\`)`,
    });
  }

  try {
    for (const dir of step.prepare.mkdir) mkdirSync(dir, { recursive: true });
    // Atomic (temp + rename): steps run concurrently and several copy the same unit file;
    // a plain copy truncates it under a running systemd-analyze, which then reads an empty
    // file and calls the unit "masked".
    for (const c of step.prepare.copy) writeAtomic(c.to, readFileSync(c.from, 'utf8'), 0o644);
    if (action.kind === 'call') {
      const message = await action.run();
      return done({ status: 'pass', actual: '', detail: message ?? '' });
    }
    const [cmd, ...args] = action.argv;
    // Look the command up like the tool check did (nginx lives in /usr/sbin, often off PATH).
    const r = await execa(findProgram(cmd!) ?? cmd!, args, {
      reject: false,
      all: true,
      stdin: 'ignore',
      cwd: action.cwd,
      env: action.env,
      timeout: action.timeoutMs,
    });
    return done(action.judge({ exitCode: r.exitCode ?? null, output: r.all ?? '', timedOut: r.timedOut }));
  } catch (err) {
    const e = err as Error & { hint?: string };
    return done({
      status: 'fail',
      actual: '',
      detail: [e.message, e.hint ? `hint: ${e.hint}` : ''].filter(Boolean).join('\n'),
    });
  }
}

/**
 * Run steps with at most `concurrency` at once; results come back in step order, and
 * `onResult` sees each one as soon as every step before it has finished (ordered progress).
 */
export async function runCheckSteps(
  steps: readonly CheckStep[],
  options: { concurrency: number; onResult?: (r: CheckResult) => void },
): Promise<CheckResult[]> {
  const results: Array<Promise<CheckResult>> = [];
  let next = 0;
  const slots: Array<Promise<void>> = [];
  const settled: Array<(r: CheckResult) => void> = [];
  for (let i = 0; i < steps.length; i++) results.push(new Promise((resolve) => settled.push(resolve)));
  const worker = async () => {
    while (next < steps.length) {
      const i = next++;
      settled[i]!(await runCheckStep(steps[i]!));
    }
  };
  for (let i = 0; i < Math.max(1, options.concurrency); i++) slots.push(worker());
  const out: CheckResult[] = [];
  for (const p of results) {
    const r = await p;
    options.onResult?.(r);
    out.push(r);
  }
  await Promise.all(slots);
  return out;
}
