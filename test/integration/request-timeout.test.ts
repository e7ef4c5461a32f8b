// The timeouts are in order on real servers: a request running past serve.timeout (2 s in
// these test stacks) gets uWSGI's harakiri, gunicorn's sync-worker kill or php-fpm's
// request_terminate_timeout — a 502 from the front, nginx or the gateway — before the front's
// read timeout (serve.timeout + 5 s) would answer 504, and the app server serves again. With the old pairing (read = serve.timeout,
// as 60 s / 60 s was) the same probe saw 504 from the front in 8 of 8 runs.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/report/types.js';
import { describeWith } from '../helpers/tools.js';
import { type CliRun, type ProbeAppMatrix, verifyProbeApp } from '../helpers/verify-cli.js';

const DIR = join('test', 'fixtures', 'timeouts');
const STACKS = readdirSync(join(import.meta.dirname, '..', 'fixtures', 'timeouts'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describeWith({ tools: ['nginx', 'uwsgi', 'gunicorn', 'php-fpm8.2'], pythonModules: ['flask', 'gunicorn'] })(
  'request-timeout: the app server kills first',
  () => {
    let matrix: ProbeAppMatrix;
    let run: CliRun;
    let report: VerifyReport;

    beforeAll(async () => {
      matrix = await verifyProbeApp(STACKS.map((f) => join(DIR, f)));
      ({ run, report } = matrix);
    }, 180_000);

    afterAll(() => matrix?.dispose());

    for (const [i, file] of STACKS.entries()) {
      it(`${file}: 502 from the front between serve.timeout and its read timeout, then 200`, () => {
        const stack = report.stacks[i]!;
        const probe = stack.passes.flatMap((p) => p.probes).find((p) => p.key === 'app/request-timeout');
        expect(probe?.status, probe?.actual).toBe('pass');
        expect(probe?.actual).toMatch(/^502 after \d+ ms .*then 200$/);
        expect(stack.outcome, run.stdout).toBe('pass');
      });
    }
  },
);
