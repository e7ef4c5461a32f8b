// proxy.tls.acme as certbot runs it (src/tls/acme.ts): the first issuance's command line, the
// placeholder, and the reading of certbot's renewal file the machine target's probe relies on.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPlan, type Plan } from '../../../src/render/plan.js';
import { readStackSpec } from '../../../src/stack/parse.js';
import { acmePlan, certonlyArgv, forcedRenewalArgv, renewalConfProblems } from '../../../src/tls/acme.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite, sandboxSite } from '../../../src/topology/site.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples');

function planOf(example: string): Plan {
  const loaded = readStackSpec(join(EXAMPLES, example));
  return buildPlan(
    resolveTopology(loaded.spec, { cores: 2 }),
    productionSite(loaded.spec, { baseDir: EXAMPLES }),
    example,
  );
}

// The shape certbot 2.1 writes for the example's lineage (the account id made up); the machine
// target's acme-certificate probe reads the real one with the same function.
const RENEWAL = `# renew_before_expiry = 30 days
version = 2.1.0
archive_dir = /etc/letsencrypt/archive/django-acme
cert = /etc/letsencrypt/live/django-acme/cert.pem
privkey = /etc/letsencrypt/live/django-acme/privkey.pem
chain = /etc/letsencrypt/live/django-acme/chain.pem
fullchain = /etc/letsencrypt/live/django-acme/fullchain.pem

# Options used in the renewal process
[renewalparams]
account = 0123abcd
renew_hook = /etc/stackgen/django-acme/certbot/django-acme-deploy-hook.sh
authenticator = webroot
webroot_path = /var/lib/stackgen/django-acme/acme,
server = https://acme-v02.api.letsencrypt.org/directory
key_type = ecdsa
[[webroot_map]]
shop.example = /var/lib/stackgen/django-acme/acme
`;

describe('acmePlan', () => {
  const plan = planOf('django-uwsgi-nginx-acme.yaml');
  const a = acmePlan(plan)!;

  it('nginx reads stackgen-owned files; certbot keeps its lineage under the stack name', () => {
    expect(a).toMatchObject({
      certName: 'django-acme',
      names: ['shop.example'],
      cert: '/var/lib/stackgen/django-acme/tls/fullchain.pem',
      key: '/var/lib/stackgen/django-acme/tls/privkey.pem',
      liveDir: '/etc/letsencrypt/live/django-acme',
      webroot: '/var/lib/stackgen/django-acme/acme',
      deployHook: '/etc/stackgen/django-acme/certbot/django-acme-deploy-hook.sh',
    });
    expect(plan.site.tls).toMatchObject({ cert: a.cert, key: a.key, chain: true });
  });

  it('none for certificate files', () => {
    expect(acmePlan(planOf('django-uwsgi-nginx-tls.yaml'))).toBeNull();
  });

  it('certonly: webroot, the directory, every name, the deploy hook kept for renewals', () => {
    const argv = certonlyArgv(a).join(' ');
    expect(argv).toContain('--webroot --webroot-path /var/lib/stackgen/django-acme/acme');
    expect(argv).toContain('--server https://acme-v02.api.letsencrypt.org/directory');
    expect(argv).toContain('--cert-name django-acme --domain shop.example --deploy-hook');
    expect(argv).toContain(`--deploy-hook ${a.deployHook}`);
    // Every name of proxy.server_name is one --domain of the same certificate.
    const two = acmePlan({
      ...plan,
      spec: { ...plan.spec, proxy: { ...plan.spec.proxy, server_name: 'a.example b.example' } },
    })!;
    expect(certonlyArgv(two).join(' ')).toContain('--domain a.example --domain b.example');
    expect(forcedRenewalArgv(a)).toContain('--no-random-sleep-on-renew');
  });

  it('renewalConfProblems: none for what install asked, each difference named', () => {
    expect(renewalConfProblems(RENEWAL, a)).toEqual([]);
    const other = RENEWAL.replace('authenticator = webroot', 'authenticator = standalone')
      .replace(/^renew_hook = .*\n/m, '')
      .replace('shop.example = /var/lib/stackgen/django-acme/acme', 'shop.example = /var/www/html');
    expect(renewalConfProblems(other, a)).toEqual([
      'authenticator = standalone, not webroot',
      `renew_hook = (none), not ${a.deployHook}`,
      'webroot_map shop.example = /var/www/html, not /var/lib/stackgen/django-acme/acme',
    ]);
  });
});

describe('acmePlan on a sandbox site (verify runs certbot there itself)', () => {
  const loaded = readStackSpec(join(EXAMPLES, 'django-uwsgi-nginx-acme.yaml'));
  const site = sandboxSite(loaded.spec, {
    dir: '/tmp/sb',
    baseDir: EXAMPLES,
    ports: { 80: 30080, 443: 30443 },
    stackgenCommand: ['stackgen'],
    users: null,
    currentUser: { user: 'me', group: 'me' },
    ipv6Loopback: false,
    tls: { cert: '/tmp/sb/tls/server.pem', key: '/tmp/sb/tls/server.key', ca: '/tmp/sb/tls/ca.pem' },
  });
  const a = acmePlan(buildPlan(resolveTopology(loaded.spec, { cores: 2 }), site, 'stack.yaml'))!;

  it("certbot keeps to the sandbox's own dirs; the hook relinks the stand-in nginx started with", () => {
    expect(a.certbotDirs).toEqual([
      '--config-dir',
      '/tmp/sb/certbot',
      '--work-dir',
      '/tmp/sb/certbot/work',
      '--logs-dir',
      '/tmp/sb/certbot/logs',
    ]);
    expect(certonlyArgv(a).slice(0, 8)).toEqual(['certbot', 'certonly', ...a.certbotDirs]);
    expect(a).toMatchObject({ cert: '/tmp/sb/tls/server.pem', key: '/tmp/sb/tls/server.key' });
    expect(a.liveDir).toBe('/tmp/sb/certbot/live/django-acme');
  });

  it("reloads the sandbox's nginx master by its pid file, not Debian's service", () => {
    expect(a.reloadCommand).toBe(
      'nginx -t -q -c /tmp/sb/deploy/nginx/nginx.conf && kill -HUP "$(cat /tmp/sb/run/nginx.pid)"',
    );
  });
});

describe('production reload', () => {
  it("Debian's nginx service, after a config test", () => {
    expect(acmePlan(planOf('django-uwsgi-nginx-acme.yaml'))!.reloadCommand).toBe(
      'nginx -t -q && systemctl reload nginx',
    );
  });
});

describe('the gateway’s reload (proxy.tls.acme at proxy.kind gateway)', () => {
  it('production: systemctl reload of its unit (ExecReload=+ copies, then SIGHUP)', () => {
    const a = acmePlan(planOf('flask-gunicorn-gateway-acme.yaml'))!;
    expect(a.reloadCommand).toBe('systemctl reload flask-acme-gateway.service');
    expect(a).toMatchObject({
      cert: '/var/lib/stackgen/flask-acme/tls/fullchain.pem',
      key: '/var/lib/stackgen/flask-acme/tls/privkey.pem',
      frontTitle: 'stackgen gateway',
    });
  });

  it('sandbox: what ExecReload= does — the root copies, then SIGHUP to the main pid verify recorded', () => {
    const loaded = readStackSpec(join(EXAMPLES, 'flask-gunicorn-gateway-acme.yaml'));
    const site = sandboxSite(loaded.spec, {
      dir: '/tmp/sb',
      baseDir: EXAMPLES,
      ports: { 80: 30080, 443: 30443 },
      stackgenCommand: ['stackgen'],
      users: null,
      currentUser: { user: 'me', group: 'me' },
      ipv6Loopback: false,
      tls: { cert: '/tmp/sb/tls/server.pem', key: '/tmp/sb/tls/server.key', ca: '/tmp/sb/tls/ca.pem' },
    });
    const a = acmePlan(buildPlan(resolveTopology(loaded.spec, { cores: 2 }), site, 'stack.yaml'))!;
    expect(a.reloadCommand).toBe(
      [
        '/usr/bin/install -d -m 0700 -o me /tmp/sb/run-tls',
        '/usr/bin/install -m 0400 -o me /tmp/sb/tls/server.pem /tmp/sb/run-tls/fullchain.pem',
        '/usr/bin/install -m 0400 -o me /tmp/sb/tls/server.key /tmp/sb/run-tls/privkey.pem',
        'kill -HUP "$(cat /tmp/sb/run/gateway.mainpid)"',
      ].join(' && '),
    );
  });
});
