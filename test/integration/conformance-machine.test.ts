// The same third-party apps and clients as conformance.test.ts, on a throwaway Debian host:
// each stack installed with `stackgen install` (production render, systemd, Debian's nginx,
// app.writable given to the app user under the unit's hardening), the clients run from
// inside the machine, then `stackgen uninstall`. One machine for the whole suite.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bootMachine, type Machine } from '../../src/runtime/machine.js';
import type { CaseResult } from '../helpers/conformance.js';
import { CONFORMANCE_STACKS, conformanceYaml, stageConformanceApp } from '../helpers/conformance-stacks.js';
import { hostChanges, snapshotHost } from '../helpers/host-state.js';
import { describeWith } from '../helpers/tools.js';
import { ROOT, TSX_IMPORT } from '../helpers/verify-cli.js';

describeWith({
  machine: true,
  tools: ['nginx', 'uwsgi', 'gunicorn', 'fcgiwrap', 'hg'],
  pythonModules: ['httpbin', 'radicale', 'mercurial'],
})('third-party apps on every path (machine)', () => {
  const snapshot = snapshotHost('conformance-machine');
  let m: Machine;
  const node = (...args: string[]) =>
    // Host paths as the machine sees them (a checkout under /tmp is bound elsewhere).
    m.exec(m.insideArgv([process.execPath, '--import', TSX_IMPORT, ...args]), { timeoutMs: 300_000 });

  beforeAll(async () => {
    m = await bootMachine({ visible: [ROOT] });
  }, 60_000);

  afterAll(async () => {
    await m?.dispose();
    expect(await hostChanges(snapshot)).toEqual([]);
  });

  // One machine with Debian's nginx on port 80 serves every stack in turn; an Apache stack
  // needs apache2.service unmasked and nginx masked (machineMasks), a machine of its own — its
  // third-party apps run in the sandbox suite, and the Apache examples on machines of their own.
  for (const s of CONFORMANCE_STACKS.filter((c) => c.path.proxy !== 'apache')) {
    it(`${s.app} via ${s.path.proxy} → ${s.path.protocol}${s.mount ? ` mounted at ${s.mount}` : ''}`, async () => {
      const dir = `/srv/conformance/${s.name}`;
      await stageConformanceApp(s, m.path(`${dir}/app`), `${dir}/app`, undefined, async (argv) => {
        const r = await m.exec(argv);
        if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
      });
      writeFileSync(m.path(`${dir}/stack.yaml`), conformanceYaml(s, `${dir}/app`));
      const install = await node(join(ROOT, 'src/main.ts'), 'install', `${dir}/stack.yaml`);
      expect(install.code, `${install.stdout}\n${install.stderr}`).toBe(0);
      try {
        const port = s.path.proxy === 'gateway' ? '8080' : '80';
        const r = await node(
          join(ROOT, 'test/helpers/conformance.ts'),
          s.app,
          '127.0.0.1',
          port,
          `${dir}/client`,
          s.mount ?? '',
        );
        expect(r.code, r.stderr).toBe(0);
        const results = JSON.parse(r.stdout) as CaseResult[];
        expect(
          results
            .filter((x) => !x.ok)
            .map((x) => `${x.name}: ${x.detail}`)
            .join('\n'),
        ).toBe('');
        expect(results.length).toBeGreaterThan(0);
      } finally {
        const u = await node(join(ROOT, 'src/main.ts'), 'uninstall', `${dir}/stack.yaml`);
        expect(u.code, `${u.stdout}\n${u.stderr}`).toBe(0);
      }
    }, 180_000);
  }
});
