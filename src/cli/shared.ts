// Pieces every spec-reading command shares: find stack.yaml, parse it, resolve, plan.

import { certificateChain } from '../tls/files.js';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StackgenError } from '../errors.js';
import { formatDiagnostic } from '../stack/diagnostics.js';
import { type LoadedSpec, readStackSpec } from '../stack/parse.js';
import { resolveTopology } from '../topology/resolve.js';
import { productionSite, type Site } from '../topology/site.js';
import type { Topology } from '../topology/types.js';
import { buildPlan, type Plan } from '../render/plan.js';

export interface Loaded {
  loaded: LoadedSpec;
  topology: Topology;
}

/** Parse the spec (default ./stack.yaml), print warnings to stderr, and resolve it. */
export function loadAndResolve(
  file: string | undefined,
  opts: { cores?: string | number | undefined; quiet?: boolean } = {},
): Loaded {
  const path = file !== undefined && file.length > 0 ? file : 'stack.yaml';
  const loaded = readStackSpec(path);
  if (!opts.quiet) for (const w of loaded.warnings) process.stderr.write(`${formatDiagnostic(path, w)}\n`);
  const cores = parseCores(opts.cores);
  // --cores pins `auto` to numbers; without it, servers that count their cores do so on the host.
  return { loaded, topology: resolveTopology(loaded.spec, { cores, coresPinned: opts.cores !== undefined }) };
}

/** `--cores`: a whole number of cores to size `auto` workers for (default: this machine's). */
export function parseCores(value: string | number | undefined): number {
  if (value === undefined) return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new StackgenError(
      'SG_ERR_USAGE',
      `--cores must be a whole number from 1 to 1024, not ${String(value)}`,
    );
  }
  return n;
}

/** Plan against the production site. */
export function productionPlan(l: Loaded, baseDir?: string): Plan {
  const base = baseDir ?? l.loaded.baseDir;
  const tls = l.loaded.spec.proxy.tls;
  // Whether the certificate file carries its chain decides OCSP stapling (read here, at the edge).
  const certChain = tls !== 'off' && 'cert' in tls ? certificateChain(resolve(base, tls.cert)) : false;
  const site: Site = productionSite(l.loaded.spec, { baseDir: base, certChain });
  return buildPlan(l.topology, site, basename(resolve(l.loaded.file)));
}

/**
 * How this very stackgen is started again (the gateway's launch runs `<this> gateway`).
 * Node resolves a bare `--import tsx` from the working directory, and the gateway runs in
 * the sandbox: preload specifiers are made absolute here.
 */
export function selfCommand(): string[] {
  const require = createRequire(`${process.cwd()}/`);
  const argv = [...process.execArgv];
  argv.forEach((arg, i) => {
    const value = argv[i + 1];
    if (value === undefined || /^(\.|\/|file:|data:)/.test(value)) return;
    if (arg === '--import' || arg === '--loader' || arg === '--experimental-loader')
      argv[i + 1] = import.meta.resolve(value, pathToFileURL(`${process.cwd()}/`).href);
    if (arg === '--require' || arg === '-r') argv[i + 1] = require.resolve(value);
  });
  // npx runs us through a symlink in a throw-away cache dir: start the gateway from the real file.
  const entry = process.argv[1];
  return [process.execPath, ...argv, entry ? realpathSync(entry) : 'stackgen'];
}
