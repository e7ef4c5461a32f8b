// The production site's paths: what stack.yaml gives relative is resolved against its
// directory, as systemd needs (it refuses a relative ExecStart).

import { describe, expect, it } from 'vitest';
import { renderArtifacts } from '../../../src/render/artifacts.js';
import { buildPlan } from '../../../src/render/plan.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';

function rendered(text: string) {
  const { spec, errors } = parseStackSpec(text);
  if (!spec) throw new Error(JSON.stringify(errors));
  const site = productionSite(spec, { baseDir: '/srv/shop' });
  return { site, files: renderArtifacts(buildPlan(resolveTopology(spec, { cores: 2 }), site, 'stack.yaml')) };
}

describe('productionSite', () => {
  it('a relative app.venv is stack.yaml’s neighbour: its python in ExecStart, uWSGI’s virtualenv', () => {
    const g = rendered(
      'name: s\napp: {framework: flask, root: app, venv: .venv}\nserve: {server: gunicorn}\n',
    );
    expect(g.site.venv).toBe('/srv/shop/.venv');
    expect(g.site.python).toBe('/srv/shop/.venv/bin/python');
    const unit = g.files.find((a) => a.path === 'systemd/s.service')!.content;
    expect(unit).toMatch(/^ExecStart=\/srv\/shop\/\.venv\/bin\/python -m gunicorn /m);
    const u = rendered('name: s\napp: {framework: flask, root: app, venv: .venv}\nserve: {server: uwsgi}\n');
    expect(u.files.find((a) => a.path === 'uwsgi/s.ini')!.content).toMatch(
      /^virtualenv = \/srv\/shop\/\.venv$/m,
    );
  });

  it('an absolute venv stays as it is; without one, app.python', () => {
    expect(rendered('name: s\napp: {framework: flask, venv: /opt/venv}\n').site.python).toBe(
      '/opt/venv/bin/python',
    );
    expect(rendered('name: s\napp: {framework: flask}\n').site).toMatchObject({
      venv: null,
      python: '/usr/bin/python3',
    });
  });
});
