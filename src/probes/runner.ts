// Run probes over the request paths of a running stack, phase by phase: the gate (reach),
// then the probes that can share the stack (concurrently), then those that read the
// request counter (one at a time), then timing probes (alone), then destructive ones. A
// probe whose prerequisite did not pass is skipped — a broken hop fails once, not ten times.

import type { Verdict } from '../report/verdict.js';
import type { RequestPath } from '../topology/types.js';
import type { AnyProbe, ProbeContext, ProbePhase, ProbeResult } from './types.js';

const PHASES: ProbePhase[] = ['gate', 'parallel', 'serial', 'exclusive', 'destructive'];

interface Job {
  path: RequestPath;
  def: AnyProbe;
  order: number;
}

export interface RunProbesOptions {
  paths: RequestPath[];
  probes: ReadonlyArray<AnyProbe>;
  /** The context without the path (each job gets its own). */
  context: Omit<ProbeContext, 'path'>;
  onResult?: ((r: ProbeResult) => void) | undefined;
  onStart?: ((key: string) => void) | undefined;
  /** Prove only this path (by name). */
  only?: string | undefined;
}

/**
 * Probes that apply to the stack, as (path, probe) jobs in report order. With `only`, the
 * other paths keep just their gate probes (the prerequisites of the chosen path).
 */
export function planJobs(
  paths: RequestPath[],
  probes: ReadonlyArray<AnyProbe>,
  probeApp: boolean,
  only?: string,
): Job[] {
  const jobs: Job[] = [];
  for (const path of paths) {
    for (const def of probes) {
      if (!def.kinds.includes(path.kind)) continue;
      if (def.needsProbeApp && !probeApp) continue;
      if (only !== undefined && path.name !== only && def.phase !== 'gate') continue;
      jobs.push({ path, def, order: jobs.length });
    }
  }
  return jobs;
}

async function runJob(job: Job, ctx: ProbeContext, results: Map<string, ProbeResult>): Promise<ProbeResult> {
  const { def, path } = job;
  const key = `${path.name}/${def.id}`;
  const base = { key, path: path.name, probe: def.id, title: def.title };
  const t0 = performance.now();
  const blocked = def.after.find((k) => results.get(k)?.status !== 'pass');
  let verdict: Verdict;
  let expected = '';
  try {
    expected = def.expect(ctx);
    // The catalog's word that a probe asks what this server's interface cannot show.
    const notApplicable = ctx.behaviour.notApplicable[def.id];
    const skipReason = notApplicable
      ? notApplicable
      : blocked
        ? `skipped: ${blocked} ${results.get(blocked)?.status === 'skip' ? 'was skipped' : 'failed'}`
        : (def.skip?.(ctx) ?? null);
    if (skipReason !== null) verdict = { status: 'skip', actual: skipReason };
    else if (ctx.signal.aborted) verdict = { status: 'skip', actual: 'interrupted' };
    else verdict = def.judge(await def.observe(ctx), ctx);
  } catch (err) {
    verdict = {
      status: ctx.signal.aborted ? 'skip' : 'fail',
      actual: ctx.signal.aborted ? 'interrupted' : (err as Error).message,
    };
  }
  return {
    ...base,
    status: verdict.status,
    expected: verdict.expected ?? expected,
    actual: verdict.actual,
    durationMs: Math.round(performance.now() - t0),
  };
}

/** Run every applicable probe; results come back in report order. */
export async function runProbes(options: RunProbesOptions): Promise<ProbeResult[]> {
  const jobs = planJobs(options.paths, options.probes, options.context.probe !== null, options.only);
  const results = new Map<string, ProbeResult>();
  const finished = (job: Job, r: ProbeResult) => {
    results.set(r.key, r);
    options.onResult?.(r);
    return [job, r] as const;
  };
  for (const phase of PHASES) {
    const batch = jobs.filter((j) => j.def.phase === phase);
    const run = (job: Job) => {
      options.onStart?.(`${job.path.name}/${job.def.id}`);
      return runJob(job, { ...options.context, path: job.path }, results).then((r) => finished(job, r));
    };
    if (phase === 'parallel') await Promise.all(batch.map(run));
    else for (const job of batch) await run(job);
  }
  return jobs.map((j) => results.get(`${j.path.name}/${j.def.id}`)!).filter(Boolean);
}
