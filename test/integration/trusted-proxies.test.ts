// proxy.trusted_proxies, proven on real fronts: a stack that trusts 127.0.0.2 as its load
// balancer. The headers probe sends the same spoofed X-Forwarded-For: 6.6.6.6 and
// X-Forwarded-Proto: https from 127.0.0.2 (trusted: the app must see 6.6.6.6 and https) and
// from 127.0.0.3 (not trusted: the app must see 127.0.0.3 and http). nginx (realip + the
// geo on $realip_remote_addr) over HTTP to gunicorn and over the uwsgi protocol to uWSGI,
// and the stackgen gateway over HTTP.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/report/types.js';
import { describeWith } from '../helpers/tools.js';
import { ROOT, removeAnnouncedSandboxes, runVerify } from '../helpers/verify-cli.js';

const APP_ROOT = join(ROOT, 'examples', 'apps', 'wsgi');

const STACKS: Record<string, string> = {
  'nginx-gunicorn': 'serve: {server: gunicorn}\nproxy: {kind: nginx, protocol: http',
  'nginx-uwsgi': 'serve: {server: uwsgi}\nproxy: {kind: nginx, protocol: uwsgi',
  'gateway-wsgiref':
    'serve: {server: wsgiref, concurrency: threads, threads: 4}\nproxy: {kind: gateway, protocol: http',
};

// processes.manager none runs the app server with the caller's PATH: Debian's python3 by its
// path, so that a root's pyenv shim first on PATH (seen on this machine: Python 3.11 without
// gunicorn) cannot stand in for it.
function stackYaml(name: string, serveAndProxy: string): string {
  return [
    `name: lb-${name}`,
    `app: {framework: wsgi, entry: "app:application", root: ${JSON.stringify(APP_ROOT)}, python: /usr/bin/python3}`,
    `${serveAndProxy}, trusted_proxies: ["127.0.0.2/32"]}`,
    'processes: {manager: none}',
    '',
  ].join('\n');
}

describeWith({ tools: ['nginx', 'uwsgi', 'gunicorn'], pythonModules: ['gunicorn'] })(
  'proxy.trusted_proxies: forwarding headers believed only from the load balancer',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackgen-trusted-'));
    const files = Object.entries(STACKS).map(([name, body]) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, stackYaml(name, body));
      return file;
    });
    let report: VerifyReport;

    beforeAll(async () => {
      const run = await runVerify([
        '--probe-app',
        '--only',
        'app',
        '--json',
        join(dir, 'report.json'),
        ...files,
      ]);
      expect(run.code, run.stdout + run.stderr).not.toBeNull();
      report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as VerifyReport;
    }, 240_000);

    afterAll(() => {
      removeAnnouncedSandboxes();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const [i, name] of Object.keys(STACKS).entries()) {
      it(`${name}: the balancer's word from 127.0.0.2, the connection from 127.0.0.3`, () => {
        const probes = report.stacks[i]!.passes.flatMap((p) => p.probes);
        const headers = probes.find((p) => p.key === 'app/headers');
        expect(headers?.status, headers?.actual).toBe('pass');
        expect(headers?.actual).toContain('from 127.0.0.2: REMOTE_ADDR 6.6.6.6, scheme https');
        expect(headers?.actual).toContain('from 127.0.0.3: REMOTE_ADDR 127.0.0.3, scheme http');
      });
    }
  },
);
