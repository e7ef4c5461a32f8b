// `stackgen verify --target machine` on every example: the production render installed by
// `stackgen install` on a throwaway Debian host, started by the real systemd (or Debian's
// supervisord) behind Debian's own nginx, probed from inside, rebooted, stopped with a
// request in flight, uninstalled — one matrix run of the CLI, as a user (root) would run it.
// Also: an interrupted run and a run without root leave this host exactly as it was.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/report/types.js';
import { hostChanges, snapshotHost } from '../helpers/host-state.js';
import { describeWith } from '../helpers/tools.js';
import { type CliRun, ROOT, runVerify } from '../helpers/verify-cli.js';

const EXAMPLES = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** What only a real host shows, proven on every example unless a probe says why not (skip). */
const HOST_PROBES = [
  'app/after-reboot',
  'app/reload-under-load',
  'app/listeners',
  'app/graceful-stop',
  'app/hardening',
  'app/journal',
  'stack/uninstall',
  'stack/no-process-left',
  'stack/no-socket-left',
];

describeWith({
  machine: true,
  // redis-server, celery and redis: the tasks: examples (the stack's own broker, the workers).
  tools: [
    'nginx',
    'uwsgi',
    'gunicorn',
    'supervisord',
    'fcgiwrap',
    'lighttpd',
    'apache2',
    'php-fpm8.2',
    'redis-server',
    'certbot',
    'pebble',
    'pebble-challtestsrv',
  ],
  pythonModules: [
    'flask',
    'django',
    'gunicorn',
    'uvicorn',
    'hypercorn',
    'daphne',
    'tornado',
    'fastapi',
    'bottle',
    'websockets',
    'celery',
    'redis',
  ],
})('stackgen verify --target machine on the examples', () => {
  const out = mkdtempSync(join(tmpdir(), 'stackgen-verify-machine-'));
  const snapshot = snapshotHost('verify-machine');
  let run: CliRun;
  let report: VerifyReport;

  beforeAll(async () => {
    run = await runVerify(
      [
        '--target',
        'machine',
        '--probe-app',
        '--json',
        join(out, 'report.json'),
        ...EXAMPLES.map((f) => join('examples', f)),
      ],
      // 40 examples: under a minute each on this 2-core machine (an ACME one ~75 s).
      { timeoutMs: 2_400_000 },
    );
    report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as VerifyReport;
  }, 2_460_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  for (const [i, file] of EXAMPLES.entries()) {
    it(`${file}: every probe passes on a real host`, () => {
      const stack = report.stacks[i]!;
      expect(stack.file).toBe(join('examples', file));
      const probes = stack.passes[0]!.probes;
      const failed = stack.passes.flatMap((p) => p.probes).filter((p) => p.status === 'fail');
      expect(failed.map((p) => `${p.key}: ${p.actual}`).join('\n')).toBe('');
      // NOT READY: which component, why, and its log, in the failure itself (the report is gone after).
      expect(stack.outcome, JSON.stringify(stack.passes.map((p) => p.notReady))).toBe('pass');
      // Each host probe ran — or says why it cannot on this stack.
      for (const key of HOST_PROBES) {
        const p = probes.find((x) => x.key === key);
        expect(p, key).toBeDefined();
        if (p!.status === 'skip')
          expect(p!.actual, key).toMatch(
            /CGI|manager|supervisor|systemd|no app server|fcgiwrap|no app unit|^does not apply to /,
          );
      }
      expect(probes.find((p) => p.key === 'app/reach')?.status).toBe('pass');
    });
  }

  it('proxy.tls.acme: certbot got the certificate from pebble and a forced renewal swapped it under load', () => {
    const acme = report.stacks.filter((s) => s.file.includes('-acme'));
    expect(acme.length).toBeGreaterThan(0);
    for (const stack of acme) {
      const probes = stack.passes.flatMap((p) => p.probes);
      const got = (id: string) => probes.find((p) => p.key === `app/${id}`);
      expect(got('acme-certificate')?.status, stack.file).toBe('pass');
      expect(got('tls')?.status, stack.file).toBe('pass');
      expect(got('acme-renewal')?.status, stack.file).toBe('pass');
      expect(got('acme-renewal')?.actual).toMatch(/^serial \w+ → \w+ .*; 0 of \d+ requests failed$/);
    }
  });

  it('exits 0 and leaves this host as it was (its /tmp, its mounts, no machine process)', async () => {
    // The host check first: it removes the marker file even when the run failed.
    const changes = await hostChanges(snapshot, [run.pid]);
    expect(run.code, run.stdout.slice(-3000)).toBe(0);
    expect(changes).toEqual([]);
  });

  it('measures what the note promises: machine boots, reload and stop figures', () => {
    const all = report.stacks.flatMap((s) => s.passes.flatMap((p) => p.probes));
    const reload = all.filter((p) => p.probe === 'reload-under-load' && p.status === 'pass');
    expect(reload.length).toBeGreaterThan(5);
    // None failed — or, for an app server inside the front (mod_wsgi), no more than its
    // catalog entry documents for the front's reload, said so.
    for (const r of reload)
      expect(r.actual).toMatch(/^0 of \d+ requests failed|: [12] failed, within the documented 2 \(/);
    expect(report.stacks[0]!.notes.join('\n')).toMatch(
      /machine \(probe-app pass\): .*booted in \d+ ms, rebooted in \d+ ms/,
    );
  });
});

describeWith({ machine: true, tools: ['nginx', 'uwsgi'], pythonModules: ['flask'] })(
  'verify --target machine interrupted or failing',
  () => {
    it('a stack that cannot start: exit 3 with the install step and journal, nothing left on this host', async () => {
      const snapshot = snapshotHost('failing');
      const dir = mkdtempSync(join(tmpdir(), 'stackgen-machine-broken-'));
      try {
        const file = join(dir, 'broken.yaml');
        writeFileSync(
          file,
          `name: broken\napp:\n  framework: flask\n  entry: no_such_module:app\n  root: ${join(ROOT, 'examples/apps/flask')}\nserve:\n  server: uwsgi\n`,
        );
        const run = await runVerify(['--target', 'machine', file], { timeoutMs: 120_000 });
        const changes = await hostChanges(snapshot, [run.pid]);
        expect(run.code).toBe(3);
        expect(run.stdout).toMatch(/NOT READY/);
        expect(run.stdout).toMatch(/stackgen install/);
        expect(`${run.stdout}${run.stderr}`).toMatch(/no_such_module/);
        expect(changes).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);

    it('Ctrl-C in the middle: the machine is thrown away, nothing of it is left on this host', async () => {
      const snapshot = snapshotHost('interrupted');
      let sent = false;
      const run = await runVerify(['--target', 'machine', '--probe-app', 'examples/flask-uwsgi-nginx.yaml'], {
        onStderr: (text, child) => {
          if (!sent && /✓ app\/reach/.test(text)) {
            sent = true;
            child.kill('SIGINT');
          }
        },
        timeoutMs: 120_000,
      });
      expect(sent).toBe(true);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('SIGINT: stopping everything');
      expect(await hostChanges(snapshot, [run.pid])).toEqual([]);
    }, 120_000);
  },
);

it('--target machine without root: exit 7 and why, nothing started', () => {
  const r = spawnSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      '--import',
      'tsx',
      join(ROOT, 'src/main.ts'),
      'verify',
      '--target',
      'machine',
      'examples/default.yaml',
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, HOME: '/nonexistent' } },
  );
  if (process.getuid?.() !== 0) {
    // Already not root: setpriv cannot switch; the plain run must say the same.
    expect(r.status).not.toBe(0);
    return;
  }
  expect(r.stderr).toMatch(/SG_ERR_MACHINE_UNAVAILABLE: --target machine cannot run here: not root/);
  expect(r.status).toBe(7);
});
