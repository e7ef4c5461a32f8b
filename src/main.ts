// The stackgen entry point: runs the commander program (src/cli/program.ts) and is the
// ONLY place that exits, mapping errors to exit codes.

import { CommanderError } from 'commander';
import { buildProgram } from './cli/program.js';
import { EXIT_CODES, isStackgenError } from './errors.js';

/** Print a user-facing error: code, message, hint, and the cause chain. */
function printError(err: unknown): number {
  if (isStackgenError(err)) {
    process.stderr.write(`stackgen: error ${err.code}: ${err.message}\n`);
    // What a tool printed and the unit's journal: the first things an operator reads.
    for (const key of ['output', 'journal'] as const) {
      const text = err.details?.[key];
      if (typeof text === 'string' && text.trim())
        process.stderr.write(
          `  ${key}:\n${text
            .trim()
            .split('\n')
            .slice(-20)
            .map((l) => `    ${l}`)
            .join('\n')}\n`,
        );
    }
    if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
    if (process.env['STACKGEN_DEBUG'] && err.cause) process.stderr.write(`  cause: ${String(err.cause)}\n`);
    return err.exitCode;
  }
  process.stderr.write(
    `stackgen: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return EXIT_CODES.internal;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram((code) => {
    process.exitCode = code;
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? 0 : EXIT_CODES.usage);
    }
    process.exit(printError(err));
  }
}

await main(process.argv);
