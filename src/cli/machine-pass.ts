// `stackgen machine-pass` (internal): the half of `verify --target machine` that runs
// inside the throwaway machine. Reads an InstalledJob as JSON on stdin, writes one JSON
// object per line on stdout — {"event": …} while it runs, {"outcome": …} at the end — for
// the host side (src/runtime/machine-target.ts) to report. SIGTERM aborts the probes.

import { text } from 'node:stream/consumers';
import { type InstalledJob, runInstalledPhase } from '../runtime/installed.js';

export async function run(): Promise<number> {
  const job = JSON.parse(await text(process.stdin)) as InstalledJob;
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  const outcome = await runInstalledPhase(job, (event) => line({ event }), controller.signal);
  line({ outcome });
  return 0;
}
