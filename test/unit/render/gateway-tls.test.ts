// The gateway.yaml `tls:` block: stack.yaml proxy.tls (files form) maps straight onto the
// gateway config, every option's why is in the file, and the gateway's own parser reads the
// rendered file back into the TLS settings asked for (the "real tool" for this file).

import { describe, expect, it } from 'vitest';
import { parseGatewayConfigText } from '../../../src/gateway/config.js';
import { renderArtifacts } from '../../../src/render/artifacts.js';
import { gatewayTlsView } from '../../../src/render/gateway-tls.js';
import { buildPlan } from '../../../src/render/plan.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';

/** The rendered gateway.yaml (production site) of a gateway stack with this proxy.tls (YAML flow text). */
function gatewayYaml(tls: string | undefined, manager: 'systemd' | 'none' = 'none'): string {
  const text = [
    'name: gw',
    'app: {framework: flask, root: .}',
    'serve: {server: gunicorn}',
    `proxy: {kind: gateway, server_name: shop.example${tls === undefined ? '' : `, tls: ${tls}`}}`,
    `processes: {manager: ${manager}}`,
    '',
  ].join('\n');
  const { spec, errors } = parseStackSpec(text);
  if (!spec) throw new Error(JSON.stringify(errors));
  const plan = buildPlan(
    resolveTopology(spec, { cores: 2 }),
    productionSite(spec, { baseDir: '/srv/x' }),
    'stack.yaml',
  );
  const file = renderArtifacts(plan).find((a) => a.path.endsWith('.yaml') && a.path.includes('gateway'));
  if (!file) throw new Error('no gateway.yaml');
  return file.content;
}

describe('gateway.yaml tls block', () => {
  it('absent without proxy.tls and with tls off', () => {
    for (const tls of [undefined, 'off']) expect(gatewayYaml(tls)).not.toMatch(/^tls:/m);
  });

  it('the files form with defaults: parsed back by the gateway as asked', () => {
    const text = gatewayYaml('{cert: /etc/ssl/shop/fullchain.pem, key: /etc/ssl/shop/privkey.pem}');
    expect(text).toMatch(/^tls:\n {2}cert: "\/etc\/ssl\/shop\/fullchain.pem"/m);
    expect(text).toMatch(/# .*\/\.well-known\/acme-challenge\/ stays on http/);
    expect(text).toMatch(/RFC 6797 §7.2 forbids it on plain http/);
    expect(parseGatewayConfigText(text, '/srv/x/deploy/gateway/x.yaml').tls).toEqual({
      certFile: '/etc/ssl/shop/fullchain.pem',
      keyFile: '/etc/ssl/shop/privkey.pem',
      listen: [
        { kind: 'tcp', host: '0.0.0.0', port: 443 },
        { kind: 'tcp', host: '::', port: 443 },
      ],
      redirectHttp: true,
      hsts: { maxAgeSeconds: 63072000, includeSubdomains: false, preload: false },
      http2: true,
    });
  });

  it('every option, hsts off', () => {
    const text = gatewayYaml(
      '{cert: /c.pem, key: /k.pem, listen: ["[::]:8443", "0.0.0.0:8443"], redirect_http: false, hsts: off, http2: false}',
    );
    expect(parseGatewayConfigText(text, '/x.yaml').tls).toEqual({
      certFile: '/c.pem',
      keyFile: '/k.pem',
      listen: [
        { kind: 'tcp', host: '::', port: 8443 },
        { kind: 'tcp', host: '0.0.0.0', port: 8443 },
      ],
      redirectHttp: false,
      hsts: null,
      http2: false,
    });
    const preload = gatewayYaml(
      '{cert: /c, key: /k, hsts: {max_age: 31536000, include_subdomains: true, preload: true}}',
    );
    expect(parseGatewayConfigText(preload, '/x.yaml').tls?.hsts).toEqual({
      maxAgeSeconds: 31536000,
      includeSubdomains: true,
      preload: true,
    });
  });

  it('gatewayTlsView: null with tls off, without certificate files or without TLS addresses', () => {
    const files = { cert: '/c', key: '/k' };
    const at = [{ host: '0.0.0.0', port: 443 }];
    expect(gatewayTlsView('off', files, at, '/w')).toBeNull();
    const { spec } = parseStackSpec(
      'name: gw\napp: {framework: flask}\nproxy: {kind: nginx, tls: {cert: /c, key: /k}}\n',
    );
    const tls = spec!.proxy.tls;
    expect(gatewayTlsView(tls, null, at, '/w')).toBeNull();
    expect(gatewayTlsView(tls, files, [], '/w')).toBeNull();
    expect(gatewayTlsView(tls, files, at, '/w')?.listen).toEqual(['0.0.0.0:443']);
  });
});

describe('gateway stacks with proxy.tls files: the key stays root-only', () => {
  const FILES = '{cert: /etc/ssl/shop/fullchain.pem, key: /etc/ssl/shop/privkey.pem}';

  /** Every artifact of a gateway stack under systemd, by path. */
  function rendered(extra = ''): Map<string, string> {
    const { spec, errors } = parseStackSpec(
      `name: gw\napp: {framework: flask, root: .}\nserve: {server: gunicorn}\nproxy: {kind: gateway, server_name: shop.example, tls: ${FILES}}\n${extra}`,
    );
    if (!spec) throw new Error(JSON.stringify(errors));
    const plan = buildPlan(
      resolveTopology(spec, { cores: 2 }),
      productionSite(spec, { baseDir: '/srv/x' }),
      'stack.yaml',
    );
    return new Map(renderArtifacts(plan).map((a) => [a.path, a.content]));
  }

  it('systemd copies cert and key as root for the gateway user alone, at start and before SIGHUP', () => {
    const files = rendered();
    const config = parseGatewayConfigText(files.get('gateway/gw.yaml')!, '/etc/stackgen/gw/gateway/gw.yaml');
    expect(config.tls?.certFile).toBe('/run/gw-tls/fullchain.pem');
    expect(config.tls?.keyFile).toBe('/run/gw-tls/privkey.pem');
    const unit = files.get('systemd/gw-gateway.service')!;
    expect(unit).toMatch(/^User=www-data$/m);
    expect(unit).toMatch(/^RuntimeDirectory=gw-tls\nRuntimeDirectoryMode=0700$/m);
    const copy = '+/usr/bin/install -m 0400 -o www-data /etc/ssl/shop/privkey.pem /run/gw-tls/privkey.pem';
    expect(unit).toContain(`ExecStartPre=${copy}`);
    // The copies are made again before the signal, in that order.
    const reloads = [...unit.matchAll(/^ExecReload=(.*)$/gm)].map((m) => m[1]);
    expect(reloads.at(-1)).toBe('/bin/kill -HUP $MAINPID');
    expect(reloads).toContain(copy);
    expect(unit).toMatch(/Not LoadCredential=/);
    expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  });

  it('the ACME challenge path is served from the webroot, before the app', () => {
    const config = parseGatewayConfigText(rendered().get('gateway/gw.yaml')!, '/x.yaml');
    expect(config.locations[0]).toMatchObject({
      kind: 'static',
      path: '/.well-known/acme-challenge/',
      root: '/var/lib/stackgen/gw/acme/.well-known/acme-challenge',
    });
  });

  it('refused where the key would not stay private, or no manager can copy it as root', () => {
    const problems = (yaml: string) =>
      (parseStackSpec(yaml).errors ?? []).map((e) => `${e.path.join('.')}: ${e.message}`).join('\n');
    const base = 'name: gw\napp: {framework: flask, root: .}\nserve: {server: gunicorn}\n';
    const gw = `proxy: {kind: gateway, server_name: shop.example, tls: ${FILES}}\n`;
    expect(problems(base + gw)).toBe('');
    expect(problems(`${base + gw}processes: {manager: supervisor}\n`)).toMatch(
      /^processes\.manager: .*supervisor runs nothing as root/m,
    );
    expect(problems(`${base + gw}processes: {user: www-data}\n`)).toMatch(
      /^processes\.user: .*proxy's user/m,
    );
    expect(
      problems(
        `name: gw\napp: {framework: cgi, root: ., entry: hello.cgi}\nserve: {server: cgi}\nproxy: {kind: gateway, protocol: cgi, server_name: shop.example, tls: ${FILES}}\n`,
      ),
    ).toMatch(/running CGI scripts/);
    // proxy.tls.acme: certbot's key is root's too — the same copies, the same refusals.
    const acme = `${base}proxy: {kind: gateway, server_name: shop.example, tls: {acme: {email: a@shop.example}}}\n`;
    expect(problems(acme)).toBe('');
    expect(problems(`${acme}processes: {manager: supervisor}\n`)).toMatch(
      /^processes\.manager: .*supervisor runs nothing as root/m,
    );
    expect(problems(`${acme}processes: {manager: none}\n`)).toMatch(
      /^processes\.manager: proxy\.tls\.acme with the stackgen gateway and processes\.manager none: .*no unit to reload/m,
    );
  });
});
