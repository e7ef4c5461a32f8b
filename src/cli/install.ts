// `stackgen install [stack.yaml] [--dry-run] [--force]`: do on THIS machine what the
// generated deploy README asks a user to type — accounts, /etc/stackgen/<name>, units or
// supervisor programs, the nginx site, `nginx -t`, reloads — idempotently, rolling back
// this run on a failure. Exit codes: 0 installed (or nothing to do), 4 a generated file
// was edited by hand, 5 a program is missing, 6 a step failed (rolled back), 7 not root.

import { installStack } from '../install/install.js';
import { loadAndResolve, productionPlan, selfCommand } from './shared.js';

export interface InstallCliOptions {
  dryRun: boolean;
  force: boolean;
  cores?: unknown;
}

export async function run(args: unknown[], opts: Record<string, unknown>): Promise<number> {
  const options: InstallCliOptions = {
    dryRun: opts['dryRun'] === true,
    force: opts['force'] === true,
    cores: opts['cores'],
  };
  const l = loadAndResolve(args[0], { cores: options.cores });
  await installStack(productionPlan(l), l.loaded.file, {
    dryRun: options.dryRun,
    force: options.force,
    selfCommand: selfCommand(),
    out: (line) => process.stdout.write(`${line}\n`),
  });
  return 0;
}
