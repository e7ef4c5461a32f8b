// `stackgen ci` output: golden files for both providers, and the GitHub workflow checked
// against the shape the workflow schema requires.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderCiWorkflow } from '../../src/render/ci.js';
import { buildPlan } from '../../src/render/plan.js';
import { readStackSpec } from '../../src/stack/parse.js';
import { resolveTopology } from '../../src/topology/resolve.js';
import { productionSite } from '../../src/topology/site.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'flask-uwsgi-nginx.yaml');

function plan() {
  const loaded = readStackSpec(EXAMPLE);
  return buildPlan(
    resolveTopology(loaded.spec, { cores: 2 }),
    productionSite(loaded.spec, { baseDir: '/srv/stackgen/examples' }),
    'stack.yaml',
  );
}

describe('stackgen ci', () => {
  it.each(['github', 'gitlab'] as const)('%s workflow matches its golden file', async (provider) => {
    const a = renderCiWorkflow(plan(), provider, 'stack.yaml');
    await expect(a.content).toMatchFileSnapshot(join('golden', 'ci', provider, a.path));
  });

  it('GitHub workflow has the shape the workflow schema requires', () => {
    const wf = parse(renderCiWorkflow(plan(), 'github', 'stack.yaml').content) as Record<string, unknown>;
    expect(typeof wf['name']).toBe('string');
    expect(wf['on']).toBeTruthy();
    const jobs = wf['jobs'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(jobs).length).toBeGreaterThan(0);
    for (const [id, job] of Object.entries(jobs)) {
      expect(id).toMatch(/^[A-Za-z_][A-Za-z0-9_-]*$/);
      expect(typeof job['runs-on']).toBe('string');
      const steps = job['steps'] as Array<Record<string, unknown>>;
      expect(steps.length).toBeGreaterThan(0);
      for (const step of steps) {
        // Each step has exactly one of `uses` or `run`.
        expect(Number('uses' in step) + Number('run' in step)).toBe(1);
      }
    }
    const runs = Object.values(jobs)
      .flatMap((j) => j['steps'] as Array<Record<string, unknown>>)
      .map((s) => String(s['run'] ?? ''));
    expect(runs.join('\n')).toMatch(/apt-get install -y .*uwsgi-plugin-python3/);
    expect(runs.join('\n')).toMatch(/stackgen verify stack\.yaml --junit/);
  });

  it('GitLab job publishes a JUnit report', () => {
    const job = (parse(renderCiWorkflow(plan(), 'gitlab', 'stack.yaml').content) as Record<string, Record<string, unknown>>)[
      'stackgen-verify'
    ]!;
    expect((job['artifacts'] as { reports: { junit: string } }).reports.junit).toBe('stackgen-report.xml');
  });
});
