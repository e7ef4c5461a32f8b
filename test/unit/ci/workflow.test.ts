// The workflow → steps reading `stackgen ci --check` runs, the egress proxy's allowlist, and
// the sudo it gives a GitHub job.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { egressAllowed } from '../../../src/ci/egress.js';
import { parseWorkflow } from '../../../src/ci/workflow.js';
import { isStackgenError } from '../../../src/errors.js';

const GITHUB = `
name: x
on: push
jobs:
  verify:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - name: Install
        run: |
          echo one
          echo two
      - run: echo unnamed
      - name: Publish
        if: \${{ always() }}
        run: echo report
`;

describe('parseWorkflow', () => {
  it('GitHub: uses and run steps in order, with names, inputs and conditions', () => {
    const job = parseWorkflow('github', GITHUB);
    expect(job.id).toBe('verify');
    expect(job.runsOn).toBe('ubuntu-24.04');
    expect(job.steps.map((s) => [s.kind, s.name, s.when])).toEqual([
      ['uses', 'actions/checkout@v4', 'success'],
      ['uses', 'actions/setup-node@v4', 'success'],
      ['run', 'Install', 'success'],
      ['run', 'echo unnamed', 'success'],
      ['run', 'Publish', 'always'],
    ]);
    expect(job.steps[1]).toMatchObject({ with: { 'node-version': '20' } });
    expect(job.steps[2]).toMatchObject({ script: 'echo one\necho two\n' });
  });

  it("GitHub: each run step gets the runner's shell — bash -e without shell:, pipefail with shell: bash (step, job or workflow defaults)", () => {
    const shells = (text: string) =>
      parseWorkflow('github', text).steps.flatMap((s) => (s.kind === 'run' ? [s.shell.join(' ')] : []));
    const PIPEFAIL = 'bash --noprofile --norc -eo pipefail';
    expect(shells(GITHUB)).toEqual(['bash -e', 'bash -e', 'bash -e']);
    expect(
      shells(GITHUB.replace('      - run: echo unnamed', '      - run: echo unnamed\n        shell: sh')),
    ).toEqual(['bash -e', 'sh -e', 'bash -e']);
    const jobDefaults = GITHUB.replace(
      '    steps:',
      '    defaults:\n      run:\n        shell: bash\n    steps:',
    );
    expect(shells(jobDefaults)).toEqual([PIPEFAIL, PIPEFAIL, PIPEFAIL]);
    const docDefaults = GITHUB.replace('on: push', 'on: push\ndefaults: {run: {shell: bash}}');
    expect(shells(docDefaults)).toEqual([PIPEFAIL, PIPEFAIL, PIPEFAIL]);
    expect(() =>
      shells(GITHUB.replace('      - run: echo unnamed', '      - run: echo unnamed\n        shell: pwsh')),
    ).toThrow(/shell: pwsh is not one --check runs/);
  });

  it('GitHub: a job in a container, or a condition it cannot evaluate, is refused with SG_ERR_CI_STEP_FAILED', () => {
    for (const text of [
      GITHUB.replace('runs-on: ubuntu-24.04', 'runs-on: ubuntu-24.04\n    container: debian:bookworm'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
      GITHUB.replace('${{ always() }}', "github.ref == 'main'"),
    ]) {
      let err: unknown;
      try {
        parseWorkflow('github', text);
      } catch (e) {
        err = e;
      }
      expect(isStackgenError(err, 'SG_ERR_CI_STEP_FAILED')).toBe(true);
    }
  });

  it('GitLab: before_script then script lines, the image, the JUnit report', () => {
    const job = parseWorkflow(
      'gitlab',
      `stackgen-verify:
  image: node:20-bookworm
  before_script: [apt-get update, "echo \\"a: b\\""]
  script:
    - stackgen verify stack.yaml --junit r.xml
  artifacts: {reports: {junit: r.xml}}
.hidden: {script: [x]}
`,
    );
    expect(job.runsOn).toBe('node:20-bookworm');
    expect(job.steps.map((s) => (s.kind === 'run' ? s.script : ''))).toEqual([
      'apt-get update',
      'echo "a: b"',
      'stackgen verify stack.yaml --junit r.xml',
    ]);
    expect(job.reports).toEqual(['r.xml']);
  });
});

describe('egressAllowed', () => {
  it('lets the package registries through and nothing else', () => {
    expect(egressAllowed('registry.npmjs.org', 443)).toBe(true);
    expect(egressAllowed('deb.debian.org', 80)).toBe(true);
    expect(egressAllowed('pypi.org', 443)).toBe(false);
    expect(egressAllowed('github.com', 443)).toBe(false);
    expect(egressAllowed('registry.npmjs.org', 22)).toBe(false);
  });
});

describe('the sudo --check puts on the machine', () => {
  it('drops its options and resets PATH to secure_path, as the runner’s sudo does', async () => {
    const { SUDO_SHIM } = await import('../../../src/ci/check.js');
    const dir = mkdtempSync(join(tmpdir(), 'stackgen-sudo-shim-'));
    try {
      writeFileSync(join(dir, 'sudo'), SUDO_SHIM, { mode: 0o755 });
      writeFileSync(join(dir, 'only-on-my-path'), '#!/bin/sh\necho found\n', { mode: 0o755 });
      const env = { PATH: `${dir}:/usr/bin:/bin` };
      const run = (args: string[]) => spawnSync(join(dir, 'sudo'), args, { env, encoding: 'utf8' });
      // A program on the caller's PATH only is not found under sudo…
      expect(run(['-E', 'only-on-my-path']).status).toBe(127);
      // …unless the step hands its PATH over, as the generated workflow does.
      const handed = run(['env', `PATH=${env.PATH}`, 'only-on-my-path']);
      expect(handed.stdout.trim()).toBe('found');
      expect(run(['sh', '-c', 'echo $PATH']).stdout.trim()).toBe(
        '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
