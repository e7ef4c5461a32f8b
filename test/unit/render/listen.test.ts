// proxy.listen: one address (a string, as before) or a list; the default is IPv4 and IPv6.
// Every address is bound on the site: production keeps them, the sandbox puts IPv4 ones on
// 127.0.0.1 and IPv6 ones on [::1] — or leaves the IPv6 ones out when its loopback has none.

import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../../src/render/plan.js';
import { renderArtifacts } from '../../../src/render/artifacts.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite, sandboxSite } from '../../../src/topology/site.js';

const yaml = (proxy: string) =>
  `name: shop\napp: {framework: flask, root: /srv/shop}\nproxy: {kind: nginx, ${proxy}}\nprocesses: {manager: none}\n`;

function plans(proxy: string, ipv6Loopback: boolean) {
  const parsed = parseStackSpec(yaml(proxy));
  expect(parsed.errors).toEqual([]);
  const spec = parsed.spec!;
  const topology = resolveTopology(spec, { cores: 2 });
  const production = buildPlan(topology, productionSite(spec, { baseDir: '/srv' }), 'stack.yaml');
  const sandbox = buildPlan(
    topology,
    sandboxSite(spec, {
      dir: '/tmp/x',
      baseDir: '/srv',
      ports: { 80: 40080, 8080: 48080 },
      stackgenCommand: ['stackgen'],
      users: null,
      currentUser: { user: 'me', group: 'me' },
      ipv6Loopback,
    }),
    'stack.yaml',
  );
  return { production, sandbox };
}
const addresses = (p: { front: { listens: Array<{ host: string; port: number }> } }) =>
  p.front.listens.map((l) => `${l.host}:${l.port}`);

describe('proxy.listen', () => {
  it('defaults to 80 and [::]:80: two nginx listen lines, both default_server with server_name _', () => {
    const { production, sandbox } = plans('server_name: _', true);
    expect(addresses(production)).toEqual(['0.0.0.0:80', '[::]:80']);
    expect(addresses(sandbox)).toEqual(['127.0.0.1:40080', '[::1]:40080']);
    const site = renderArtifacts(production).find((a) => a.path === 'nginx/shop.conf')!.content;
    expect(site).toMatch(/^ {4}listen 80 default_server;\n {4}listen \[::\]:80 default_server;$/m);
  });

  it('a sandbox whose loopback has no IPv6 keeps only the IPv4 address', () => {
    expect(addresses(plans('server_name: _', false).sandbox)).toEqual(['127.0.0.1:40080']);
  });

  it('a string is one address, as before', () => {
    const { production } = plans('listen: "8080"', true);
    expect(addresses(production)).toEqual(['0.0.0.0:8080']);
  });

  it('a real server_name: a catch-all server per address owns it (444), in a file of its own; the stack is not default', () => {
    const { production } = plans('server_name: shop.example, listen: ["127.0.0.1:8080", "[::1]:8080"]', true);
    const files = renderArtifacts(production);
    const site = files.find((a) => a.path === 'nginx/shop.conf')!.content;
    expect(site).not.toMatch(/default_server;|return 444;/);
    expect(site).toContain(
      '    listen 127.0.0.1:8080;\n    listen [::1]:8080;\n    server_name shop.example;',
    );
    const catchAlls = files.filter((a) => a.path.startsWith('nginx/catch-all/'));
    expect(catchAlls.map((a) => a.path)).toEqual([
      'nginx/catch-all/127.0.0.1-8080.conf',
      'nginx/catch-all/__1-8080.conf',
    ]);
    expect(catchAlls[0]!.content).toMatch(
      /listen 127\.0\.0\.1:8080 default_server;\n {4}server_name _;\n {4}return 444;/,
    );
    expect(catchAlls[1]!.content).toMatch(/listen \[::1\]:8080 default_server;/);
    // Nothing of the stack in it: another stack on the address renders the same bytes.
    expect(catchAlls[0]!.content).not.toMatch(/shop/);
    const nginxConf = files.find((a) => a.path === 'nginx/nginx.conf')!.content;
    expect(nginxConf).toContain(`include ${production.site.configDir}/nginx/catch-all/127.0.0.1-8080.conf;`);
  });
});
