// The app's side of the contract: the settings lines the deploy README lists follow the
// stack (SECURE_PROXY_SSL_HEADER and ProxyFix only where the header can only come from the
// front), and the Django settings judge names every disagreement.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appContractItems, contractFacts } from '../../../src/render/app-contract.js';
import { buildPlan } from '../../../src/render/plan.js';
import type { NormalizedSpec } from '../../../src/stack/normalize.js';
import { readStackSpec } from '../../../src/stack/parse.js';
import { APP_CONTRACTS, djangoAllowsHost } from '../../../src/topology/catalog/app-contracts.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples');

function planOf(example: string, change: (s: NormalizedSpec) => NormalizedSpec = (s) => s) {
  const spec = change(readStackSpec(join(EXAMPLES, example)).spec);
  return buildPlan(
    resolveTopology(spec, { cores: 2 }),
    productionSite(spec, { baseDir: '/srv/x' }),
    'x.yaml',
  );
}
const line = (plan: ReturnType<typeof planOf>, setting: string) =>
  appContractItems(plan)!.find((i) => i.setting.startsWith(setting))!.line;

describe('the deploy README app contract', () => {
  it('Django: ALLOWED_HOSTS and origins from server_name, the body limit from max_body', () => {
    const plan = planOf('django-gunicorn-nginx.yaml', (s) => ({
      ...s,
      proxy: { ...s.proxy, server_name: 'shop.example www.shop.example', listen: ['8080'], max_body: '20m' },
    }));
    expect(line(plan, 'ALLOWED_HOSTS')).toBe('ALLOWED_HOSTS = ["shop.example", "www.shop.example"]');
    expect(line(plan, 'CSRF_TRUSTED_ORIGINS')).toBe(
      'CSRF_TRUSTED_ORIGINS = ["http://shop.example:8080", "http://www.shop.example:8080"]',
    );
    expect(line(plan, 'DATA_UPLOAD_MAX_MEMORY_SIZE')).toBe('DATA_UPLOAD_MAX_MEMORY_SIZE = 20971520');
    expect(line(plan, 'SECURE_PROXY_SSL_HEADER')).toBe(
      'SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")',
    );
  });

  it('Django: no SECURE_PROXY_SSL_HEADER when clients can reach the app server past the proxy', () => {
    const plan = planOf('django-gunicorn-nginx.yaml', (s) => ({
      ...s,
      serve: { ...s.serve, socket: 'tcp', host: '0.0.0.0' },
    }));
    expect(line(plan, 'SECURE_PROXY_SSL_HEADER')).toBe('# SECURE_PROXY_SSL_HEADER: leave it unset');
    expect(appContractItems(plan)!.find((i) => i.setting === 'SECURE_PROXY_SSL_HEADER')!.why).toMatch(
      /listens on 0\.0\.0\.0:8000/,
    );
    expect(contractFacts(planOf('django-gunicorn-nginx.yaml')).appExposedAt).toBeNull();
  });

  it('Flask: ProxyFix x_for=1 x_proto=1 behind an HTTP proxy; none over uwsgi or without a proxy', () => {
    expect(line(planOf('flask-gunicorn-systemd.yaml'), 'ProxyFix')).toBe(
      'app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)',
    );
    expect(line(planOf('flask-uwsgi-nginx.yaml'), 'ProxyFix')).toBe('# no ProxyFix: not needed');
    const bare = planOf('flask-gunicorn-systemd.yaml', (s) => ({
      ...s,
      proxy: { ...s.proxy, kind: 'none' },
    }));
    expect(line(bare, 'ProxyFix')).toBe('# no ProxyFix');
  });

  it('frameworks without a contract get no section', () => {
    expect(appContractItems(planOf('tornado-nginx.yaml'))).toBeNull();
  });
});

describe('Django settings against the stack', () => {
  const settings = APP_CONTRACTS.django!.settings!;
  const facts = contractFacts(planOf('django-gunicorn-nginx.yaml'));

  it("matches hosts as Django does: '*', '.domain', exact, case-insensitive", () => {
    expect(djangoAllowsHost(['*'], 'a.example')).toBe(true);
    expect(djangoAllowsHost(['.shop.example'], 'shop.example')).toBe(true);
    expect(djangoAllowsHost(['.shop.example'], 'a.shop.example')).toBe(true);
    expect(djangoAllowsHost(['SHOP.example'], 'shop.example')).toBe(true);
    expect(djangoAllowsHost(['www.shop.example'], 'shop.example')).toBe(false);
  });

  it('agreeing settings: nothing to say', () => {
    expect(
      settings.disagreements(
        { ALLOWED_HOSTS: ['shop.example'], DATA_UPLOAD_MAX_MEMORY_SIZE: 10485760 },
        facts,
      ),
    ).toEqual([]);
  });

  it('a server_name missing from ALLOWED_HOSTS, and a body limit below max_body, each say where and what to do', () => {
    const found = settings.disagreements(
      {
        __file__: '/app/mysite/settings.py',
        ALLOWED_HOSTS: [],
        DEBUG: false,
        DATA_UPLOAD_MAX_MEMORY_SIZE: 2621440,
      },
      facts,
    );
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(
      /^\/app\/mysite\/settings\.py: ALLOWED_HOSTS = \[\] does not allow shop\.example/,
    );
    expect(found[1]).toMatch(/set it to 10485760, or lower proxy\.max_body$/);
  });

  it("server_name _ with ALLOWED_HOSTS ['*']: nothing checks the Host", () => {
    const open = contractFacts(planOf('django-asgi-uvicorn.yaml'));
    expect(
      settings.disagreements({ ALLOWED_HOSTS: ['*'], DATA_UPLOAD_MAX_MEMORY_SIZE: null }, open)[0],
    ).toMatch(/nothing checks the Host header/);
  });

  it('a project mounted under app.mount: FORCE_SCRIPT_NAME unset, a relative STATIC_URL, cookies below the mount', () => {
    const mounted = planOf('django-gunicorn-nginx.yaml', (s) => ({
      ...s,
      app: { ...s.app, mount: '/shop', static: { '/shop/static/': { dir: 'static', immutable: false } } },
    }));
    expect(line(mounted, 'FORCE_SCRIPT_NAME')).toBe('# FORCE_SCRIPT_NAME: leave it unset');
    expect(line(mounted, 'STATIC_URL')).toBe('STATIC_URL = "static/"');
    expect(appContractItems(mounted)!.find((i) => i.setting === 'STATIC_URL')!.why).toContain(
      'app.static serves /shop/static/',
    );
    expect(line(mounted, 'SESSION_COOKIE_PATH')).toBe('SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = "/shop"');
    expect(
      appContractItems(planOf('django-gunicorn-nginx.yaml'))!.some((i) => i.setting === 'STATIC_URL'),
    ).toBe(false);
    const f = contractFacts(mounted);
    const base = { ALLOWED_HOSTS: ['shop.example'], DATA_UPLOAD_MAX_MEMORY_SIZE: 10485760 };
    expect(settings.disagreements({ ...base, STATIC_URL: 'static/', FORCE_SCRIPT_NAME: null }, f)).toEqual(
      [],
    );
    expect(settings.disagreements({ ...base, STATIC_URL: '/shop/static/' }, f)).toEqual([]);
    const found = settings.disagreements({ ...base, STATIC_URL: '/static/', FORCE_SCRIPT_NAME: '/' }, f);
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/FORCE_SCRIPT_NAME = "\/" but app\.mount is \/shop/);
    expect(found[1]).toMatch(/STATIC_URL = "\/static\/" is outside app\.mount \/shop/);
  });
});

describe('the app contract with TLS at the front (proxy.tls)', () => {
  const tls =
    (extra: object = {}) =>
    (s: NormalizedSpec) => ({
      ...s,
      proxy: {
        ...s.proxy,
        tls: {
          cert: '/etc/ssl/certs/a.pem',
          key: '/etc/ssl/private/a.key',
          listen: ['443', '8443'],
          redirect_http: true,
          hsts: { max_age: 63072000, include_subdomains: false, preload: false },
          http2: true,
          ...extra,
        },
      },
    });

  it('Django: https origins (port only when not 443), secure cookies, the redirect and HSTS left to the front', () => {
    const plan = planOf('django-gunicorn-nginx.yaml', tls());
    expect(line(plan, 'CSRF_TRUSTED_ORIGINS')).toBe(
      'CSRF_TRUSTED_ORIGINS = ["https://shop.example", "https://shop.example:8443"]',
    );
    expect(line(plan, 'SESSION_COOKIE_SECURE')).toBe('SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True');
    expect(line(plan, 'SECURE_SSL_REDIRECT')).toMatch(/leave them unset/);
  });

  it('redirect_http false: http origins too, and secure cookies only as advice', () => {
    const plan = planOf('django-gunicorn-nginx.yaml', tls({ redirect_http: false }));
    expect(contractFacts(plan).origins).toEqual([
      'https://shop.example',
      'https://shop.example:8443',
      'http://shop.example',
    ]);
    expect(line(plan, 'SESSION_COOKIE_SECURE')).toMatch(/^# /);
  });

  it('Flask: SESSION_COOKIE_SECURE', () => {
    expect(line(planOf('flask-gunicorn-systemd.yaml', tls()), 'SESSION_COOKIE_SECURE')).toBe(
      'app.config["SESSION_COOKIE_SECURE"] = True',
    );
  });

  it('the Django settings judge names what undoes the TLS', () => {
    const facts = contractFacts(planOf('django-gunicorn-nginx.yaml', tls()));
    const found = APP_CONTRACTS.django!.settings!.disagreements(
      {
        __file__: 'settings.py',
        ALLOWED_HOSTS: ['shop.example'],
        SECURE_PROXY_SSL_HEADER: null,
        SESSION_COOKIE_SECURE: true,
        CSRF_COOKIE_SECURE: false,
        SECURE_HSTS_SECONDS: 3600,
        DATA_UPLOAD_MAX_MEMORY_SIZE: 10485760,
      },
      facts,
    );
    expect(found).toEqual([
      expect.stringMatching(/SECURE_PROXY_SSL_HEADER is unset: .*is_secure\(\) stays False/),
      expect.stringMatching(
        /CSRF_COOKIE_SECURE is not True although every request reaches Django over https/,
      ),
      expect.stringMatching(/SECURE_HSTS_SECONDS = 3600 while the front sends Strict-Transport-Security/),
    ]);
  });
});
