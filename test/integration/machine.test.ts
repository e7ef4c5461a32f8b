// The throwaway machine itself: it boots systemd as PID 1 on an overlay of this host with
// Debian's stock nginx serving its default site, has its own network, survives a power
// cycle on the same disk layer — and leaves this host exactly as it was, after a normal
// end and after the process that owned it was killed outright (SIGKILL).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BOOT, bootMachine, type Machine, machineProcesses } from '../../src/runtime/machine.js';
import { DEBIAN_DEFAULT_SITE, hostChanges, snapshotHost } from '../helpers/host-state.js';
import { describeWith } from '../helpers/tools.js';
import { ROOT } from '../helpers/verify-cli.js';

const fetchInside = (m: Machine, url: string) =>
  m.exec([
    '/usr/bin/python3',
    '-c',
    'import sys, urllib.request\ntry:\n  r = urllib.request.urlopen(sys.argv[1], timeout=5)\n  print(r.status, r.read().decode()[:300])\nexcept Exception as e:\n  print("error", e)',
    url,
  ]);

it('the boot script refuses to start systemd on a root without the throwaway marker', () => {
  // Safe anywhere: the marker check comes before any mount or exec.
  const dir = mkdtempSync(join(tmpdir(), 'stackgen-no-marker-'));
  try {
    const r = spawnSync('/bin/sh', ['-c', BOOT, 'machine-boot', dir], { encoding: 'utf8' });
    expect(r.status).toBe(97);
    expect(r.stderr).toMatch(/refusing to start systemd on anything but the throwaway layer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describeWith({ machine: true, tools: ['nginx'] })('a throwaway machine', () => {
  const snapshot = snapshotHost('machine');
  let machine: Machine;
  const hostService = createServer((s) => s.end('host\n'));

  beforeAll(async () => {
    await new Promise<void>((done) => hostService.listen(0, '127.0.0.1', done));
    machine = await bootMachine({ visible: [ROOT] });
  }, 60_000);

  afterAll(async () => {
    await machine?.dispose();
    hostService.close();
  });

  it('boots systemd as PID 1 to "running", in a few seconds', async () => {
    expect(machine.state).toBe('running');
    expect(machine.bootMs).toBeLessThan(30_000);
    const pid1 = await machine.exec(['cat', '/proc/1/comm']);
    expect(pid1.stdout.trim()).toBe('systemd');
  });

  it("serves Debian's default nginx site on port 80, as a fresh Debian server does", async () => {
    const r = await fetchInside(machine, 'http://127.0.0.1/');
    expect(r.stdout).toMatch(DEBIAN_DEFAULT_SITE);
  });

  it("has its own network: this host's loopback services are not reachable", async () => {
    const port = (hostService.address() as { port: number }).port;
    const r = await fetchInside(machine, `http://127.0.0.1:${port}/`);
    expect(r.stdout).toMatch(/^error/);
  });

  it('sees this checkout, and writes only to its own layer', async () => {
    const r = await machine.exec([
      'sh',
      '-c',
      `test -f ${machine.inside(ROOT)}/package.json && echo seen; echo x > /etc/stackgen-layer-test; cat /etc/stackgen-layer-test`,
    ]);
    expect(r.stdout).toBe('seen\nx');
    expect(spawnSync('test', ['-e', '/etc/stackgen-layer-test']).status).toBe(1);
  });

  it('comes back from a power cycle with its disk layer kept and /run empty again', async () => {
    await machine.exec([
      'sh',
      '-c',
      'echo kept > /root/stackgen-reboot-test; echo gone > /run/stackgen-reboot-test',
    ]);
    const before = machine.pid;
    await machine.reboot();
    expect(machine.pid).not.toBe(before);
    expect(machine.state).toBe('running');
    const r = await machine.exec([
      'sh',
      '-c',
      'cat /root/stackgen-reboot-test; cat /run/stackgen-reboot-test 2>&1 || true',
    ]);
    expect(r.stdout).toMatch(/^kept\n.*No such file/s);
  });

  it('is thrown away leaving this host as it was (/tmp marker, mounts, processes)', async () => {
    await machine.dispose();
    expect(await hostChanges(snapshot)).toEqual([]);
  });

  it('dies with the process that owns it, even killed with SIGKILL, and leaves nothing', async () => {
    const s = snapshotHost('sigkill');
    const script = [
      "import { bootMachine } from './src/runtime/machine.ts';",
      'const m = await bootMachine({ visible: [process.cwd()] });',
      "process.stdout.write('booted ' + m.pid + '\\n');",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid1 = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = /booted (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error('the child exited before booting')));
    });
    expect(machineProcesses([child.pid!])).toContain(pid1);
    child.kill('SIGKILL');
    expect(await hostChanges(s, [child.pid!])).toEqual([]);
  }, 60_000);
});
