// Verify wall time: each example with --probe-app, and the whole examples matrix, median of
// a few runs. Goal on the 2-core dev box: ≤ 3 s median per example, ≤ 90 s for the matrix.
// Run: node --import tsx bench/verify.ts [runs]   (STACKGEN_BENCH_RUNS also sets runs)

import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAccountBook } from '../src/runtime/users.js';
import { verifyStack } from '../src/runtime/verify.js';
import { readStackSpec } from '../src/stack/parse.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export async function benchVerify(
  runs: number,
): Promise<{ perExample: Record<string, number>; matrix: number }> {
  const files = readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const book = readAccountBook();
  const times: Record<string, number[]> = {};
  const matrix: number[] = [];
  // The gateway as users run it: the built CLI (npm ci builds dist/).
  const stackgenCommand = [process.execPath, join(ROOT, 'bin', 'stackgen.js')];
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now();
    for (const file of files) {
      const report = await verifyStack(readStackSpec(join(EXAMPLES, file)), {
        probeApp: true,
        keep: false,
        cores: availableParallelism(),
        stackgenCommand,
        book,
        signal: new AbortController().signal,
        readyDeadlineMs: 30_000,
      });
      times[file] = [...(times[file] ?? []), report.wallMs];
      if (report.outcome !== 'pass') process.stderr.write(`  (${file}: ${report.outcome})\n`);
    }
    matrix.push(performance.now() - t0);
  }
  return {
    perExample: Object.fromEntries(Object.entries(times).map(([f, xs]) => [f, median(xs)])),
    matrix: median(matrix),
  };
}

/** Print the per-example and matrix wall times (median of STACKGEN_BENCH_RUNS runs, default 3). */
export async function runVerifyBench(runs = Number(process.env['STACKGEN_BENCH_RUNS'] ?? 3)): Promise<void> {
  const { perExample, matrix } = await benchVerify(runs);
  const width = Math.max(...Object.keys(perExample).map((f) => f.length));
  process.stdout.write(
    `verify --probe-app, median of ${runs} run(s) (goal ≤ 3.0 s per example, ≤ 90 s matrix)\n`,
  );
  for (const [file, ms] of Object.entries(perExample))
    process.stdout.write(
      `  ${file.padEnd(width)}  ${(ms / 1000).toFixed(2)} s${ms > 3000 ? '  over goal' : ''}\n`,
    );
  const perExampleMedian = median(Object.values(perExample));
  process.stdout.write(
    `  median per example: ${(perExampleMedian / 1000).toFixed(2)} s (ratio to goal ${(perExampleMedian / 3000).toFixed(2)})\n`,
  );
  process.stdout.write(
    `  whole matrix: ${(matrix / 1000).toFixed(1)} s (ratio to goal ${(matrix / 90_000).toFixed(2)})\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runVerifyBench(Number(process.argv[2] ?? process.env['STACKGEN_BENCH_RUNS'] ?? 3));
}
