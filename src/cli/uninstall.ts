// `stackgen uninstall [stack.yaml] [--dry-run]`: take back exactly what `stackgen install`
// did on this machine (from its record), newest first, and leave the host's own services
// working (nginx tested and reloaded). Exit codes: 0 removed, 6 a step failed or nothing
// was installed, 7 not root.

import { uninstallStack } from '../install/install.js';
import { loadAndResolve } from './shared.js';

/** `stackgen uninstall`'s options, as commander parses them. */
export interface UninstallCliOptions {
  dryRun?: true;
}

export async function run(file: string, opts: UninstallCliOptions): Promise<number> {
  const l = loadAndResolve(file, { quiet: true });
  await uninstallStack(l.topology.name, l.loaded.file, {
    dryRun: opts.dryRun === true,
    out: (line) => process.stdout.write(`${line}\n`),
  });
  return 0;
}
