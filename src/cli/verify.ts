// `stackgen verify [stack.yaml...] [--json FILE] [--junit FILE] [--keep] [--probe-app] [--only PATH]`:
// boot each stack in a sandbox and prove every request path. Exit codes: 0 all passed,
// 1 a probe failed (or interrupted), 3 a component never became ready, 78 invalid spec.

import { writeFileSync } from 'node:fs';
import { EXIT_CODES, ERROR_CATALOGUE, StackgenError } from '../errors.js';
import { machineProblems } from '../runtime/machine.js';
import { formatDiagnostic } from '../stack/diagnostics.js';
import { type LoadedSpec, readStackSpec } from '../stack/parse.js';
import { FORMATTERS } from '../report/registry.js';
import { progressPrinter } from '../report/progress.js';
import type { StackReport, VerifyReport } from '../report/types.js';
import { readAccountBook } from '../runtime/users.js';
import { verifyStack } from '../runtime/verify.js';
import { oneOf, VERIFY_TARGETS } from './options.js';
import { parseCores, selfCommand } from './shared.js';

/** Milliseconds a component may take to become ready (30 s). */
const READY_DEADLINE_MS = 30_000;

/** The exit code of a verify run: not-ready wins over failures. Pure. */
export function exitCodeOf(stacks: StackReport[]): number {
  if (stacks.some((s) => s.outcome === 'interrupted'))
    return EXIT_CODES[ERROR_CATALOGUE.SG_ERR_INTERRUPTED.exit];
  if (stacks.some((s) => s.outcome === 'not-ready')) return EXIT_CODES.notReady;
  if (stacks.some((s) => s.outcome === 'fail')) return EXIT_CODES.checksFailed;
  return EXIT_CODES.ok;
}

/** `stackgen verify`'s options, as commander parses them. */
export interface VerifyCliOptions {
  /** Write the report as JSON to this file. */
  json?: string;
  /** Write the report as JUnit XML to this file. */
  junit?: string;
  keep?: true;
  probeApp?: true;
  only?: string;
  /** Defaults to sandbox. */
  target?: string;
  cores?: string;
}

export async function run(specs: string[], opts: VerifyCliOptions): Promise<number> {
  const target = oneOf('--target', VERIFY_TARGETS, opts.target ?? 'sandbox');
  if (target === 'machine' && opts.keep === true)
    throw new StackgenError(
      'SG_ERR_USAGE',
      '--keep is for --target sandbox: a throwaway machine is thrown away',
    );
  if (target === 'machine') {
    const problems = machineProblems();
    if (problems.length > 0)
      throw new StackgenError(
        'SG_ERR_MACHINE_UNAVAILABLE',
        `--target machine cannot run here: ${problems.join('; ')}`,
        {
          hint: 'run as root on a Debian host with systemd and util-linux installed, or use --target sandbox (the default)',
        },
      );
  }
  const files = specs.length > 0 ? specs : ['stack.yaml'];
  // Every spec is checked before anything starts: an invalid one exits 78 with nothing running.
  const loaded: LoadedSpec[] = files.map((f) => readStackSpec(f));
  for (const l of loaded)
    for (const w of l.warnings) process.stderr.write(`${formatDiagnostic(l.file, w)}\n`);

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\nstackgen verify: ${signal}: stopping everything…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const t0 = performance.now();
  const stacks: StackReport[] = [];
  try {
    const book = readAccountBook();
    const onProgress = progressPrinter(process.stderr);
    for (const l of loaded) {
      if (controller.signal.aborted) break;
      stacks.push(
        await verifyStack(l, {
          target,
          probeApp: opts.probeApp === true,
          keep: opts.keep === true,
          only: opts.only,
          cores: parseCores(opts.cores),
          coresPinned: opts.cores !== undefined,
          stackgenCommand: selfCommand(),
          book,
          signal: controller.signal,
          readyDeadlineMs: READY_DEADLINE_MS,
          onProgress,
        }),
      );
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const report: VerifyReport = { stacks, wallMs: Math.round(performance.now() - t0) };
  process.stdout.write(FORMATTERS.human(report));
  if (opts.json !== undefined) writeFileSync(opts.json, FORMATTERS.json(report));
  if (opts.junit !== undefined) writeFileSync(opts.junit, FORMATTERS.junit(report));
  return exitCodeOf(stacks);
}
