// proxy.kind apache: its rendered site (limits, forwarding headers, the 421 catch-all), its
// install steps on a Debian host (a2enmod, a2ensite, a2dissite 000-default, configtest,
// reload — and their undo), and `apache2 -t -f` on the rendered top-level config.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FRESH_DEBIAN, planInstall } from '../../../src/install/steps.js';
import { renderArtifacts } from '../../../src/render/artifacts.js';
import { writeArtifacts } from '../../../src/render/write.js';
import { buildPlan, type Plan } from '../../../src/render/plan.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { apacheClaimsPort, apacheUserOf } from '../../../src/topology/catalog/proxies.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite, sandboxSite } from '../../../src/topology/site.js';
import { describeWith } from '../../helpers/tools.js';

const STACK =
  'name: ap\napp: {framework: flask, static: {/static/: static}}\nserve: {server: uwsgi}\nproxy: {kind: apache, protocol: uwsgi, listen: ["8080", "[::]:8080"]}\n';

function planOf(text: string): Plan {
  const { spec, errors } = parseStackSpec(text);
  if (!spec) throw new Error(errors.map((e) => e.message).join('\n'));
  return buildPlan(resolveTopology(spec, { cores: 2 }), productionSite(spec, { baseDir: '/srv/x' }), 'x');
}
const site = (text: string) =>
  renderArtifacts(planOf(text)).find((a) => a.path === 'apache/ap.conf')!.content;

describe('apache: the rendered site', () => {
  const text = site(STACK);
  it('unsets every client forwarding header and Proxy: (httpoxy) before anything reads them', () => {
    for (const h of [
      'Proxy',
      'X-Forwarded-For',
      'X-Forwarded-Proto',
      'X-Forwarded-Host',
      'Forwarded',
      'X-Real-IP',
    ])
      expect(text).toContain(`    RequestHeader unset ${h} early\n`);
  });
  it('limits and timeouts from stack.yaml; a Content-Length over the limit refused from the head', () => {
    expect(text).toContain('    LimitRequestBody 10485760\n');
    expect(text).toContain('<If "%{HTTP:Content-Length} -gt 10485760">\n        Redirect 413 /\n');
    expect(text).toContain('    ProxyTimeout 65\n');
    expect(text).toContain('    RequestReadTimeout header=10 body=30\n');
    expect(text).toContain(
      'ProxyPass / "unix:/run/ap/ap.sock|uwsgi://localhost/" connectiontimeout=5 timeout=65 retry=0\n',
    );
  });
  it('one `Listen 8080` for both wildcards; none for port 80, which ports.conf already says', () => {
    expect(text).toMatch(/^Listen 8080$/m);
    expect(text).not.toMatch(/^Listen 0\.0\.0\.0/m);
    const on80 = site(STACK.replace('listen: ["8080", "[::]:8080"]', 'listen: "80"'));
    expect(on80).not.toMatch(/^Listen /m);
    expect(on80).toContain('<VirtualHost *:80>');
  });
  it('static files: Require all granted for their directory only; dotfiles 404', () => {
    expect(text).toContain('    <Directory /srv/x/static>\n        Require all granted\n');
    expect(text.match(/^\s+Require all granted$/gm)).toHaveLength(1);
    expect(text).toContain('RedirectMatch 404 "^/static/(.*/)?\\."');
  });
  it('server_name _: one virtual host; a real name: a 421 catch-all read first', () => {
    expect(text).not.toContain('Redirect 421');
    const named = site(
      STACK.replace('listen: ["8080", "[::]:8080"]', 'listen: "8080", server_name: shop.example'),
    );
    expect(named.indexOf('Redirect 421 /')).toBeLessThan(named.indexOf('ServerName shop.example'));
    expect(named).toContain('    ServerName stackgen-catch-all.invalid\n');
  });
  it('a chunked upload is refused 411 over every protocol (Apache counts no proxied chunked body)', () => {
    for (const t of [text, site(STACK.replace('protocol: uwsgi', 'protocol: http'))]) {
      expect(t).toContain('    <If "-n %{HTTP:Transfer-Encoding}">\n        Redirect 411 /\n    </If>\n');
      expect(t).not.toContain('proxy-sendcl');
    }
  });
});

describe('apache: what the rules refuse, from its catalog entry', () => {
  const refused = (text: string) =>
    parseStackSpec(text)
      .errors.map((e) => e.message)
      .join();
  it('protocols it does not render, a server with one process per port', () => {
    // mod_proxy_scgi to uWSGI's scgi-socket (the ini moves SCRIPT_NAME to PATH_INFO).
    expect(
      refused('app: {framework: flask}\nserve: {server: uwsgi}\nproxy: {kind: apache, protocol: scgi}\n'),
    ).toBe('');
    expect(
      refused('app: {framework: flask}\nserve: {server: gunicorn}\nproxy: {kind: apache, protocol: scgi}\n'),
    ).toMatch(/Gunicorn does not speak scgi/);
    expect(
      refused('app: {framework: flask}\nserve: {server: uwsgi}\nproxy: {kind: apache, protocol: fastcgi}\n'),
    ).toMatch(/per script \(php-fpm\) only/);
    expect(refused('app: {framework: fastapi}\nserve: {server: uvicorn}\nproxy: {kind: apache}\n')).toMatch(
      /not a mod_proxy_balancer over one process per port/,
    );
    // WebSockets are tunnelled (upgrade=websocket), over HTTP only.
    expect(
      refused(
        'app: {framework: fastapi, websockets: true}\nserve: {server: gunicorn, concurrency: async}\nproxy: {kind: apache}\n',
      ),
    ).toBe('');
    expect(
      refused(
        'app: {framework: fastapi, websockets: true}\nserve: {server: uwsgi}\nproxy: {kind: apache, protocol: uwsgi}\n',
      ),
    ).toMatch(/cannot carry them/);
    expect(refused(STACK)).toBe('');
  });
});

describe('apache: CGI scripts through mod_cgid', () => {
  const CGI =
    'name: ap\napp: {framework: cgi, entry: hello.cgi, root: /srv/cgi, env: {GREETING: hi}}\nproxy: {kind: apache, protocol: cgi, listen: "8080"}\n';
  it('ScriptAlias maps every path to the script, which alone is granted; PATH and app.env set', () => {
    const text = site(CGI);
    expect(text).toContain('    ScriptAlias / "/srv/cgi/hello.cgi/"\n');
    expect(text).toContain(
      '<Directory "/srv/cgi">\n        <Files "hello.cgi">\n            Require all granted\n',
    );
    expect(text).toContain('    CGIDScriptTimeout 65\n');
    expect(text).toContain('    SetEnv PATH "/usr/local/bin:/usr/bin:/bin"\n    SetEnv GREETING "hi"\n');
    expect(text).not.toContain('ProxyPass');
  });
  it('warns that scripts run as www-data; refuses app.writable and app.env_file for them', () => {
    const r = parseStackSpec(CGI);
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.message).join()).toMatch(/as Apache's own user \(www-data\)/);
    const refused = (extra: string) =>
      parseStackSpec(CGI.replace('env: {GREETING: hi}', extra))
        .errors.map((e) => e.message)
        .join();
    expect(refused('writable: [data]')).toMatch(/app.writable .* www-data/);
    expect(refused('env_file: /etc/ap.env')).toMatch(/app.env_file .* Apache's \(www-data\)/);
  });
  it('a2enmod cgid, then a restart (not a reload: the cgid daemon starts with the master)', () => {
    const plan = planOf(CGI);
    const facts = { ...FRESH_DEBIAN, selfCommand: ['stackgen'] };
    const steps = planInstall(plan, renderArtifacts(plan), facts);
    const t = steps.map((x) => x.title);
    expect(t).toContain('a2enmod -q cgid');
    expect(t).not.toContain('a2enmod -q proxy');
    const restart = steps.find((x) => x.id === 'apache-reload')!;
    expect(restart.title).toBe('systemctl restart apache2');
    expect(restart.commands).toEqual([{ kind: 'exec', argv: ['systemctl', 'restart', 'apache2'] }]);
    expect(restart.why).toMatch(/AH01257/);
    // cgid already enabled (a second stack, or the admin's): a graceful reload as for any site.
    const again = planInstall(plan, renderArtifacts(plan), {
      ...facts,
      exists: [...FRESH_DEBIAN.exists, '/etc/apache2/mods-enabled/cgid.load'],
    }).find((x) => x.id === 'apache-reload')!;
    expect(again.title).toBe('systemctl reload apache2');
  });
});

describe('apache: the catalog readers', () => {
  it("reads Debian's envvars for the worker user", () => {
    expect(apacheUserOf('export APACHE_RUN_USER=www-data\nexport APACHE_RUN_GROUP=www-data\n')).toBe(
      'www-data',
    );
    expect(apacheUserOf('# nothing\n')).toBeNull();
  });
  it('a <VirtualHost> on a port claims it (000-default on 80)', () => {
    const stock = '<VirtualHost *:80>\n\tDocumentRoot /var/www/html\n</VirtualHost>\n';
    expect(apacheClaimsPort(stock, 80)).toBe(true);
    expect(apacheClaimsPort(stock, 8080)).toBe(false);
  });
});

describe('apache: install steps on a stock Debian host', () => {
  const titles = (text: string, over = {}) => {
    const plan = planOf(text);
    return planInstall(plan, renderArtifacts(plan), { ...FRESH_DEBIAN, selfCommand: ['stackgen'], ...over })
      .filter((s) => !s.check)
      .map((s) => ({ title: s.title, done: s.done, undo: s.undo }));
  };
  it('a2enmod what is not enabled, the site into sites-available, a2ensite, configtest, reload', () => {
    const steps = titles(STACK).filter((s) => !s.done);
    const t = steps.map((s) => s.title);
    expect(t).toEqual(
      expect.arrayContaining([
        'a2enmod -q headers',
        'a2enmod -q proxy',
        'a2enmod -q proxy_uwsgi',
        'ln -s /etc/stackgen/ap/apache/ap.conf /etc/apache2/sites-available/ap.conf',
        'a2ensite -q ap',
        'apache2ctl configtest',
        'systemctl reload apache2',
      ]),
    );
    // Debian's own modules stay as they are (no step), and nothing is disabled on port 8080.
    expect(t).not.toContain('a2enmod -q alias');
    expect(t.some((x) => x.startsWith('a2dissite'))).toBe(false);
    expect(t.indexOf('apache2ctl configtest')).toBeLessThan(t.indexOf('systemctl reload apache2'));
    expect(steps.find((s) => s.title === 'a2enmod -q proxy_uwsgi')!.undo).toEqual([
      { kind: 'exec', argv: ['a2dismod', '-q', '-f', 'proxy_uwsgi'] },
    ]);
    expect(steps.find((s) => s.title === 'a2ensite -q ap')!.undo).toEqual([
      { kind: 'exec', argv: ['a2dissite', '-q', 'ap'] },
    ]);
  });
  it('on port 80: a2dissite 000-default, a2ensite 000-default to undo it', () => {
    const text = '<VirtualHost *:80>\n</VirtualHost>\n';
    const steps = titles(STACK.replace('listen: ["8080", "[::]:8080"]', 'listen: "80"'), {
      defaultSiteText: text,
    });
    const off = steps.find((s) => s.title === 'a2dissite -q 000-default')!;
    expect(off.done).toBe(false);
    expect(off.undo).toEqual([{ kind: 'exec', argv: ['a2ensite', '-q', '000-default'] }]);
  });
});

describeWith({ tools: ['apache2'] })('apache2 -t -f on the rendered top-level config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackgen-apache-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const testOf = (text: string) => {
    const { spec } = parseStackSpec(text);
    // Never bound: apache2 -t only parses (a free port each, as verify would give).
    const s = sandboxSite(spec!, {
      dir,
      baseDir: dir,
      ports: { 8080: 18080 },
      stackgenCommand: ['stackgen'],
      users: null,
      currentUser: { user: 'www-data', group: 'www-data' },
      ipv6Loopback: true,
    });
    const plan = buildPlan(resolveTopology(spec!, { cores: 2 }), s, 'x');
    writeArtifacts(s.configDir, renderArtifacts(plan), { force: true, source: plan.source });
    for (const d of [s.apache.runDir, s.logDir]) mkdirSync(d, { recursive: true });
    return spawnSync('apache2', ['-t', '-f', plan.files.apacheConf], { encoding: 'utf8' });
  };
  it('passes as rendered, for uwsgi and HTTP, with a catch-all', () => {
    const r = testOf(STACK);
    expect(r.status, r.stderr).toBe(0);
    const named = testOf(
      STACK.replace('protocol: uwsgi', 'protocol: http').replace(
        'listen: ["8080", "[::]:8080"]',
        'listen: "8080", server_name: shop.example',
      ),
    );
    expect(named.status, named.stderr).toBe(0);
  });
  it('passes as rendered for mod_wsgi’s daemon group', () => {
    const r = testOf(
      'name: ap\napp: {framework: flask, static: {/static/: static}}\nserve: {server: mod_wsgi}\nproxy: {kind: apache, listen: "8080"}\n',
    );
    expect(r.status, r.stderr).toBe(0);
  });
  it('passes as rendered for a CGI script (mod_cgid)', () => {
    const r = testOf(
      'name: ap\napp: {framework: cgi, entry: hello.cgi, root: /srv/cgi}\nproxy: {kind: apache, protocol: cgi, listen: "8080"}\n',
    );
    expect(r.status, r.stderr).toBe(0);
  });
});
