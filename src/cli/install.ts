// `stackgen install [stack.yaml] [--dry-run] [--force]`: do on THIS machine what the
// generated deploy README asks a user to type — accounts, /etc/stackgen/<name>, units or
// supervisor programs, the nginx site, `nginx -t`, reloads — idempotently, rolling back
// this run on a failure. Exit codes: 0 installed (or nothing to do), 4 a generated file
// was edited by hand, 5 a program is missing, 6 a step failed (rolled back), 7 not root.

import { installStack } from '../install/install.js';
import { loadAndResolve, productionPlan, selfCommand } from './shared.js';

/** `stackgen install`'s options, as commander parses them. */
export interface InstallCliOptions {
  dryRun?: true;
  force?: true;
  cores?: string;
}

export async function run(file: string, opts: InstallCliOptions): Promise<number> {
  const l = loadAndResolve(file, { cores: opts.cores });
  await installStack(productionPlan(l), l.loaded.file, {
    dryRun: opts.dryRun === true,
    force: opts.force === true,
    selfCommand: selfCommand(),
    out: (line) => process.stdout.write(`${line}\n`),
  });
  return 0;
}
