// `stackgen check [stack.yaml] [--cores N] [--json]`: render the stack into a sandbox and
// let the real tools judge the files (nginx -t, systemd-analyze, gunicorn --check-config,
// uWSGI strict mode, supervisord's option parser, py_compile, the gateway's loader).

import { availableParallelism } from 'node:os';
import { formatResult, formatSummary, reportJson } from '../check/format.js';
import { checkStack } from '../check/stack.js';
import { EXIT_CODES } from '../errors.js';
import { loadAndResolve } from './shared.js';

export async function run(args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const json = opts['json'] === true;
  const l = loadAndResolve(args[0], { cores: opts['cores'], quiet: json });
  const report = await checkStack(l, {
    // Each tool is a short process; two per core keeps a 2-core machine busy, not swamped.
    concurrency: Math.min(4, availableParallelism() * 2),
    ...(json ? {} : { onResult: (r) => process.stdout.write(formatResult(r)) }),
  });
  process.stdout.write(json ? reportJson(report) : formatSummary(report));
  return report.ok ? EXIT_CODES.ok : EXIT_CODES.checksFailed;
}
