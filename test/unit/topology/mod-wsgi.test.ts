// serve.server mod_wsgi: the app in daemon processes Apache forks (WSGIDaemonProcess), as the
// catalog's inFront entry says — the rendered site and WSGI script, what the rules refuse,
// how new code goes live, what install and doctor need, and the app-user judge (apache2 -t
// on it: test/unit/topology/apache.test.ts).

import { describe, expect, it } from 'vitest';
import { codeUpdate } from '../../../src/install/deploy.js';
import { FRESH_DEBIAN, planInstall } from '../../../src/install/steps.js';
import { appUserProbe, showsTitle } from '../../../src/probes/host/app-user.js';
import { renderArtifacts } from '../../../src/render/artifacts.js';
import { buildPlan, type Plan } from '../../../src/render/plan.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { stackRequirements } from '../../../src/topology/requirements.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';
import { planContext } from '../../helpers/probe-context.js';

const STACK =
  'name: mw\napp: {framework: flask, root: /srv/mw, static: {/static/: static}, env: {GREETING: hi}}\nserve: {server: mod_wsgi, workers: 3, threads: 5}\nproxy: {kind: apache, listen: "8080"}\n';

function planOf(text: string): Plan {
  const { spec, errors } = parseStackSpec(text);
  if (!spec) throw new Error(errors.map((e) => e.message).join('\n'));
  return buildPlan(resolveTopology(spec, { cores: 2 }), productionSite(spec, { baseDir: '/srv' }), 'x');
}
const fileOf = (plan: Plan, path: string) => renderArtifacts(plan).find((a) => a.path === path)?.content;

describe('mod_wsgi: what is rendered', () => {
  const plan = planOf(STACK);
  const site = fileOf(plan, 'apache/mw.conf')!;
  it('a daemon group as the app’s account, sized as stack.yaml says, the script preloaded in it', () => {
    expect(site).toMatch(
      /^ {4}WSGIDaemonProcess mw user=mw group=mw processes=3 threads=5 display-name=%\{GROUP\} home=\/srv\/mw python-path=\/srv\/mw lang=C\.UTF-8 locale=C\.UTF-8 request-timeout=60 socket-timeout=65 connect-timeout=5 shutdown-timeout=10 graceful-timeout=10$/m,
    );
    expect(site).toContain(
      '    WSGIScriptAlias / /etc/stackgen/mw/python/mw.wsgi process-group=mw application-group=%{GLOBAL}\n',
    );
    expect(site).toMatch(/^WSGISocketRotation Off$/m);
    expect(site).toContain('    WSGIPassAuthorization On\n');
    // No mod_proxy at all: no ProxyPass, not even the static exclusion.
    expect(site).not.toContain('ProxyPass');
    expect(site).toContain('    Alias /static/ /srv/mw/static/\n');
  });
  it('the WSGI script sets app.env in os.environ before the import; no unit of the stack’s', () => {
    const script = fileOf(plan, 'python/mw.wsgi')!;
    expect(script).toContain('os.environ["GREETING"] = "hi"\n');
    expect(script.indexOf('os.environ["GREETING"]')).toBeLessThan(script.indexOf('importlib.import_module'));
    expect(script).toContain('ENTRY = "app:app"');
    expect(renderArtifacts(plan).some((a) => a.path.startsWith('systemd/'))).toBe(false);
    expect(plan.launches.filter((l) => l.component === 'app')).toEqual([]);
  });
  it('a virtualenv becomes python-home; a WSGI file runs through the loader', () => {
    const venv = fileOf(
      planOf(STACK.replace('root: /srv/mw,', 'root: /srv/mw, venv: /srv/mw/.venv,')),
      'apache/mw.conf',
    )!;
    expect(venv).toContain(' python-home=/srv/mw/.venv ');
    const hg = planOf(STACK.replace('framework: flask,', 'framework: wsgi, entry: hgweb.wsgi,'));
    expect(fileOf(hg, 'python/mw.wsgi')).toContain('ENTRY = "stackgen_wsgi_file:application"');
    expect(fileOf(hg, 'python/stackgen_wsgi_file.py')).toContain('WSGI_FILE = "/srv/mw/hgweb.wsgi"');
  });
  it('prefork is one thread per process', () => {
    const prefork = fileOf(planOf(STACK.replace('threads: 5', 'concurrency: prefork')), 'apache/mw.conf')!;
    expect(prefork).toContain(' processes=3 threads=1 ');
  });
});

describe('mod_wsgi: what the rules say', () => {
  const diag = (text: string) => parseStackSpec(text);
  const errors = (text: string) =>
    diag(text)
      .errors.map((e) => e.message)
      .join('\n');
  it('renders behind Apache only, with the reload warning', () => {
    expect(errors(STACK)).toBe('');
    expect(
      diag(STACK)
        .warnings.map((w) => w.message)
        .join(),
    ).toMatch(/restarts mod_wsgi's daemon processes with it/);
    expect(errors(STACK.replace('kind: apache', 'kind: nginx'))).toMatch(/runs only inside Apache httpd/);
    // One message, not a second one about the protocol nginx cannot speak.
    expect(errors(STACK.replace('kind: apache', 'kind: nginx')).split('\n')).toHaveLength(1);
  });
  it('refuses app.env_file, supervisor, another interpreter, WebSockets', () => {
    expect(errors(STACK.replace('env: {GREETING: hi}', 'env_file: /etc/mw.env'))).toMatch(
      /does not take app.env_file/,
    );
    expect(errors(`${STACK}processes: {manager: supervisor}\n`)).toMatch(
      /does not take processes.manager supervisor/,
    );
    expect(errors(STACK.replace('root: /srv/mw,', 'root: /srv/mw, python: /opt/py/bin/python3,'))).toMatch(
      /cannot run app.python \/opt\/py\/bin\/python3/,
    );
    expect(errors(STACK.replace('framework: flask,', 'framework: fastapi,'))).not.toBe('');
  });
});

describe('mod_wsgi: install, update, doctor', () => {
  const plan = planOf(STACK);
  it('new code goes live by touching the WSGI script, with its documented wait', () => {
    const u = codeUpdate(plan, renderArtifacts(plan));
    expect(u).toMatchObject({ kind: 'reload', commands: [['touch', '/etc/stackgen/mw/python/mw.wsgi']] });
    expect(u.kind === 'reload' && u.acceptGap?.ms).toBe(3000);
  });
  it('install enables wsgi with a2enmod when it is not, and reloads Apache; no unit', () => {
    const steps = planInstall(plan, renderArtifacts(plan), { ...FRESH_DEBIAN, selfCommand: ['stackgen'] });
    const t = steps.map((s) => s.title);
    expect(t).toContain('a2enmod -q wsgi');
    expect(t).toContain('systemctl reload apache2');
    expect(t.some((x) => /systemctl enable.*mw/.test(x))).toBe(false);
  });
  it('doctor looks for the module file of its Debian package', () => {
    const reqs = stackRequirements(parseStackSpec(STACK).spec!, '/usr/bin/python3');
    expect(reqs).toContainEqual(
      expect.objectContaining({
        kind: 'front-module',
        file: '/usr/lib/apache2/modules/mod_wsgi.so',
        package: 'libapache2-mod-wsgi-py3',
      }),
    );
  });
});

describe('mod_wsgi: app-user finds the daemons by their title', () => {
  it('a title cut to the length of apache2’s argv[0] still counts; another stack’s does not', () => {
    expect(showsTitle('(wsgi:flask-mod-wsgi-apache)', '(wsgi:flask-mod-wsgi-apache)')).toBe(true);
    expect(showsTitle('(wsgi:flask-mod-w', '(wsgi:flask-mod-wsgi-apache)')).toBe(true);
    expect(showsTitle('(wsgi:other)', '(wsgi:flask-mod-wsgi-apache)')).toBe(false);
    expect(showsTitle('/usr/sbin/apache2 -k start', '(wsgi:flask-mod-wsgi-apache)')).toBe(false);
    expect(showsTitle('(wsgi:', '(wsgi:x)')).toBe(false);
  });
  const ctx = planContext('flask-mod-wsgi-apache.yaml');
  const daemon = (pid: number, uid: number) => ({
    pid,
    uid,
    gid: uid,
    groups: [],
    command: '(wsgi:flask-mod-w',
  });
  const sock = { path: '/run/apache2/wsgi.10.0.1.sock', uid: 33, gid: 0, mode: 0o700, dirMode: 0o755 };
  const observed = {
    frontRunsApp: false,
    asProxyDocumented: false,
    inFront: { title: '(wsgi:flask-mod-wsgi-apache)', sockets: [sock] },
    app: [daemon(40, 999), daemon(41, 999)],
    proxy: [],
    sockets: [],
    accounts: { app: 999, group: 999, proxy: 33 },
  };
  it('passes daemons as the app’s account behind a socket only www-data can open', () => {
    const v = appUserProbe.judge(observed, ctx);
    expect(v.status, v.actual).toBe('pass');
  });
  it('fails a daemon as www-data, a socket others may open, no daemon at all', () => {
    const asProxy = appUserProbe.judge({ ...observed, app: [daemon(40, 33)] }, ctx);
    expect(asProxy.actual).toMatch(/daemon processes not/);
    const open = appUserProbe.judge(
      { ...observed, inFront: { ...observed.inFront, sockets: [{ ...sock, mode: 0o777 }] } },
      ctx,
    );
    expect(open.actual).toMatch(/others than www-data can connect/);
    expect(appUserProbe.judge({ ...observed, app: [] }, ctx).actual).toMatch(/did not start/);
  });
});
