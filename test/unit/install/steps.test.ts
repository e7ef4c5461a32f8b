import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runningPrograms } from '../../../src/install/facts.js';
import { claimsDefaultServer, nginxUserOf } from '../../../src/topology/catalog/proxies.js';
import { explainingTail } from '../../../src/install/run.js';
import { unitOfCgroup } from '../../../src/runtime/proc.js';
import {
  envFileProblems,
  FRESH_DEBIAN,
  type HostFacts,
  installProblems,
  planInstall,
  startUnits,
  supervisorPrograms,
} from '../../../src/install/steps.js';
import { renderArtifacts } from '../../../src/render/artifacts.js';
import { buildPlan, type Plan } from '../../../src/render/plan.js';
import { readStackSpec } from '../../../src/stack/parse.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples');
const DEBIAN_DEFAULT =
  'server {\n\tlisten 80 default_server;\n\tlisten [::]:80 default_server;\n\troot /var/www/html;\n}\n';

function planOf(example: string): Plan {
  const loaded = readStackSpec(join(EXAMPLES, example));
  return buildPlan(
    resolveTopology(loaded.spec, { cores: 2 }),
    productionSite(loaded.spec, { baseDir: '/srv/x' }),
    example,
  );
}

/** A stock Debian host (the deploy README's assumption), with this checkout's stackgen. */
function freshHost(over: Partial<HostFacts> = {}): HostFacts {
  return { ...FRESH_DEBIAN, selfCommand: ['/usr/bin/node', '/opt/stackgen/bin/stackgen.js'], ...over };
}

/** The accounts a first install of the stack `name` left: its user and group, www-data a member. */
function accountsOf(name: string): Pick<HostFacts, 'users' | 'groups' | 'primaryGroup'> {
  return {
    users: [...FRESH_DEBIAN.users, name],
    groups: [...FRESH_DEBIAN.groups, { name, members: ['www-data'] }],
    primaryGroup: { ...FRESH_DEBIAN.primaryGroup, [name]: name },
  };
}

const titles = (steps: ReturnType<typeof planInstall>, done: boolean) =>
  steps.filter((s) => s.done === done && !s.check).map((s) => s.title.split('  (')[0]);

describe('planInstall', () => {
  it('on a fresh Debian host: files, unit link, daemon-reload, enable --now, default site off, site on, nginx -t, reload', () => {
    const plan = planOf('flask-uwsgi-nginx.yaml');
    const steps = planInstall(plan, renderArtifacts(plan), freshHost());
    expect(titles(steps, false)).toEqual([
      // The app's own account (processes.user/group default to the stack's name), the proxy in its group.
      'groupadd --system flask-uwsgi',
      'useradd --system --gid flask-uwsgi --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin flask-uwsgi',
      'usermod --append --groups flask-uwsgi www-data',
      'install -d /etc/stackgen/flask-uwsgi && cp -r . /etc/stackgen/flask-uwsgi/',
      'systemctl link /etc/stackgen/flask-uwsgi/systemd/flask-uwsgi.service',
      'systemctl daemon-reload',
      'systemctl enable --now flask-uwsgi.service',
      'rm /etc/nginx/sites-enabled/default',
      'ln -s /etc/stackgen/flask-uwsgi/nginx/flask-uwsgi.conf /etc/nginx/sites-enabled/flask-uwsgi.conf',
      'nginx -t',
      'systemctl reload nginx',
    ]);
    // Every change can be taken back; the default site is restored to where it pointed.
    const site = steps.find((s) => s.id.startsWith('nginx-default-site:'))!;
    expect(site.undo).toEqual([
      {
        kind: 'symlink',
        link: '/etc/nginx/sites-enabled/default',
        target: '/etc/nginx/sites-available/default',
      },
    ]);
    expect(
      steps
        .find((s) => s.id === 'unit-start:flask-uwsgi.service')!
        .undo.map((c) => c.kind === 'exec' && c.argv.join(' ')),
    ).toEqual(['systemctl stop flask-uwsgi.service', 'systemctl disable flask-uwsgi.service']);
  });

  it('on a host where it is installed as generated: every step already so (only the readiness check runs)', () => {
    const plan = planOf('flask-uwsgi-nginx.yaml');
    const artifacts = renderArtifacts(plan);
    const steps = planInstall(
      plan,
      artifacts,
      freshHost({
        ...accountsOf('flask-uwsgi'),
        links: {
          '/etc/systemd/system/flask-uwsgi.service': '/etc/stackgen/flask-uwsgi/systemd/flask-uwsgi.service',
          '/etc/nginx/sites-enabled/flask-uwsgi.conf': '/etc/stackgen/flask-uwsgi/nginx/flask-uwsgi.conf',
        },
        files: Object.fromEntries(artifacts.map((a) => [a.path, a.content])),
        units: {
          'nginx.service': { enabled: true, active: true },
          'flask-uwsgi.service': { enabled: true, active: true },
        },
        defaultSiteText: null,
      }),
    );
    expect(titles(steps, false)).toEqual([]);
    expect(steps.filter((s) => !s.done).map((s) => s.id)).toEqual(['units-ready', 'front-answers']);
  });

  it('restarts the app when its files changed, and reloads nginx only when its site changed', () => {
    const plan = planOf('flask-uwsgi-nginx.yaml');
    const artifacts = renderArtifacts(plan);
    const files = Object.fromEntries(artifacts.map((a) => [a.path, a.content]));
    files['uwsgi/flask-uwsgi.ini'] = 'old';
    const steps = planInstall(
      plan,
      artifacts,
      freshHost({
        ...accountsOf('flask-uwsgi'),
        links: {
          '/etc/systemd/system/flask-uwsgi.service': '/etc/stackgen/flask-uwsgi/systemd/flask-uwsgi.service',
          '/etc/nginx/sites-enabled/flask-uwsgi.conf': '/etc/stackgen/flask-uwsgi/nginx/flask-uwsgi.conf',
        },
        files,
        units: {
          'nginx.service': { enabled: true, active: true },
          'flask-uwsgi.service': { enabled: true, active: true },
        },
        defaultSiteText: null,
      }),
    );
    expect(titles(steps, false)).toEqual([
      'install -d /etc/stackgen/flask-uwsgi && cp -r . /etc/stackgen/flask-uwsgi/',
      'systemctl restart flask-uwsgi.service',
    ]);
  });

  it('creates the app account and adds the proxy to its group when they are missing', () => {
    const loaded = readStackSpec(join(EXAMPLES, 'flask-uwsgi-nginx.yaml'));
    const spec = { ...loaded.spec, processes: { ...loaded.spec.processes, user: 'shop', group: 'shop' } };
    const plan = buildPlan(
      resolveTopology(spec, { cores: 2 }),
      productionSite(spec, { baseDir: '/srv/x' }),
      'x.yaml',
    );
    const steps = planInstall(plan, renderArtifacts(plan), freshHost());
    expect(steps.slice(0, 3).map((s) => s.title)).toEqual([
      'groupadd --system shop',
      'useradd --system --gid shop --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin shop',
      'usermod --append --groups shop www-data',
    ]);
    expect(steps[2]!.undo).toEqual([{ kind: 'exec', argv: ['gpasswd', '--delete', 'www-data', 'shop'] }]);
  });

  it("disables Debian's default site for a real server_name too (the stack's catch-all owns the port), undoably", () => {
    const loaded = readStackSpec(join(EXAMPLES, 'flask-uwsgi-nginx.yaml'));
    const spec = { ...loaded.spec, proxy: { ...loaded.spec.proxy, server_name: 'shop.example' } };
    const plan = buildPlan(
      resolveTopology(spec, { cores: 2 }),
      productionSite(spec, { baseDir: '/srv/x' }),
      'x.yaml',
    );
    const steps = planInstall(plan, renderArtifacts(plan), freshHost());
    const site = steps.find((s) => s.id.startsWith('nginx-default-site:'))!;
    expect(site.why).toContain('catch-all refuses every Host but shop.example');
    expect(site.undo).toEqual([
      {
        kind: 'symlink',
        link: '/etc/nginx/sites-enabled/default',
        target: '/etc/nginx/sites-available/default',
      },
    ]);
  });

  it('two stacks with real names on port 80 share one catch-all per address and the default site gone', () => {
    const named = (name: string, server: string) => {
      const loaded = readStackSpec(join(EXAMPLES, 'flask-uwsgi-nginx.yaml'));
      const proxy = { ...loaded.spec.proxy, server_name: server, listen: ['80', '[::]:80'] };
      const spec = { ...loaded.spec, name, proxy };
      return buildPlan(
        resolveTopology(spec, { cores: 2 }),
        productionSite(spec, { baseDir: '/srv/x' }),
        'x.yaml',
      );
    };
    const a = named('shop', 'shop.example');
    const b = named('blog', 'blog.example');
    const first = planInstall(a, renderArtifacts(a), freshHost());
    const catchAlls = first.filter((s) => s.id.startsWith('nginx-shared:'));
    expect(catchAlls.map((s) => s.id)).toEqual([
      'nginx-shared:/etc/nginx/sites-enabled/stackgen-catch-all-any-80.conf',
      'nginx-shared:/etc/nginx/sites-enabled/stackgen-catch-all-any6-80.conf',
    ]);
    expect(catchAlls.every((s) => s.shared && !s.done)).toBe(true);
    expect(catchAlls[0]!.undo).toEqual([
      { kind: 'remove', path: '/etc/nginx/sites-enabled/stackgen-catch-all-any-80.conf' },
    ]);
    // The host after the first install: the catch-alls in place, Debian's site gone, the claims recorded.
    const written = Object.fromEntries(
      catchAlls.map((s) => {
        const c = s.commands[0] as { path: string; content: string };
        return [c.path, c.content];
      }),
    );
    const removed = first.find((s) => s.id.startsWith('nginx-default-site:'))!;
    const claims = Object.fromEntries(
      first.filter((s) => s.shared).map((s) => [s.id, { stacks: ['shop'], undo: s.undo }]),
    );
    const second = planInstall(
      b,
      renderArtifacts(b),
      freshHost({ files: written, defaultSiteText: null, claims }),
    );
    const shared = second.filter((s) => s.shared);
    // Same bytes from the other stack: nothing to write, but the claim is this stack's too.
    expect(shared.map((s) => [s.id, s.done])).toEqual([
      [removed.id, true],
      [catchAlls[0]!.id, true],
      [catchAlls[1]!.id, true],
    ]);
    expect(shared[0]!.undo).toEqual(removed.undo);
    expect(shared[1]!.why).toBe('shared with shop');
  });

  it('a stack with server_name _ renders no catch-all: its own server is the default', () => {
    const plan = planOf('flask-uwsgi-nginx.yaml');
    expect(renderArtifacts(plan).some((a) => a.path.includes('catch-all'))).toBe(false);
    expect(
      planInstall(plan, renderArtifacts(plan), freshHost()).some((s) => s.id.startsWith('nginx-shared:')),
    ).toBe(false);
  });

  it("keeps Debian's default site when it claims none of the stack's ports", () => {
    const loaded = readStackSpec(join(EXAMPLES, 'flask-uwsgi-nginx.yaml'));
    const spec = { ...loaded.spec, proxy: { ...loaded.spec.proxy, listen: ['8080', '[::]:8080'] } };
    const plan = buildPlan(
      resolveTopology(spec, { cores: 2 }),
      productionSite(spec, { baseDir: '/srv/x' }),
      'x.yaml',
    );
    const steps = planInstall(plan, renderArtifacts(plan), freshHost());
    expect(steps.some((s) => s.id.startsWith('nginx-default-site:'))).toBe(false);
  });

  it('supervisor: the tmpfiles entry, the program link, reread/update; no systemd units', () => {
    const plan = planOf('flask-gunicorn-supervisor.yaml');
    const steps = planInstall(plan, renderArtifacts(plan), freshHost());
    const t = titles(steps, false);
    expect(t).toContain(
      'ln -s /etc/stackgen/flask-gunicorn/tmpfiles/flask-gunicorn.conf /etc/tmpfiles.d/stackgen-flask-gunicorn.conf && systemd-tmpfiles --create /etc/tmpfiles.d/stackgen-flask-gunicorn.conf',
    );
    expect(t).toContain(
      'ln -s /etc/stackgen/flask-gunicorn/supervisor/flask-gunicorn.conf /etc/supervisor/conf.d/flask-gunicorn.conf',
    );
    expect(t).toContain('supervisorctl reread && supervisorctl update');
    expect(t.some((x) => x?.startsWith('systemctl link'))).toBe(false);
    expect(supervisorPrograms(planOf('tornado-wsgi-flask.yaml'))).toEqual(['tornado-flask:*']);
  });

  it('a gateway stack installs the /usr/local/bin/stackgen its unit runs', () => {
    const plan = planOf('bottle-cgi-gateway.yaml');
    const steps = planInstall(plan, renderArtifacts(plan), freshHost());
    const wrapper = steps.find((s) => s.id === 'wrapper:/usr/local/bin/stackgen')!;
    expect(wrapper.commands[0]).toMatchObject({
      kind: 'write-file',
      path: '/usr/local/bin/stackgen',
      content: expect.stringContaining('exec /usr/bin/node /opt/stackgen/bin/stackgen.js "$@"'),
    });
    expect(startUnits(renderArtifacts(plan))).toEqual(['bottle-cgi-gateway.service']);
  });

  it('tornado: the target is started, its instances come with it', () => {
    expect(startUnits(renderArtifacts(planOf('tornado-nginx.yaml')))).toEqual(['tornado.target']);
  });
});

describe('installProblems', () => {
  it("refuses a host without systemd, and a proxy.user other than the distribution's nginx user", () => {
    const plan = planOf('flask-uwsgi-nginx.yaml');
    expect(installProblems(plan, freshHost())).toEqual([]);
    expect(installProblems(plan, freshHost({ systemd: false, frontUser: 'nginx' }))).toEqual([
      expect.stringMatching(/systemd is not running as PID 1/),
      expect.stringMatching(/runs its workers as nginx .* proxy.user is www-data: set proxy.user: nginx/),
    ]);
  });
});

describe('installProblems: a port the stack binds, held by another service', () => {
  const nginx = { pid: 412, cmdline: 'nginx: master process /usr/sbin/nginx', unit: 'nginx.service' };
  it("refuses a gateway on port 80 where Debian's nginx listens, naming the unit and what to do", () => {
    const plan = planOf('flask-gunicorn-gateway-acme.yaml');
    expect(installProblems(plan, freshHost({ portListeners: [{ port: 80, ...nginx }] }))).toEqual([
      'port 80 is already held by pid 412 (nginx: master process /usr/sbin/nginx) of nginx.service: stackgen gateway cannot listen there — stop it (systemctl disable --now nginx.service) or move the stack to a free port in stack.yaml',
    ]);
  });
  it("the stack's own units (a second install) are not in the way, nor nginx for an nginx stack", () => {
    const gateway = planOf('flask-gunicorn-gateway-acme.yaml');
    const own = { pid: 9, cmdline: 'node stackgen gateway', unit: 'flask-acme-gateway.service' };
    expect(installProblems(gateway, freshHost({ portListeners: [{ port: 80, ...own }] }))).toEqual([]);
    const tornado = planOf('tornado-nginx.yaml');
    const instance = { pid: 10, cmdline: 'python3 tornado', unit: 'tornado@8100.service' };
    expect(installProblems(tornado, freshHost({ portListeners: [{ port: 8100, ...instance }] }))).toEqual([]);
    // nginx itself is the front: Debian's nginx.service binds 80, and install reloads it.
    expect(installProblems(planOf('flask-uwsgi-nginx.yaml'), freshHost({ portListeners: [] }))).toEqual([]);
  });
  it("an app server's loopback port held by someone else is refused too", () => {
    const plan = planOf('tornado-nginx.yaml');
    const other = { pid: 77, cmdline: 'python3 -m http.server 8100', unit: 'session-3.scope' };
    expect(installProblems(plan, freshHost({ portListeners: [{ port: 8100, ...other }] }))).toEqual([
      expect.stringMatching(
        /^port 8100 is already held by pid 77 .* of session-3\.scope: Tornado cannot listen there — move the stack/,
      ),
    ]);
  });
});

describe('host facts parsing', () => {
  it('unitOfCgroup reads the unit a process runs in', () => {
    expect(unitOfCgroup('0::/system.slice/nginx.service\n')).toBe('nginx.service');
    expect(unitOfCgroup('0::/system.slice/tornado.slice/tornado@8100.service\n')).toBe(
      'tornado@8100.service',
    );
    expect(unitOfCgroup('0::/user.slice/user-0.slice/session-3.scope\n')).toBe('session-3.scope');
    expect(unitOfCgroup('0::/\n')).toBeNull();
  });

  it('claimsDefaultServer reads listen lines', () => {
    expect(claimsDefaultServer(DEBIAN_DEFAULT, 80)).toBe(true);
    expect(claimsDefaultServer(DEBIAN_DEFAULT, 8080)).toBe(false);
    expect(claimsDefaultServer('server { listen 127.0.0.1:80; }', 80)).toBe(false);
    expect(claimsDefaultServer('server {\n  listen 0.0.0.0:80 default_server reuseport;\n}', 80)).toBe(true);
  });

  it('nginxUserOf and runningPrograms', () => {
    expect(nginxUserOf('user www-data;\nworker_processes auto;\n')).toBe('www-data');
    expect(nginxUserOf('# user nobody;\nevents {}\n')).toBeNull();
    const status =
      'app                              RUNNING   pid 10, uptime 0:00:05\ntf:tf-8200 RUNNING pid 11\ntf:tf-8201 STARTING\n';
    expect(runningPrograms(status, ['app', 'tf:*', 'other'])).toEqual(['app']);
  });
});

describe('explainingTail', () => {
  it('leads the tail with the exception lines that scrolled out of it', () => {
    const log = [
      'spawned worker 1',
      "ModuleNotFoundError: No module named 'no_such_module'",
      ...Array.from({ length: 30 }, (_, i) => `retry ${i}`),
    ];
    const out = explainingTail(log, 5);
    expect(out).toEqual([
      "ModuleNotFoundError: No module named 'no_such_module'",
      '…',
      'retry 25',
      'retry 26',
      'retry 27',
      'retry 28',
      'retry 29',
    ]);
    expect(explainingTail(['a', 'b'], 5)).toEqual(['a', 'b']);
  });
});

describe('envFileProblems', () => {
  const plan = planOf('flask-gunicorn-systemd.yaml');
  const file = '/srv/x/flask-gunicorn.env';

  it('accepts a root-owned file of mode 600 (and 400)', () => {
    expect(plan.site.envFile).toBe(file);
    expect(envFileProblems(plan, freshHost({ envFile: { uid: 0, mode: 0o600, problems: [] } }))).toEqual([]);
    expect(envFileProblems(plan, freshHost({ envFile: { uid: 0, mode: 0o400, problems: [] } }))).toEqual([]);
  });

  it('refuses a missing file, a group- or world-readable one, another owner, lines read two ways', () => {
    expect(envFileProblems(plan, freshHost())).toEqual([
      `app.env_file ${file} does not exist (or cannot be read)`,
    ]);
    expect(
      envFileProblems(plan, freshHost({ envFile: { uid: 1000, mode: 0o644, problems: ['line 2: x'] } })),
    ).toEqual([
      `app.env_file ${file} is owned by uid 1000, not root: chown root:root ${file}`,
      `app.env_file ${file} has mode 644: group or others can read the secrets: chmod 600 ${file}`,
      `app.env_file ${file} line 2: x`,
    ]);
    expect(envFileProblems(plan, freshHost({ envFile: { uid: 0, mode: 0o640, problems: [] } }))).toHaveLength(
      1,
    );
  });

  it('a stack without app.env_file has nothing to check', () => {
    expect(envFileProblems(planOf('flask-uwsgi-nginx.yaml'), freshHost())).toEqual([]);
  });
});

describe('planInstall with proxy.tls.acme', () => {
  const plan = planOf('django-uwsgi-nginx-acme.yaml');

  it('webroot and placeholder before nginx -t; certbot certonly after nginx serves port 80; the timer on', () => {
    const steps = planInstall(plan, renderArtifacts(plan), freshHost());
    const ids = steps.map((s) => s.id);
    const at = (id: string) => ids.findIndex((i) => i.startsWith(id));
    expect(at('acme-webroot:')).toBeLessThan(at('acme-placeholder'));
    expect(at('acme-placeholder')).toBeLessThan(at('nginx-test'));
    expect(at('nginx-reload')).toBeLessThan(at('acme-certificate:'));
    expect(at('acme-certificate:')).toBeLessThan(at('certbot-timer'));
    const certonly = steps.find((s) => s.id === 'acme-certificate:django-acme')!;
    expect(certonly.undo).toEqual([
      { kind: 'exec', argv: ['certbot', 'delete', '--non-interactive', '--cert-name', 'django-acme'] },
    ]);
    // Debian's timer stays enabled after uninstall.
    expect(steps.find((s) => s.id === 'certbot-timer')!.undo).toEqual([]);
  });

  it('a second run keeps the certificate certbot issued (no placeholder, no certonly)', () => {
    const tls = '/var/lib/stackgen/django-acme/tls';
    const steps = planInstall(
      plan,
      renderArtifacts(plan),
      freshHost({
        exists: [
          ...FRESH_DEBIAN.exists,
          `${tls}/fullchain.pem`,
          `${tls}/privkey.pem`,
          '/etc/letsencrypt/renewal/django-acme.conf',
          '/var/lib/stackgen/django-acme/acme',
        ],
        links: {
          ...FRESH_DEBIAN.links,
          [`${tls}/fullchain.pem`]: '/etc/letsencrypt/live/django-acme/fullchain.pem',
        },
        units: { ...FRESH_DEBIAN.units, 'certbot.timer': { enabled: true, active: true } },
      }),
    );
    for (const id of ['acme-webroot:', 'acme-placeholder', 'acme-certificate:', 'certbot-timer'])
      expect(steps.find((s) => s.id.startsWith(id))?.done, id).toBe(true);
  });
});

describe('planInstall with proxy.tls.acme at the gateway (a front of the stack’s own units)', () => {
  const plan = planOf('flask-gunicorn-gateway-acme.yaml');

  it('placeholder before its unit starts (ExecStartPre=+ copies it); certonly once the gateway serves port 80', () => {
    const steps = planInstall(plan, renderArtifacts(plan), freshHost());
    const ids = steps.map((s) => s.id);
    const at = (id: string) => ids.findIndex((i) => i.startsWith(id));
    expect(at('acme-webroot:')).toBeLessThan(at('acme-placeholder'));
    expect(at('acme-placeholder')).toBeLessThan(at('unit-start:flask-acme-gateway.service'));
    expect(at('units-ready')).toBeGreaterThan(at('unit-start:flask-acme-gateway.service'));
    expect(at('acme-certificate:')).toBeGreaterThan(at('units-ready'));
    expect(at('acme-certificate:')).toBeLessThan(at('certbot-timer'));
    const certonly = steps.find((s) => s.id === 'acme-certificate:flask-acme')!;
    // No nginx workers to wait for: the hook's `systemctl reload` has sent the SIGHUP.
    expect(certonly.commands.map((c) => c.kind)).toEqual(['exec']);
    expect(certonly.why).toContain('systemctl reload flask-acme-gateway.service');
    expect(certonly.undo).toEqual([
      { kind: 'exec', argv: ['certbot', 'delete', '--non-interactive', '--cert-name', 'flask-acme'] },
    ]);
    // Uninstall takes back the placeholder's directory and the webroot too.
    expect(steps.find((s) => s.id === 'acme-placeholder')!.undo).toEqual([
      { kind: 'remove', path: '/var/lib/stackgen/flask-acme/tls', recursive: true },
    ]);
  });
});
