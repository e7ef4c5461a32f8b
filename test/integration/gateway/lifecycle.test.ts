// Process lifecycle of the real gateway CLI: SIGHUP reload without dropping requests,
// a bad config on reload, SIGTERM graceful drain, and the node:cluster mode.

import { readdirSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../../helpers/gateway-process.js';
import { httpCall } from '../../helpers/http-client.js';
import { isAlive, startProcess } from '../../helpers/processes.js';

/** Direct children of a process, from /proc (to prove cluster workers are gone). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {}
  }
  return out;
}

const waitExit = (g: RunningGateway) =>
  new Promise<number | null>((resolve) => {
    if (g.proc.child.exitCode !== null) resolve(g.proc.child.exitCode);
    else g.proc.child.once('exit', (code) => resolve(code));
  });

describe('gateway lifecycle', () => {
  let dir: string;
  let backend: Server;
  let backendPort: number;
  let gateway: RunningGateway | null = null;

  const writeConfig = (extra: { header: string; workers?: number; broken?: boolean }) =>
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `listen: ["127.0.0.1:0"]
workers: ${extra.workers ?? 1}
timeouts: {shutdown: 5s}
security_headers: {X-Generation: ${extra.header}}
locations:
  - {path: /, upstream: ["http://127.0.0.1:${backendPort}"]}
${extra.broken ? 'nonsense: [' : ''}`,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-gw-life-'));
    backend = createServer((req, res) => {
      const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0);
      setTimeout(() => res.end(`pid ${process.pid} after ${ms}\n`), ms);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    backendPort = (backend.address() as { port: number }).port;
  });
  afterEach(async () => {
    await gateway?.proc.stop();
    gateway = null;
  });
  afterAll(() => {
    backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGHUP swaps the config without dropping in-flight requests or keep-alive connections', async () => {
    writeConfig({ header: 'one' });
    gateway = await startGateway(['--config', join(dir, 'gateway.yaml')]);
    const g = gateway;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const viaAgent = () =>
      new Promise<{ gen: string | undefined; socketReused: boolean }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: g.port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ gen: res.headers['x-generation'] as string, socketReused: req.reusedSocket }),
          );
        });
        req.on('error', reject);
        req.end();
      });
    expect((await viaAgent()).gen).toBe('one');
    const inFlight = httpCall(g.port, { path: '/slow?ms=1500' });
    await new Promise((r) => setTimeout(r, 200));
    writeConfig({ header: 'two' });
    process.kill(g.proc.pid, 'SIGHUP');
    await g.waitForOutput(/reloaded /);
    const slow = await inFlight;
    expect(slow.status).toBe(200);
    const after = await viaAgent();
    expect(after).toEqual({ gen: 'two', socketReused: true });
    agent.destroy();
  });

  it('keeps the running config when the new file is invalid', async () => {
    writeConfig({ header: 'good' });
    gateway = await startGateway(['--config', join(dir, 'gateway.yaml')]);
    writeConfig({ header: 'bad', broken: true });
    process.kill(gateway.proc.pid, 'SIGHUP');
    await gateway.waitForOutput(/SIGHUP: keeping the running config: .*gateway\.yaml:\d+:\d+/);
    const res = await httpCall(gateway.port, { path: '/' });
    expect(res.headers['x-generation']).toBe('good');
  });

  it('SIGTERM stops accepting, finishes the in-flight request, then exits 0', async () => {
    writeConfig({ header: 'x' });
    gateway = await startGateway(['--config', join(dir, 'gateway.yaml')]);
    const g = gateway;
    const inFlight = httpCall(g.port, { path: '/slow?ms=1500' });
    await new Promise((r) => setTimeout(r, 200));
    const exited = waitExit(g);
    process.kill(g.proc.pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    await expect(httpCall(g.port, { path: '/' })).rejects.toThrow(/ECONNREFUSED/);
    const slow = await inFlight;
    expect(slow.status).toBe(200);
    expect(slow.body.toString()).toContain('after 1500');
    expect(await exited).toBe(0);
  });

  it('runs N cluster workers, reloads them all on SIGHUP, and leaves none behind on SIGTERM', async () => {
    writeConfig({ header: 'c1', workers: 2 });
    gateway = await startGateway(['--config', join(dir, 'gateway.yaml')]);
    const g = gateway;
    expect(g.proc.output()).toMatch(/\(2 workers\)/);
    const workers = childPids(g.proc.pid);
    expect(workers).toHaveLength(2);
    writeConfig({ header: 'c2', workers: 2 });
    process.kill(g.proc.pid, 'SIGHUP');
    await g.waitForOutput(/reloaded [\s\S]*reloaded /);
    const gens = await Promise.all(
      Array.from({ length: 20 }, () =>
        httpCall(g.port, { path: '/' }).then((r) => r.headers['x-generation']),
      ),
    );
    expect(new Set(gens)).toEqual(new Set(['c2']));
    const exited = waitExit(g);
    process.kill(g.proc.pid, 'SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of workers) expect(isAlive(pid)).toBe(false);
  });

  it('listens on 0.0.0.0 and [::] on one port (IPv6-only listener), in cluster mode; other Hosts get 421', async (ctx) => {
    const probe = createServer();
    const v6 = await new Promise<boolean>((r) => {
      probe.once('error', () => r(false));
      probe.listen(0, '::', () => r(true));
    });
    const port = v6 ? (probe.address() as { port: number }).port : 0;
    await new Promise((r) => probe.close(r));
    if (!v6) ctx.skip();
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `listen: ["0.0.0.0:${port}", "[::]:${port}"]
server_name: shop.example
hosts: [shop.example]
workers: 2
locations:
  - {path: /, upstream: ["http://127.0.0.1:${backendPort}"]}
`,
    );
    gateway = await startGateway(['--config', join(dir, 'gateway.yaml')]);
    expect(gateway.proc.output()).toContain(`http://0.0.0.0:${port}, http://[::]:${port} (2 workers)`);
    const get = (host: string, hostHeader: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host, port, path: '/', headers: { Host: hostHeader }, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get('127.0.0.1', 'shop.example')).toBe(200);
    expect(await get('::1', 'shop.example')).toBe(200);
    expect(await get('::1', 'other.example')).toBe(421);
    expect(await get('127.0.0.1', 'SHOP.example:80')).toBe(200);
  });

  it('refuses a second gateway on a busy port with the listen exit code', async () => {
    writeConfig({ header: 'x' });
    gateway = await startGateway(['--config', join(dir, 'gateway.yaml')]);
    const busy = startProcess(process.execPath, [
      '--import',
      'tsx',
      'src/main.ts',
      'gateway',
      '--listen',
      `127.0.0.1:${gateway.port}`,
      '--upstream',
      'http://127.0.0.1:1',
    ]);
    const code = await new Promise((resolve) => busy.child.once('exit', resolve));
    expect(code).toBe(3);
    expect(busy.output()).toMatch(/SG_ERR_GATEWAY_LISTEN.*cannot listen on 127\.0\.0\.1:\d+/);
  });
});
