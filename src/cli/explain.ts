// `stackgen explain [stack.yaml] [--format text|mermaid]`: the request path, hop by hop.

import { explainMermaid, explainText } from '../render/explain.js';
import { EXPLAIN_FORMATS, oneOf } from './options.js';
import { loadAndResolve, productionPlan } from './shared.js';

/** `stackgen explain`'s options, as commander parses them. */
export interface ExplainCliOptions {
  /** Defaults to text. */
  format: string;
  cores?: string;
}

export async function run(file: string, opts: ExplainCliOptions): Promise<number> {
  const format = oneOf('--format', EXPLAIN_FORMATS, opts.format);
  const plan = productionPlan(loadAndResolve(file, { cores: opts.cores }));
  process.stdout.write(`${format === 'mermaid' ? explainMermaid(plan) : explainText(plan)}\n`);
  return 0;
}
