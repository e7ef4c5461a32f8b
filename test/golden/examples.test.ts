// Every example renders, and its files match the committed golden copies byte for byte.
// Rendered with a fixed base directory and 2 cores so the goldens do not depend on where
// the repository is checked out or on this machine's CPU count.

import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderArtifacts } from '../../src/render/artifacts.js';
import { buildPlan } from '../../src/render/plan.js';
import { readStackSpec } from '../../src/stack/parse.js';
import { resolveTopology } from '../../src/topology/resolve.js';
import { productionSite } from '../../src/topology/site.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));

describe('examples render to their golden files', () => {
  it('has the examples the foundation issue lists', () => {
    expect(files.length).toBeGreaterThanOrEqual(13);
  });

  for (const file of files) {
    it(file, async () => {
      const loaded = readStackSpec(join(EXAMPLES, file));
      const topology = resolveTopology(loaded.spec, { cores: 2 });
      const site = productionSite(loaded.spec, { baseDir: '/srv/stackgen/examples' });
      const artifacts = renderArtifacts(buildPlan(topology, site, file));
      expect(artifacts.length).toBeGreaterThan(1);
      for (const a of artifacts) {
        await expect(a.content).toMatchFileSnapshot(join('golden', basename(file, '.yaml'), a.path));
      }
    });
  }
});
