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
function gatewayYaml(tls: string | undefined): string {
  const text = [
    'name: gw',
    'app: {framework: flask, root: .}',
    'serve: {server: gunicorn}',
    `proxy: {kind: nginx, server_name: shop.example${tls === undefined ? '' : `, tls: ${tls}`}}`,
    '',
  ].join('\n');
  const { spec: parsed, errors } = parseStackSpec(text);
  if (!parsed) throw new Error(JSON.stringify(errors));
  // stack.yaml refuses proxy.tls with the gateway for now (catalog tlsRefusal: the key's
  // owner); the block it will render is tested on the nginx stack's spec, with the gateway.
  const spec = { ...parsed, proxy: { ...parsed.proxy, kind: 'gateway' as const } };
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
    expect(gatewayTlsView('off', files, at)).toBeNull();
    const { spec } = parseStackSpec(
      'name: gw\napp: {framework: flask}\nproxy: {kind: nginx, tls: {cert: /c, key: /k}}\n',
    );
    const tls = spec!.proxy.tls;
    expect(gatewayTlsView(tls, null, at)).toBeNull();
    expect(gatewayTlsView(tls, files, [])).toBeNull();
    expect(gatewayTlsView(tls, files, at)?.listen).toEqual(['0.0.0.0:443']);
  });
});
