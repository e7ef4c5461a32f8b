// `stackgen ci` output: golden files for both providers, and the GitHub workflow checked
// against the shape the workflow schema requires.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseWorkflow } from '../../src/ci/workflow.js';
import { renderCiWorkflow, type StackgenSource } from '../../src/render/ci.js';
import { buildPlan } from '../../src/render/plan.js';
import { readStackSpec } from '../../src/stack/parse.js';
import { resolveTopology } from '../../src/topology/resolve.js';
import { productionSite } from '../../src/topology/site.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'flask-uwsgi-nginx.yaml');

// A fixed tarball hash: the golden must not change with every build of dist/.
const TARBALL: StackgenSource = { kind: 'tarball', path: '.stackgen/stackgen-0.1.0.tgz', sha512: 'ab'.repeat(64) };

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
    const a = renderCiWorkflow(plan(), provider, 'stack.yaml', TARBALL);
    await expect(a.content).toMatchFileSnapshot(join('golden', 'ci', provider, a.path));
  });

  it('GitHub workflow has the shape the workflow schema requires', () => {
    const wf = parse(renderCiWorkflow(plan(), 'github', 'stack.yaml', TARBALL).content) as Record<string, unknown>;
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
    // On the runner itself (systemd, sudo), both verify targets; no permission it does not use.
    const job = Object.values(jobs)[0]!;
    expect(job['container']).toBeUndefined();
    expect(job['runs-on']).toBe('ubuntu-24.04');
    expect(wf['permissions']).toEqual({ contents: 'read' });
    expect(runs.join('\n')).toMatch(/stackgen verify --target machine stack\.yaml/);
    // noble's names: nginx-light is Debian 12's, the server package is nginx on both.
    expect(runs.join('\n')).toMatch(/apt-get install -y --no-install-recommends nginx python3-flask /);
    const uses = (job['steps'] as Array<Record<string, unknown>>).map((st) => st['uses']).filter(Boolean);
    // Every action at a commit (a tag can be moved), setup-node among them.
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u).toMatch(/^actions\/[a-z-]+@[0-9a-f]{40}$/);
    expect(uses.some((u) => String(u).startsWith('actions/setup-node@'))).toBe(true);
    // pipefail for every run step: `verify | tee` fails when verify does.
    expect(job['defaults']).toEqual({ run: { shell: 'bash' } });
  });

  it.each(['github', 'gitlab'] as const)('%s installs stackgen only after its sha512 matches', (provider) => {
    // The commands as --check runs them (src/ci/workflow.ts), one script per step.
    const text = parseWorkflow(provider, renderCiWorkflow(plan(), provider, 'stack.yaml', TARBALL).content)
      .steps.map((st) => (st.kind === 'run' ? st.script : ''))
      .join('\n');
    expect(text).not.toMatch(/npm install --global stackgen\b/);
    const check = text.indexOf(`${'ab'.repeat(64)}  .stackgen/stackgen-0.1.0.tgz" | sha512sum --check --strict -`);
    const install = text.indexOf('npm install --global ./.stackgen/stackgen-0.1.0.tgz');
    expect(check).toBeGreaterThan(0);
    expect(install).toBeGreaterThan(check);
  });

  it('GitLab job publishes a JUnit report', () => {
    const job = (parse(renderCiWorkflow(plan(), 'gitlab', 'stack.yaml', TARBALL).content) as Record<string, Record<string, unknown>>)[
      'stackgen-verify'
    ]!;
    expect((job['artifacts'] as { reports: { junit: string } }).reports.junit).toBe('stackgen-report.xml');
    // Debian 12 with Node 20: Debian's own nodejs (18.20) cannot run stackgen.
    expect(job['image']).toBe('node:20-bookworm');
    expect((job['before_script'] as string[]).join('\n')).toMatch(/apt-get install -y --no-install-recommends nginx-light /);
  });
});
