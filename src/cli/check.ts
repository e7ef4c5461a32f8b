// `stackgen check [stack.yaml] [--cores N] [--json] [--junit FILE]`: render the stack into a
// sandbox and let the real tools judge the files (nginx -t, systemd-analyze, gunicorn
// --check-config, uWSGI strict mode, supervisord's option parser, py_compile, the gateway's loader).

import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { checkStack } from '../check/stack.js';
import { EXIT_CODES } from '../errors.js';
import { formatCheckResult, formatCheckSummary } from '../report/human.js';
import { CHECK_FORMATTERS } from '../report/registry.js';
import { loadAndResolve } from './shared.js';

/** `stackgen check`'s options, as commander parses them. */
export interface CheckCliOptions {
  cores?: string;
  /** Print one JSON document on stdout instead of the PASS/FAIL lines. */
  json?: true;
  /** Also write the report as JUnit XML to this file. */
  junit?: string;
}

export async function run(file: string, opts: CheckCliOptions): Promise<number> {
  const json = opts.json === true;
  const l = loadAndResolve(file, { cores: opts.cores, quiet: json });
  const report = await checkStack(l, {
    // Each tool is a short process; two per core keeps a 2-core machine busy, not swamped.
    concurrency: Math.min(4, availableParallelism() * 2),
    // The human text as CHECK_FORMATTERS.human prints it, a line as each check finishes.
    ...(json ? {} : { onResult: (r) => process.stdout.write(formatCheckResult(r)) }),
  });
  process.stdout.write(json ? CHECK_FORMATTERS.json(report) : formatCheckSummary(report));
  if (opts.junit !== undefined) writeFileSync(opts.junit, CHECK_FORMATTERS.junit(report));
  return report.ok ? EXIT_CODES.ok : EXIT_CODES.checksFailed;
}
