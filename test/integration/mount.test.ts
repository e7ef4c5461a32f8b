// app.mount for real: `stackgen verify --probe-app` of the mounted stacks under
// test/fixtures/mount/ (nginx over HTTP to gunicorn, uwsgi and SCGI to uWSGI, FastCGI to
// fcgiwrap's CGI; the gateway over HTTP and uwsgi), one matrix run of the CLI. Every probe
// passes with the app below /hg — the mount probe proves the SCRIPT_NAME/PATH_INFO split and
// that nothing outside /hg/ reaches the app; static files answer at their absolute URL —
// and `stackgen check` (nginx -t, gunicorn --check-config, …) accepts each render.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkStack } from '../../src/check/stack.js';
import { loadAndResolve } from '../../src/cli/shared.js';
import { formatCheckResult } from '../../src/report/human.js';
import type { VerifyReport } from '../../src/report/types.js';
import { describeWith } from '../helpers/tools.js';
import { type CliRun, type ProbeAppMatrix, ROOT, verifyProbeApp } from '../helpers/verify-cli.js';

const FIXTURES = join('test', 'fixtures', 'mount');
const STACKS = readdirSync(join(ROOT, FIXTURES))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describeWith({
  tools: ['nginx', 'uwsgi', 'gunicorn', 'fcgiwrap', 'systemd-analyze'],
  pythonModules: ['flask', 'gunicorn'],
})('app.mount: verify --probe-app of the mounted stacks', () => {
  let matrix: ProbeAppMatrix;
  let run: CliRun;
  let report: VerifyReport;

  beforeAll(async () => {
    matrix = await verifyProbeApp(STACKS.map((f) => join(FIXTURES, f)));
    ({ run, report } = matrix);
  }, 240_000);

  afterAll(() => matrix?.dispose());

  for (const [i, file] of STACKS.entries()) {
    it(`${file}: the mount probe and every other probe pass`, () => {
      const stack = report.stacks[i]!;
      expect(stack.file).toBe(join(FIXTURES, file));
      const probes = stack.passes.flatMap((p) => p.probes);
      const failed = probes.filter((p) => p.status === 'fail').map((p) => `${p.key}: ${p.actual}`);
      expect(failed).toEqual([]);
      const mount = probes.find((p) => p.key === 'app/mount');
      expect(mount?.status, mount?.actual).toBe('pass');
      expect(mount?.actual).toContain('SCRIPT_NAME /hg, PATH_INFO /stackgen-verify/mount/x');
      const ran = probes.filter((p) => p.status === 'pass').map((p) => p.key);
      expect(ran).toEqual(expect.arrayContaining(['app/reach', 'app/roundtrip', 'app/concurrency']));
      if (file === 'flask-gunicorn-nginx.yaml') expect(ran).toContain('static /hg/static//static-file');
      if (file === 'wsgi-uwsgi-nginx.yaml') expect(ran).toContain('app/streaming');
    });
  }

  it('exits 0', () => expect(run.code, run.stdout).toBe(0));

  it.concurrent.each(STACKS)('%s passes stackgen check (nginx -t, the servers’ own checks)', async (file) => {
    const l = loadAndResolve(join(ROOT, FIXTURES, file), { cores: 2, quiet: true });
    const result = await checkStack(l, { concurrency: 2 });
    const failures = result.results.filter((r) => r.status === 'fail').map(formatCheckResult);
    expect(failures, failures.join('\n')).toEqual([]);
  });
});
