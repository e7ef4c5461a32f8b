// `stackgen ci [--provider github|gitlab] [stack.yaml] [--out DIR]`: write a CI workflow
// for the user's repository that installs the stack's system packages (from the catalog
// `doctor` uses), installs stackgen and runs `stackgen verify --junit`.

import { relative, resolve } from 'node:path';
import { StackgenError } from '../errors.js';
import { renderCiWorkflow } from '../render/ci.js';
import { writeArtifacts } from '../render/write.js';
import { loadAndResolve, productionPlan } from './shared.js';

export async function run(args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const provider = opts['provider'] ?? 'github';
  if (provider !== 'github' && provider !== 'gitlab') {
    throw new StackgenError('SG_ERR_USAGE', `--provider must be github or gitlab, not ${String(provider)}`);
  }
  const l = loadAndResolve(args[0], { cores: opts['cores'] });
  const out = typeof opts['out'] === 'string' ? resolve(opts['out']) : process.cwd();
  const specPath = relative(out, resolve(l.loaded.file)) || 'stack.yaml';
  const artifact = renderCiWorkflow(productionPlan(l), provider, specPath);
  const result = writeArtifacts(out, [artifact], { force: opts['force'] === true, source: specPath });
  for (const p of [...result.written, ...result.unchanged]) process.stdout.write(`wrote ${p}\n`);
  return 0;
}
