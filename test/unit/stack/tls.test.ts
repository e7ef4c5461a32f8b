// proxy.tls in stack.yaml: its three forms, the defaults of its options, and the rules that
// refuse what cannot work (ACME on a front certbot does not serve, ACME without a real name
// or without port 80, one port for http and https, an HSTS preload the list would refuse, a
// front that does not terminate TLS).

import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../src/stack/diagnostics.js';
import { parseStackSpec } from '../../../src/stack/parse.js';

const APP = 'app: {framework: flask}\n';
const parse = (proxy: string) => parseStackSpec(`${APP}proxy:\n${proxy}`);
const errorsOf = (proxy: string) => parse(proxy).errors.map((d) => formatDiagnostic('stack.yaml', d));

describe('proxy.tls', () => {
  it('is off by default', () => {
    expect(parseStackSpec(APP).spec?.proxy.tls).toBe('off');
  });

  it('certificate files get the safe defaults', () => {
    const tls = parse(
      '  server_name: shop.example\n  tls: {cert: /etc/ssl/certs/a.pem, key: /etc/ssl/private/a.key}\n',
    ).spec?.proxy.tls;
    expect(tls).toEqual({
      cert: '/etc/ssl/certs/a.pem',
      key: '/etc/ssl/private/a.key',
      listen: ['443', '[::]:443'],
      redirect_http: true,
      hsts: { max_age: 63072000, include_subdomains: false, preload: false },
      http2: true,
    });
  });

  it('a single listen address becomes a list; hsts may be off', () => {
    const tls = parse('  tls: {cert: a.pem, key: a.key, listen: "8443", hsts: "off", http2: false}\n').spec
      ?.proxy.tls;
    expect(tls).toMatchObject({ listen: ['8443'], hsts: 'off', http2: false });
  });

  it("acme with nginx is accepted, Let's Encrypt by default", () => {
    const r = parse('  server_name: shop.example\n  tls: {acme: {email: ops@shop.example}}\n');
    expect(r.errors).toEqual([]);
    expect(r.spec?.proxy.tls).toMatchObject({
      acme: { email: 'ops@shop.example', directory: 'https://acme-v02.api.letsencrypt.org/directory' },
    });
  });

  it('acme with the gateway is accepted under systemd, refused with no manager to run and reload it', () => {
    const gw = '  kind: gateway\n  server_name: shop.example\n  tls: {acme: {email: ops@shop.example}}\n';
    expect(errorsOf(gw)).toEqual([]);
    expect(
      parseStackSpec(`${APP}proxy:\n${gw}processes: {manager: none}\n`).errors.map((d) => d.message),
    ).toEqual([expect.stringMatching(/processes\.manager none: nothing stackgen installs runs the gateway/)]);
  });

  it('acme needs port 80, reachable (not loopback only)', () => {
    const on = (listen: string) =>
      errorsOf(
        `  listen: ${listen}\n  server_name: shop.example\n  tls: {acme: {email: ops@shop.example}}\n`,
      );
    expect(on('"8080"')).toEqual([expect.stringMatching(/proxy\.tls\.acme needs port 80 in proxy\.listen/)]);
    expect(on('"127.0.0.1:80"')).toEqual([expect.stringMatching(/binds it on loopback only/)]);
    expect(on('["127.0.0.1:80", "[::]:80"]')).toEqual([]);
  });

  it('acme needs real names, not _ or a wildcard', () => {
    for (const name of ['_', '"*.shop.example"']) {
      const errors = errorsOf(`  server_name: ${name}\n  tls: {acme: {email: ops@shop.example}}\n`);
      expect(
        errors.some((e) => /proxy\.tls\.acme needs real host names/.test(e)),
        name,
      ).toBe(true);
    }
  });

  it('refuses one port for http and https', () => {
    const errors = errorsOf('  listen: "8080"\n  tls: {cert: a.pem, key: a.key, listen: "127.0.0.1:8080"}\n');
    expect(errors).toEqual([expect.stringMatching(/uses a port of proxy\.listen/)]);
  });

  it('refuses an HSTS preload hstspreload.org would refuse', () => {
    const errors = errorsOf('  tls: {cert: a.pem, key: a.key, hsts: {preload: true}}\n');
    expect(errors).toEqual([expect.stringMatching(/hsts preload needs include_subdomains: true/)]);
    expect(
      errorsOf('  tls: {cert: a.pem, key: a.key, hsts: {preload: true, include_subdomains: true}}\n'),
    ).toEqual([]);
  });

  it('refuses TLS where the catalog says the front cannot terminate it', () => {
    expect(errorsOf('  kind: none\n  tls: {cert: a.pem, key: a.key}\n')).toEqual([
      expect.stringMatching(/proxy\.tls with proxy\.kind none: there is no proxy/),
    ]);
  });
});
