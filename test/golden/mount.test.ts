// The mounted test stacks (test/fixtures/mount/, app.mount /hg) render to their golden files:
// the nginx locations and params, the gateway routes and the app servers' prefix settings a
// reviewer reads in a diff. They are verified for real by test/integration/mount.test.ts.

import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderArtifacts } from '../../src/render/artifacts.js';
import { buildPlan } from '../../src/render/plan.js';
import { readStackSpec } from '../../src/stack/parse.js';
import { resolveTopology } from '../../src/topology/resolve.js';
import { productionSite } from '../../src/topology/site.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'mount');
const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'));

describe('mounted stacks render to their golden files', () => {
  for (const file of files) {
    it(file, async () => {
      const loaded = readStackSpec(join(FIXTURES, file));
      const topology = resolveTopology(loaded.spec, { cores: 2 });
      const site = productionSite(loaded.spec, { baseDir: '/srv/stackgen/mount' });
      for (const a of renderArtifacts(buildPlan(topology, site, file)))
        await expect(a.content).toMatchFileSnapshot(join('golden', 'mount', basename(file, '.yaml'), a.path));
    });
  }
});
