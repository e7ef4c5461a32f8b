// `stackgen uninstall [stack.yaml] [--dry-run]`: take back exactly what `stackgen install`
// did on this machine (from its record), newest first, and leave the host's own services
// working (nginx tested and reloaded). Exit codes: 0 removed, 6 a step failed or nothing
// was installed, 7 not root.

import { uninstallStack } from '../install/install.js';
import { loadAndResolve } from './shared.js';

export interface UninstallCliOptions {
  dryRun: boolean;
}

export async function run(args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const options: UninstallCliOptions = { dryRun: opts['dryRun'] === true };
  const l = loadAndResolve(args[0], { quiet: true });
  await uninstallStack(l.topology.name, l.loaded.file, {
    dryRun: options.dryRun,
    out: (line) => process.stdout.write(`${line}\n`),
  });
  return 0;
}
