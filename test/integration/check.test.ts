// `stackgen check` against the real tools: every example renders and passes, and a broken
// stack fails with the tool's own message. Each example is checked in-process (the same
// checkStack the CLI calls); the CLI itself is spawned for the exit code and output format.

import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { judgeExposure } from '../../src/check/definitions.js';
import { runCheckStep } from '../../src/check/runner.js';
import { checkStack } from '../../src/check/stack.js';
import { loadAndResolve } from '../../src/cli/shared.js';
import { EXIT_CODES } from '../../src/errors.js';
import { formatCheckResult } from '../../src/report/human.js';
import { certificateNames, createThrowawayCertificate } from '../../src/tls/throwaway-ca.js';
import { describeWith } from '../helpers/tools.js';
import { elementsNamed, parseXml } from '../helpers/xml.js';

const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLES = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const run = promisify(execFile);

const describeTools = describeWith({
  tools: [
    'nginx',
    'lighttpd',
    'apache2',
    'uwsgi',
    'gunicorn',
    'systemd-analyze',
    'supervisord',
    'php-fpm8.2',
    'php8.2',
  ],
  pythonModules: ['flask', 'django', 'bottle', 'tornado', 'fastapi', 'gevent', 'uvicorn', 'supervisor'],
});

const work = mkdtempSync(join(tmpdir(), 'stackgen-check-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `stackgen check` through the real entry point; resolves with exit code and output. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'check', ...args], {
      cwd: ROOT,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * An example with proxy.tls certificate files names them where its server keeps them
 * (/etc/ssl/…), which this host has not: check judges a pair made here in their place, as
 * the server would hold it (key mode 600). The tls-files test below shows it failing.
 */
function withHostCertificates(l: ReturnType<typeof loadAndResolve>, file: string) {
  const tls = l.loaded.spec.proxy.tls;
  if (tls === 'off' || !('cert' in tls)) return l;
  const made = createThrowawayCertificate(
    join(work, file),
    certificateNames(l.loaded.spec.proxy.server_name),
  );
  const files = { ...tls, cert: made.cert, key: made.key };
  l.loaded.spec.proxy.tls = files;
  l.topology.spec.proxy.tls = files;
  return l;
}

describeTools('stackgen check', () => {
  it.concurrent.each(EXAMPLES)('examples/%s renders and passes every check', async (file) => {
    const l = withHostCertificates(
      loadAndResolve(join(ROOT, 'examples', file), { cores: 2, quiet: true }),
      file,
    );
    const report = await checkStack(l, { concurrency: 2 });
    const failures = report.results.filter((r) => r.status === 'fail').map(formatCheckResult);
    expect(failures, failures.join('\n')).toEqual([]);
    expect(report.results.length).toBeGreaterThan(0);
    const checks = new Set(report.results.map((r) => r.step.check));
    // Each front and app server gets its own tool's opinion, not just a generic one.
    if (l.loaded.spec.proxy.kind === 'nginx') expect(checks).toContain('nginx-test');
    if (l.loaded.spec.proxy.kind === 'gateway') expect(checks).toContain('gateway-config');
    if (l.loaded.spec.proxy.kind === 'lighttpd') expect(checks).toContain('lighttpd-test');
    if (l.loaded.spec.proxy.kind === 'apache') expect(checks).toContain('apache-test');
    if (l.loaded.spec.serve.server === 'gunicorn') expect(checks).toContain('gunicorn-check-config');
    if (l.loaded.spec.serve.server === 'uwsgi') expect(checks).toContain('uwsgi-options');
    // ACME: no files of the user's to judge (install makes a placeholder, certbot the rest).
    const tls = l.loaded.spec.proxy.tls;
    if (tls !== 'off' && 'cert' in tls) expect(checks).toContain('tls-files');
    // systemd with a unit to judge: Apache running CGI scripts itself renders none.
    if (l.loaded.spec.processes.manager === 'systemd' && l.topology.components.some((c) => c.managed)) {
      expect(checks).toContain('systemd-verify');
      for (const r of report.results.filter((x) => x.step.check === 'systemd-security')) {
        expect(r.actual).toMatch(/^exposure \d\.\d ≤ 2\.0$/);
      }
    }
    if (l.loaded.spec.processes.manager === 'supervisor') expect(checks).toContain('supervisor-options');
  });

  it('prints PASS lines and exits 0 for a good stack', async () => {
    const r = await cli('examples/flask-gunicorn-systemd.yaml', '--cores', '2');
    expect(r.stdout).toContain('PASS nginx -t (nginx/nginx.conf)');
    expect(r.stdout).toContain('PASS gunicorn --check-config (gunicorn/flask-gunicorn.conf.py)');
    expect(r.stdout).toMatch(/PASS systemd-analyze security \(systemd\/flask-gunicorn\.service\): exposure/);
    expect(r.code).toBe(EXIT_CODES.ok);
  });

  it('tls-files: certificate files this host lacks, then a key others can read, fail and exit 1; nginx -t still passes', async () => {
    const missing = await cli('examples/django-uwsgi-nginx-tls.yaml', '--cores', '2');
    expect(missing.stdout).toMatch(
      /FAIL proxy\.tls certificate and key \(\/etc\/ssl\/certs\/shop\.example\.fullchain\.pem\)\n.*no such file — point proxy\.tls\.cert at/,
    );
    expect(missing.stdout).toContain('PASS nginx -t (nginx/nginx.conf)');
    expect(missing.code).toBe(EXIT_CODES.checksFailed);
    const made = createThrowawayCertificate(join(work, 'open-key'), ['shop.example']);
    chmodSync(made.key, 0o644);
    const spec = join(work, 'open-key.yaml');
    writeFileSync(
      spec,
      readFileSync(join(ROOT, 'examples/django-uwsgi-nginx-tls.yaml'), 'utf8')
        .replace(/cert: .*/, `cert: ${made.cert}`)
        .replace(/key: .*/, `key: ${made.key}`)
        .replace('root: apps/django', `root: ${join(ROOT, 'examples/apps/django')}`),
    );
    const open = await cli(spec, '--cores', '2');
    expect(open.stdout).toMatch(
      /server\.key: the private key is mode 644, readable by every user — .*chmod 600/,
    );
    expect(open.code).toBe(EXIT_CODES.checksFailed);
  });

  it('nginx -t passes for a 33-character stack name with trusted_proxies and security headers', async () => {
    // nginx's variables_hash_bucket_size (64) bounds variable names: the maps' names are
    // `<name>_app_<short suffix>` so a long stack name still fits (seen: "could not build
    // variables_hash" with `<name>_app_x_content_type_options`).
    const spec = join(work, 'long-name.yaml');
    writeFileSync(
      spec,
      [
        'name: a-very-long-stack-name-for-vars-x',
        `app: {framework: wsgi, entry: "app:application", root: ${join(ROOT, 'examples/apps/wsgi')}}`,
        'serve: {server: gunicorn}',
        'proxy: {kind: nginx, protocol: http, trusted_proxies: [10.0.0.0/8]}',
        // An account name has at most 32 characters (a rule): a short one of its own.
        'processes: {manager: none, user: longname, group: longname}',
        '',
      ].join('\n'),
    );
    const r = await cli(spec, '--cores', '2');
    expect(r.stdout).toContain('PASS nginx -t (nginx/nginx.conf)');
  });

  it('reports gunicorn --check-config failing on a missing app module, with its message, and exits 1', async () => {
    const spec = join(work, 'broken.yaml');
    writeFileSync(
      spec,
      [
        'name: broken',
        'app:',
        '  framework: flask',
        '  entry: no_such_module:app',
        `  root: ${join(ROOT, 'examples/apps/flask')}`,
        'serve: {server: gunicorn}',
        'proxy: {kind: nginx}',
        'processes: {manager: systemd}',
        '',
      ].join('\n'),
    );
    const junit = join(work, 'broken.junit.xml');
    const r = await cli(spec, '--cores', '2', '--junit', junit);
    expect(r.code).toBe(EXIT_CODES.checksFailed);
    expect(r.stdout).toContain('FAIL gunicorn --check-config (gunicorn/broken.conf.py)');
    // The tool's own message, indented under the FAIL line.
    expect(r.stdout).toMatch(/^ {4}ModuleNotFoundError: No module named 'no_such_module'$/m);
    // The other files are still fine and say so.
    expect(r.stdout).toContain('PASS nginx -t (nginx/nginx.conf)');
    expect(r.stdout).toContain('broken: 1 of');

    // The same run as JUnit: one testcase per PASS/FAIL line, the failure with the tool's message.
    const xml = readFileSync(junit, 'utf8');
    await run('python3', ['-c', 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])', junit]);
    const cases = elementsNamed(parseXml(xml), 'testcase');
    expect(cases).toHaveLength(r.stdout.match(/^(PASS|FAIL) /gm)?.length ?? -1);
    const failed = cases.filter((c) => elementsNamed(c, 'failure').length > 0);
    expect(failed.map((c) => c.attrs['name'])).toEqual(['gunicorn --check-config (gunicorn/broken.conf.py)']);
    expect(elementsNamed(failed[0]!, 'failure')[0]?.text).toContain(
      "ModuleNotFoundError: No module named 'no_such_module'",
    );

    const json = await cli(spec, '--cores', '2', '--json');
    const parsed = JSON.parse(json.stdout) as { ok: boolean; checks: Array<{ check: string; ok: boolean }> };
    expect(parsed.ok).toBe(false);
    expect(parsed.checks.find((c) => c.check === 'gunicorn-check-config')?.ok).toBe(false);
  });

  it('fails a static mapping to a directory that does not exist (and warns where it is written)', async () => {
    const spec = join(work, 'no-static.yaml');
    writeFileSync(
      spec,
      [
        'name: no-static',
        'app:',
        '  framework: flask',
        '  entry: app:app',
        `  root: ${join(ROOT, 'examples/apps/flask')}`,
        '  static: {/assets/: collected}',
        'proxy: {kind: nginx}',
        'processes: {manager: none}',
        '',
      ].join('\n'),
    );
    const r = await cli(spec, '--cores', '2');
    expect(r.code).toBe(EXIT_CODES.checksFailed);
    expect(r.stderr).toMatch(
      /no-static\.yaml:6:\d+: warning: static directory for \/assets\/ does not exist/,
    );
    expect(r.stdout).toMatch(
      /FAIL static directory for \/assets\/ .*\n {4}\S+\/collected does not exist: every \/assets\/ request would be a 404/,
    );
  });
});

it('a missing tool is a failed check with the package to install, not a crash', async () => {
  const result = await runCheckStep({
    check: 'nginx-test',
    title: 'nginx -t',
    subject: 'nginx/nginx.conf',
    need: { program: 'stackgen-no-such-tool', package: 'nginx-light' },
    prepare: { mkdir: [], copy: [] },
    action: {
      kind: 'exec',
      argv: ['stackgen-no-such-tool'],
      timeoutMs: 1000,
      judge: () => ({ status: 'pass', actual: '' }),
    },
  });
  expect(result.status).toBe('fail');
  expect(result.actual).toBe('stackgen-no-such-tool is not installed');
  expect(result.detail).toContain('apt-get install -y nginx-light');
});

describeWith({ tools: ['systemd-analyze'] })('systemd-analyze security judge', () => {
  it('fails a unit without hardening, with the exposure and the tool’s ✗ lines', async () => {
    const unit = join(work, 'loose.service');
    writeFileSync(unit, '[Service]\nExecStart=/bin/true\n');
    const result = await runCheckStep({
      check: 'systemd-security',
      title: 'systemd-analyze security',
      subject: 'loose.service',
      need: { program: 'systemd-analyze', package: 'systemd' },
      prepare: { mkdir: [], copy: [] },
      action: {
        kind: 'exec',
        argv: ['systemd-analyze', 'security', '--offline=yes', '--no-pager', unit],
        timeoutMs: 30_000,
        judge: judgeExposure,
      },
    });
    expect(result.status).toBe('fail');
    expect(result.actual).toMatch(/^exposure \d+\.\d > 2\.0$/);
    expect(result.detail).toContain('✗ NoNewPrivileges=');
  });
});
