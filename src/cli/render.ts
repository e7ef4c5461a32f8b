// `stackgen render [stack.yaml] --out DIR [--force]`: write the stack's files for production.

import { join, relative } from 'node:path';
import { renderArtifacts } from '../render/artifacts.js';
import { writeArtifacts } from '../render/write.js';
import { loadAndResolve, productionPlan } from './shared.js';

/** `stackgen render`'s options, as commander parses them. */
export interface RenderCliOptions {
  /** Defaults to deploy/ next to stack.yaml. */
  out?: string;
  force?: true;
  cores?: string;
}

export async function run(file: string, opts: RenderCliOptions): Promise<number> {
  const l = loadAndResolve(file, { cores: opts.cores });
  const plan = productionPlan(l);
  const out = opts.out ?? join(l.loaded.baseDir, 'deploy');
  const artifacts = renderArtifacts(plan);
  const result = writeArtifacts(out, artifacts, { force: opts.force === true, source: plan.source });
  const rel = relative(process.cwd(), out) || '.';
  for (const p of result.written) process.stdout.write(`wrote     ${join(rel, p)}\n`);
  for (const p of result.unchanged) process.stdout.write(`unchanged ${join(rel, p)}\n`);
  for (const p of result.removed) process.stdout.write(`removed   ${join(rel, p)}\n`);
  for (const p of result.kept)
    process.stderr.write(`kept      ${join(rel, p)} (edited by hand; no longer generated)\n`);
  return 0;
}
