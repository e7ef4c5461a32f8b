// `stackgen ci --check` for both providers on three examples: the generated workflow is run
// step by step on a throwaway machine (the machine target's), so a workflow that cannot
// pass fails here. And one that cannot: the old unpinned `npm install --global stackgen`
// fails the check, naming its step, with exit code 8.

import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { describeWith } from '../helpers/tools.js';
import { ROOT, TSX_IMPORT } from '../helpers/verify-cli.js';

const work = mkdtempSync(join(tmpdir(), 'stackgen-ci-check-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The newest modification time below a directory. */
function newest(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => statSync(join(e.parentPath, e.name)).mtimeMs),
  );
}

// The default install source packs dist/: make sure it is this checkout's code.
beforeAll(() => {
  if (newest(join(ROOT, 'src')) > newest(join(ROOT, 'dist')))
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}, 120_000);

/** A repository holding one example as its stack.yaml, with the example's app. */
function repository(example: string, app: string): string {
  const dir = join(work, `${example}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(join(ROOT, 'examples', `${example}.yaml`), join(dir, 'stack.yaml'));
  cpSync(join(ROOT, 'examples', 'apps', app), join(dir, 'apps', app), { recursive: true });
  return dir;
}

function ci(
  repo: string,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', TSX_IMPORT, join(ROOT, 'src/main.ts'), 'ci', ...args],
      {
        cwd: repo,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const EXAMPLES = [
  { example: 'default', app: 'wsgi' },
  { example: 'fastapi-uvicorn-direct', app: 'fastapi' },
  // Debian's apache2.service runs the stack: the runner's machine must not mask it (a real
  // runner masks nothing, and the machine target booted inside inherits the runner's masks).
  { example: 'php-fpm-apache', app: 'php' },
];

describeWith({ machine: true, tools: ['npm'] })('stackgen ci --check', () => {
  for (const { example, app } of EXAMPLES) {
    for (const provider of ['github', 'gitlab'] as const) {
      it(`${provider} workflow for ${example} passes every step`, async () => {
        const repo = repository(example, app);
        const r = await ci(repo, '--provider', provider, 'stack.yaml', '--check');
        expect(r.stdout, r.stderr).toContain(': PASS');
        expect(r.code, r.stderr).toBe(0);
        // Every run: step ran (none skipped), the verify steps among them.
        expect(r.stdout).not.toMatch(/^ {2}(FAIL|skip) /m);
        expect(r.stdout).toMatch(
          /^ {2}ok .*stackgen verify stack\.yaml --junit|^ {2}ok .*Verify in the sandbox/m,
        );
        if (provider === 'github') expect(r.stdout).toMatch(/^ {2}ok .*Verify on a throwaway machine$/m);
        // The steps and their times, for the log (the README's table is taken from such runs).
        console.log(r.stdout.slice(r.stdout.indexOf('stackgen ci --check')));
      }, 240_000);
    }
  }

  it('an unpinned `npm install --global stackgen` fails the check at that step (exit 8)', async () => {
    const repo = repository('default', 'wsgi');
    const first = await ci(repo, '--provider', 'gitlab', 'stack.yaml');
    expect(first.code, first.stderr).toBe(0);
    // The old template's install line, by hand (--force: the file is now "edited").
    const file = join(repo, '.gitlab-ci.yml');
    const text = readFileSync(file, 'utf8').replace(
      / {4}- "npm install --global .*"\n/,
      '    - npm install --global stackgen\n',
    );
    expect(text).toContain('- npm install --global stackgen\n');
    writeFileSync(file, text);
    const { checkWorkflow } = await import('../../src/ci/check.js');
    const { parseWorkflow } = await import('../../src/ci/workflow.js');
    const report = await checkWorkflow({ job: parseWorkflow('gitlab', text), repoDir: repo });
    const failed = report.steps.find((s) => s.status === 'failed');
    expect(failed?.name).toBe('npm install --global stackgen');
    expect(failed?.exitCode).not.toBe(0);
    // npm's answer for a name nobody published (or, offline, the refused egress).
    expect(failed?.tail).toMatch(/E404|404 Not Found|egress refused/);
    expect(
      report.steps
        .slice(report.steps.indexOf(failed!) + 1)
        .every((s) => s.status === 'skipped' || s.name.startsWith('artifacts')),
    ).toBe(true);
    expect(EXIT_CODES.workflowFailed).toBe(8);
  }, 240_000);

  it("a failed verify fails its GitHub step through `| tee` (shell: bash is pipefail; the runner's default bash -e would pass it)", async () => {
    const repo = repository('default', 'wsgi');
    const spec = join(repo, 'stack.yaml');
    writeFileSync(spec, readFileSync(spec, 'utf8').replace(`'"hello": "wsgi"'`, `'"hello": "nobody"'`));
    const first = await ci(repo, '--provider', 'github', 'stack.yaml');
    expect(first.code, first.stderr).toBe(0);
    const text = readFileSync(join(repo, '.github/workflows/stackgen-verify.yml'), 'utf8');
    expect(text).toMatch(/^ {4}defaults:\n {6}run:\n {8}shell: bash\n/m);
    const { checkWorkflow } = await import('../../src/ci/check.js');
    const { parseWorkflow } = await import('../../src/ci/workflow.js');
    const sandboxStep = async (workflow: string) =>
      (await checkWorkflow({ job: parseWorkflow('github', workflow), repoDir: repo })).steps.find(
        (st) => st.name === 'Verify in the sandbox',
      );
    const generated = await sandboxStep(text);
    expect(generated?.status).toBe('failed');
    expect(generated?.tail).toMatch(/FAIL/);
    // The same file without its defaults: GitHub's `bash -e` takes tee's exit status.
    const unpiped = await sandboxStep(text.replace(/^ {4}defaults:\n {6}run:\n {8}shell: bash\n/m, ''));
    expect(unpiped?.status).toBe('ok');
  }, 400_000);
});
