// A ProbeContext holding only the production plan of an example: enough for a probe's judge.

import { join } from 'node:path';
import type { ProbeContext } from '../../src/probes/types.js';
import { buildPlan } from '../../src/render/plan.js';
import { readStackSpec } from '../../src/stack/parse.js';
import { resolveTopology } from '../../src/topology/resolve.js';
import { productionSite } from '../../src/topology/site.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');

/** The example's production plan (base dir /srv/x, 2 cores) as a probe context. */
export function planContext(example: string): ProbeContext {
  const loaded = readStackSpec(join(EXAMPLES, example));
  const plan = buildPlan(
    resolveTopology(loaded.spec, { cores: 2 }),
    productionSite(loaded.spec, { baseDir: '/srv/x' }),
    example,
  );
  return { plan } as ProbeContext;
}
