// `stackgen doctor` against this machine: a stack whose programs and modules are installed
// reports them with versions and exits 0; one whose interpreter does not exist reports every
// module missing, the install command, and exits 5.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { describeWith } from '../helpers/tools.js';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'stackgen-doctor-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function doctor(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'doctor', ...args], {
      cwd: ROOT,
    });
    return { code: 0, stdout: r.stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describeWith({ tools: ['nginx', 'uwsgi', 'systemd-analyze'], pythonModules: ['flask'] })(
  'stackgen doctor',
  () => {
    it('finds every program with a version that meets the catalog minimum, and exits 0', async () => {
      const r = await doctor('examples/flask-uwsgi-nginx.yaml');
      expect(r.stdout).toMatch(/^ {2}ok +nginx +\d+\.\d+\.\d+ +≥ 1\.18\.0 +nginx-light/m);
      expect(r.stdout).toMatch(/^ {2}ok +uwsgi +2\.\d+\.\d+ +≥ 2\.0\.18 +uwsgi-core/m);
      expect(r.stdout).toMatch(/^ {2}ok +uwsgi plugin python3 /m);
      expect(r.stdout).toMatch(/^ {2}ok +flask +\d+\.\d+/m);
      expect(r.stdout).toContain('all 5 requirements are present');
      expect(r.code).toBe(EXIT_CODES.ok);
    });

    it('reports a missing interpreter and its modules with the apt-get command, and exits 5', async () => {
      const spec = join(work, 'stack.yaml');
      writeFileSync(
        spec,
        [
          'name: nopython',
          'app: {framework: flask, root: /tmp, venv: /nonexistent/stackgen-venv}',
          'serve: {server: gunicorn, concurrency: gevent}',
          'proxy: {kind: nginx}',
          '',
        ].join('\n'),
      );
      const r = await doctor(spec);
      expect(r.code).toBe(EXIT_CODES.missingTool);
      expect(r.stdout).toMatch(/^ {2}MISSING +\/nonexistent\/stackgen-venv\/bin\/python /m);
      expect(r.stdout).toContain('python modules (/nonexistent/stackgen-venv/bin/python):');
      expect(r.stdout).toMatch(/^ {2}MISSING +gevent +- +any +python3-gevent/m);
      const root = process.getuid?.() === 0;
      expect(r.stdout).toContain(
        `install with:\n  ${root ? '' : 'sudo '}apt-get install -y gunicorn python3 python3-flask python3-gevent\n`,
      );
    });
  },
);
