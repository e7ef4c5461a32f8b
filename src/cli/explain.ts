// `stackgen explain [stack.yaml] [--format text|mermaid]`: the request path, hop by hop.

import { StackgenError } from '../errors.js';
import { explainMermaid, explainText } from '../render/explain.js';
import { loadAndResolve, productionPlan } from './shared.js';

export async function run(args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const format = opts['format'] ?? 'text';
  if (format !== 'text' && format !== 'mermaid') {
    throw new StackgenError('SG_ERR_USAGE', `--format must be text or mermaid, not ${String(format)}`);
  }
  const plan = productionPlan(loadAndResolve(args[0], { cores: opts['cores'] }));
  process.stdout.write(`${format === 'mermaid' ? explainMermaid(plan) : explainText(plan)}\n`);
  return 0;
}
