import { describe, expect, it } from 'vitest';
import { renderArtifacts } from '../../../src/render/artifacts.js';
import { buildPlan } from '../../../src/render/plan.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';

function unit(text: string, path: string): string {
  const { spec } = parseStackSpec(text);
  if (!spec) throw new Error('invalid');
  const plan = buildPlan(
    resolveTopology(spec, { cores: 2 }),
    productionSite(spec, { baseDir: '/srv/x' }),
    'stack.yaml',
  );
  const a = renderArtifacts(plan).find((x) => x.path === path);
  if (!a) throw new Error(`no ${path}`);
  return a.content;
}

describe('systemd units', () => {
  it('a gateway on port 80 gets exactly CAP_NET_BIND_SERVICE and no user namespace', () => {
    const u = unit(
      'name: s\napp: {framework: flask}\nproxy: {kind: gateway, listen: "80"}\n',
      'systemd/s-gateway.service',
    );
    expect(u).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    expect(u).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expect(u).not.toMatch(/^PrivateUsers=yes$/m);
  });

  it('app servers get no capabilities and a private user namespace', () => {
    const u = unit(
      'name: s\napp: {framework: flask}\nproxy: {kind: gateway, listen: "80"}\n',
      'systemd/s.service',
    );
    expect(u).toMatch(/^CapabilityBoundingSet=$/m);
    expect(u).toMatch(/^PrivateUsers=yes$/m);
    expect(u).toMatch(/^KillSignal=SIGTERM$/m);
    expect(u).toMatch(/^Type=notify$/m);
  });

  it('uWSGI stops on SIGTERM only because the ini sets die-on-term', () => {
    const text = 'name: s\napp: {framework: flask}\nserve: {server: uwsgi}\n';
    expect(unit(text, 'systemd/s.service')).toMatch(/^KillSignal=SIGTERM$/m);
    expect(unit(text, 'uwsgi/s.ini')).toMatch(/^die-on-term = true$/m);
  });
});
