// `stackgen ci [--provider github|gitlab] [stack.yaml] [--out DIR]`: write a CI workflow
// for the user's repository that installs the stack's system packages (from the catalog
// `doctor` uses), installs stackgen and runs `stackgen verify --junit`.

import { relative, resolve } from 'node:path';
import { renderCiWorkflow } from '../render/ci.js';
import { writeArtifacts } from '../render/write.js';
import { CI_PROVIDERS, oneOf } from './options.js';
import { loadAndResolve, productionPlan } from './shared.js';

/** `stackgen ci`'s options, as commander parses them. */
export interface CiCliOptions {
  /** Defaults to github. */
  provider: string;
  out?: string;
  force?: true;
}

export async function run(file: string, opts: CiCliOptions): Promise<number> {
  const provider = oneOf('--provider', CI_PROVIDERS, opts.provider);
  const l = loadAndResolve(file);
  const out = opts.out !== undefined ? resolve(opts.out) : process.cwd();
  const specPath = relative(out, resolve(l.loaded.file)) || 'stack.yaml';
  const artifact = renderCiWorkflow(productionPlan(l), provider, specPath);
  const result = writeArtifacts(out, [artifact], { force: opts.force === true, source: specPath });
  for (const p of [...result.written, ...result.unchanged]) process.stdout.write(`wrote ${p}\n`);
  return 0;
}
