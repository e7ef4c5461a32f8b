// `stackgen install` and `stackgen uninstall` for real, on a throwaway Debian host (never on
// this one): what the deploy README asks a user to type, done idempotently; a failure at a
// step rolls back what that run did, with the unit's journal; uninstall takes back exactly
// what install added and leaves Debian's own nginx serving again.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { bootMachine, type Machine } from '../../src/runtime/machine.js';
import { createThrowawayCertificate } from '../../src/tls/throwaway-ca.js';
import { DEBIAN_DEFAULT_SITE, hostChanges, snapshotHost } from '../helpers/host-state.js';
import { describeWith } from '../helpers/tools.js';
import { ROOT, TSX_IMPORT } from '../helpers/verify-cli.js';

const EXAMPLES = join(ROOT, 'examples');

describeWith({
  machine: true,
  tools: ['nginx', 'uwsgi', 'gunicorn', 'supervisord'],
  pythonModules: ['flask', 'bottle'],
})('stackgen install / uninstall on a real host', () => {
  const snapshot = snapshotHost('install');
  let m: Machine;
  const stackgen = (...args: string[]) =>
    m.exec(
      // Host paths as the machine sees them (a checkout under /tmp is bound elsewhere).
      m.insideArgv([
        '/usr/bin/env',
        `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        process.execPath,
        '--import',
        TSX_IMPORT,
        join(ROOT, 'src/main.ts'),
        ...args,
      ]),
      {
        timeoutMs: 120_000,
      },
    );
  const get = async (path = '/') =>
    (
      await m.exec([
        '/usr/bin/python3',
        '-c',
        'import sys, urllib.request\ntry:\n  r = urllib.request.urlopen(sys.argv[1], timeout=5)\n  print(r.status, r.read().decode()[:600])\nexcept Exception as e:\n  print("error", e)',
        `http://127.0.0.1${path}`,
      ])
    ).stdout;
  const exists = async (path: string) => (await m.exec(['test', '-e', path])).code === 0;
  /** A stack file inside the machine (examples' apps are visible at their paths). */
  const stack = (name: string, yaml: string) => {
    const file = `/srv/install-test/${name}.yaml`;
    writeFileSync(m.path(file), yaml);
    return file;
  };

  beforeAll(async () => {
    m = await bootMachine({ visible: [ROOT] });
    await m.exec(['mkdir', '-p', '/srv/install-test']);
  }, 60_000);

  afterAll(async () => {
    await m?.dispose();
    expect(await hostChanges(snapshot)).toEqual([]);
  });

  const flask = join(EXAMPLES, 'flask-uwsgi-nginx.yaml');

  it('--dry-run prints every step and changes nothing', async () => {
    const r = await stackgen('install', '--dry-run', flask);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('→ systemctl link /etc/stackgen/flask-uwsgi/systemd/flask-uwsgi.service');
    expect(r.stdout).toContain('→ systemctl enable --now flask-uwsgi.service');
    expect(r.stdout).toMatch(/→ rm \/etc\/nginx\/sites-enabled\/default/);
    expect(r.stdout).toMatch(/dry run: \d+ step\(s\) would run/);
    expect(await exists('/etc/stackgen/flask-uwsgi')).toBe(false);
    expect(await get()).toMatch(DEBIAN_DEFAULT_SITE);
  });

  it("installs the production render: the app answers through Debian's nginx on port 80", async () => {
    const r = await stackgen('install', flask);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/installed: \d+ step\(s\) done/);
    expect(await get()).toMatch(/^200 \{"hello":"flask"/);
    expect(await exists('/var/lib/stackgen/flask-uwsgi/install.json')).toBe(true);
    const active = await m.exec(['systemctl', 'is-enabled', 'flask-uwsgi.service']);
    expect(active.stdout.trim()).toBe('enabled');
  });

  it('is idempotent: a second run changes nothing and says so', async () => {
    const r = await stackgen('install', flask);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing to do: already installed as generated');
    expect(r.stdout).not.toMatch(/^\s+✓ (?!\(check\))/m);
  });

  it('refuses to overwrite a generated file edited by hand (exit 4), unless --force', async () => {
    const ini = '/etc/stackgen/flask-uwsgi/uwsgi/flask-uwsgi.ini';
    await m.exec(['sh', '-c', `echo '; my tweak' >> ${ini}`]);
    // A change in stack.yaml would rewrite the ini: simulate it with --cores.
    const r = await stackgen('install', '--cores', '7', flask);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(ini);
    expect((await m.exec(['tail', '-1', ini])).stdout).toBe('; my tweak');
    const forced = await stackgen('install', '--force', flask);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await m.exec(['tail', '-1', ini])).stdout).not.toBe('; my tweak');
  });

  it("uninstall takes back exactly that, and Debian's default site serves again", async () => {
    const r = await stackgen('uninstall', flask);
    expect(r.code, r.stderr).toBe(0);
    expect(await get()).toMatch(DEBIAN_DEFAULT_SITE);
    for (const path of [
      '/etc/stackgen/flask-uwsgi',
      '/etc/systemd/system/flask-uwsgi.service',
      '/etc/nginx/sites-enabled/flask-uwsgi.conf',
      '/var/lib/stackgen/flask-uwsgi',
      '/run/flask-uwsgi',
    ])
      expect(await exists(path), path).toBe(false);
    expect(await exists('/etc/nginx/sites-enabled/default')).toBe(true);
    const again = await stackgen('uninstall', flask);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/no install of flask-uwsgi is recorded/);
  });

  it('a unit that cannot start: exit 6, its journal shown, everything of the run rolled back', async () => {
    const file = stack(
      'broken',
      `name: broken\napp:\n  framework: flask\n  entry: no_such_module:app\n  root: ${m.inside(join(EXAMPLES, 'apps/flask'))}\nserve:\n  server: gunicorn\n  workers: 1\n`,
    );
    const r = await stackgen('install', file);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/SG_ERR_INSTALL_FAILED/);
    expect(r.stderr).toMatch(/journal:[\s\S]*ModuleNotFoundError: No module named 'no_such_module'/);
    expect(r.stdout).toMatch(/rolling back \d+ step\(s\)/);
    for (const path of [
      '/etc/stackgen/broken',
      '/etc/systemd/system/broken.service',
      '/var/lib/stackgen/broken',
    ])
      expect(await exists(path), path).toBe(false);
    expect((await m.exec(['systemctl', 'is-active', 'broken.service'])).stdout.trim()).not.toBe('active');
    expect(await get()).toMatch(DEBIAN_DEFAULT_SITE);
  });

  it("a gateway stack on port 80, which Debian's nginx holds: refused before any change, naming nginx.service", async () => {
    const file = stack(
      'gw80',
      `name: gw80\napp:\n  framework: wsgi\n  entry: app:application\n  root: ${m.inside(join(EXAMPLES, 'apps/wsgi'))}\nserve:\n  server: wsgiref\nproxy:\n  kind: gateway\n  listen: "80"\n`,
    );
    const r = await stackgen('install', file);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(
      /port 80 is already held by pid \d+ \(nginx: [^)]*\) of nginx\.service: stackgen gateway cannot listen there — stop it \(systemctl disable --now nginx\.service\)/,
    );
    expect(r.stderr).toMatch(/nothing was changed/);
    for (const path of [
      '/etc/stackgen/gw80',
      '/etc/systemd/system/gw80-gateway.service',
      '/var/lib/stackgen/gw80',
    ])
      expect(await exists(path), path).toBe(false);
    expect(await get()).toMatch(DEBIAN_DEFAULT_SITE);
  });

  it('nginx -t failing rolls back the site, the default site and the units', async () => {
    // Another site on this host already claims default_server on port 80.
    await m.exec([
      'sh',
      '-c',
      'echo "server { listen 80 default_server; return 204; }" > /etc/nginx/sites-enabled/zz-other',
    ]);
    try {
      const r = await stackgen('install', flask);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(/nginx -t.*exited 1/);
      expect(r.stderr).toMatch(/duplicate default server/);
      expect(await exists('/etc/nginx/sites-enabled/default')).toBe(true);
      expect(await exists('/etc/nginx/sites-enabled/flask-uwsgi.conf')).toBe(false);
      expect(await exists('/etc/stackgen/flask-uwsgi')).toBe(false);
      expect((await m.exec(['systemctl', 'is-active', 'flask-uwsgi.service'])).stdout.trim()).not.toBe(
        'active',
      );
    } finally {
      await m.exec(['rm', '-f', '/etc/nginx/sites-enabled/zz-other']);
    }
    expect((await m.exec(['nginx', '-t'])).code).toBe(0);
  });

  it("a supervisor stack: programs through Debian's supervisord, a run directory that survives reboots, all removed after", async () => {
    // examples/flask-gunicorn-supervisor.yaml, with its app.env_file as on a server: a
    // root-only file (git checks the example's out 644, and install refuses secrets others may
    // read); without app.writable, whose directory would lie in the (read-only) checkout.
    const envFile = '/srv/install-test/flask-gunicorn.env';
    writeFileSync(m.path(envFile), 'FLASK_SECRET_KEY=install-test-placeholder-51d2\n', { mode: 0o600 });
    const file = stack(
      'flask-gunicorn',
      [
        'name: flask-gunicorn',
        'app:',
        '  framework: flask',
        `  root: ${m.inside(join(EXAMPLES, 'apps', 'flask'))}`,
        '  static: {/static/: static}',
        `  env_file: ${envFile}`,
        'serve: {server: gunicorn, concurrency: threads}',
        'proxy: {kind: nginx}',
        'processes: {manager: supervisor}',
        '',
      ].join('\n'),
    );
    const r = await stackgen('install', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('systemd-tmpfiles --create /etc/tmpfiles.d/stackgen-flask-gunicorn.conf');
    expect(await get()).toMatch(/^200 \{"hello":"flask"/);
    expect((await m.exec(['supervisorctl', 'status', 'flask-gunicorn'])).stdout).toMatch(/RUNNING/);
    const u = await stackgen('uninstall', file);
    expect(u.code, u.stderr).toBe(0);
    expect((await m.exec(['supervisorctl', 'status', 'flask-gunicorn'])).stdout).toMatch(/no such process/i);
    for (const path of [
      '/etc/tmpfiles.d/stackgen-flask-gunicorn.conf',
      '/run/flask-gunicorn',
      '/etc/supervisor/conf.d/flask-gunicorn.conf',
    ])
      expect(await exists(path), path).toBe(false);
  });

  it('a TLS stack: install refuses a key others can read and changes nothing; with the key at 600 it serves https', async () => {
    // The certificate files as a user has them on the server (here from a throwaway CA).
    const caDir = mkdtempSync(join(tmpdir(), 'stackgen-install-tls-'));
    onTestFinished(() => rmSync(caDir, { recursive: true, force: true }));
    const made = createThrowawayCertificate(caDir, ['tls.example']);
    const dir = '/srv/install-test/tls';
    await m.exec(['mkdir', '-p', dir]);
    for (const [from, name] of [
      [made.cert, 'fullchain.pem'],
      [made.key, 'privkey.pem'],
      [made.ca, 'ca.pem'],
    ] as const)
      writeFileSync(m.path(`${dir}/${name}`), readFileSync(from), { mode: 0o644 });
    const file = stack(
      'tls-site',
      [
        'name: tls-site',
        'app:',
        '  framework: flask',
        `  root: ${m.inside(join(EXAMPLES, 'apps', 'flask'))}`,
        'serve: {server: gunicorn, workers: 1}',
        `proxy: {kind: nginx, server_name: tls.example, tls: {cert: ${dir}/fullchain.pem, key: ${dir}/privkey.pem}}`,
        '',
      ].join('\n'),
    );
    const refused = await stackgen('install', file);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(
      /privkey\.pem: the private key is mode 644, readable by every user — .*chmod 600/,
    );
    expect(await exists('/etc/stackgen/tls-site')).toBe(false);
    await m.exec(['chmod', '600', `${dir}/privkey.pem`]);
    const r = await stackgen('install', file);
    expect(r.code, r.stderr).toBe(0);
    const https = await m.exec([
      '/usr/bin/python3',
      '-c',
      // TLS to 127.0.0.1 with SNI tls.example (as a browser for that name), trusting the CA alone.
      'import http.client, socket, ssl, sys\nctx = ssl.create_default_context(cafile=sys.argv[1])\nc = http.client.HTTPConnection("tls.example", 443, timeout=5)\nc.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", 443), timeout=5), server_hostname="tls.example")\nc.request("GET", "/")\nr = c.getresponse()\nprint(r.status, r.getheader("Strict-Transport-Security"), r.read().decode()[:20])',
      `${dir}/ca.pem`,
    ]);
    expect(https.stdout).toMatch(/^200 max-age=63072000 \{"hello":"flask"/);
    const u = await stackgen('uninstall', file);
    expect(u.code, u.stderr).toBe(0);
    for (const path of ['/etc/nginx/sites-enabled/stackgen-catch-all-any-443.conf', '/etc/stackgen/tls-site'])
      expect(await exists(path), path).toBe(false);
  });

  it('two stacks with their own names on port 80 share the catch-all; each uninstall keeps what the other needs', async () => {
    /** status and body start for a request naming this Host ("closed": no answer, nginx's 444). */
    const getHost = async (host: string) =>
      (
        await m.exec([
          '/usr/bin/python3',
          '-c',
          'import http.client, sys\nc = http.client.HTTPConnection("127.0.0.1", 80, timeout=5)\ntry:\n  c.request("GET", "/", headers={"Host": sys.argv[1]})\n  r = c.getresponse()\n  print(r.status, r.read().decode()[:60])\nexcept http.client.RemoteDisconnected:\n  print("closed")',
          host,
        ])
      ).stdout;
    const site = (name: string) =>
      stack(
        name,
        [
          `name: ${name}`,
          'app:',
          '  framework: flask',
          `  root: ${m.inside(join(EXAMPLES, 'apps', 'flask'))}`,
          'serve: {server: gunicorn, workers: 1}',
          `proxy: {kind: nginx, server_name: ${name}.example}`,
          '',
        ].join('\n'),
      );
    const a = site('site-a');
    const b = site('site-b');
    const catchAll = '/etc/nginx/sites-enabled/stackgen-catch-all-any-80.conf';
    for (const file of [a, b]) {
      const r = await stackgen('install', file);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await getHost('site-a.example')).toMatch(/^200 \{"hello":"flask"/);
    expect(await getHost('site-b.example')).toMatch(/^200 \{"hello":"flask"/);
    expect(await getHost('unknown.example')).toBe('closed');
    expect(await exists('/etc/nginx/sites-enabled/default')).toBe(false);

    const ua = await stackgen('uninstall', a);
    expect(ua.code, ua.stderr).toBe(0);
    expect(ua.stdout).toMatch(/kept: .*stackgen-catch-all-any-80\.conf \(site-b still needs it\)/);
    expect(ua.stdout).toMatch(/kept: rm \/etc\/nginx\/sites-enabled\/default \(site-b still needs it\)/);
    expect(await getHost('site-b.example')).toMatch(/^200 \{"hello":"flask"/);
    expect(await getHost('site-a.example')).toBe('closed');
    expect(await exists(catchAll)).toBe(true);
    expect(await exists('/etc/nginx/sites-enabled/default')).toBe(false);

    const ub = await stackgen('uninstall', b);
    expect(ub.code, ub.stderr).toBe(0);
    expect(await exists(catchAll)).toBe(false);
    expect(await get()).toMatch(DEBIAN_DEFAULT_SITE);
  });

  it('a gateway stack gets /usr/local/bin/stackgen for its unit, and loses it on uninstall', async () => {
    const file = join(EXAMPLES, 'bottle-cgi-gateway.yaml');
    expect(await exists('/usr/local/bin/stackgen')).toBe(false);
    const r = await stackgen('install', file);
    expect(r.code, r.stderr).toBe(0);
    expect(
      await get().then(() => m.exec(['systemctl', 'is-active', 'bottle-cgi-gateway.service'])),
    ).toMatchObject({
      stdout: 'active',
    });
    expect(await exists('/usr/local/bin/stackgen')).toBe(true);
    const u = await stackgen('uninstall', file);
    expect(u.code, u.stderr).toBe(0);
    expect(await exists('/usr/local/bin/stackgen')).toBe(false);
  });
});
