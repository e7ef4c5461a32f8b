// Pieces every spec-reading command shares: find stack.yaml, parse it, resolve, plan.

import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
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
export function loadAndResolve(file: unknown, opts: { cores?: unknown; quiet?: boolean } = {}): Loaded {
  const path = typeof file === 'string' && file.length > 0 ? file : 'stack.yaml';
  const loaded = readStackSpec(path);
  if (!opts.quiet) for (const w of loaded.warnings) process.stderr.write(`${formatDiagnostic(path, w)}\n`);
  const cores = parseCores(opts.cores);
  return { loaded, topology: resolveTopology(loaded.spec, { cores }) };
}

export function parseCores(value: unknown): number {
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
  const site: Site = productionSite(l.loaded.spec, { baseDir: baseDir ?? l.loaded.baseDir });
  return buildPlan(l.topology, site, basename(resolve(l.loaded.file)));
}
