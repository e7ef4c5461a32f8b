// Render a stack for a sandbox site in a fresh temp dir: the same templates as production,
// with pid files, sockets, logs and temp paths moved inside the dir, and every TCP port
// moved to a free loopback port — `nginx -t` binds its listen sockets, so port 80 would fail
// without root, or when the production nginx already holds it. As root the real users
// stay (so `nginx -t` resolves `user www-data` exactly as production will); otherwise they
// become the current user and group, which is all a non-root tool can switch to.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Loaded } from '../cli/shared.js';
import { type Artifact, renderArtifacts } from '../render/artifacts.js';
import { buildPlan, type Plan } from '../render/plan.js';
import { writeArtifacts } from '../render/write.js';
import { ipv6LoopbackAvailable } from '../runtime/sandbox.js';
import { readAccountBook, sandboxAccounts } from '../runtime/users.js';
import { certificateNames, createThrowawayCertificate } from '../tls/throwaway-ca.js';
import { sandboxSite } from '../topology/site.js';
import { allListens } from '../topology/types.js';

/** The repository (or installed package) root: bin/stackgen.js lives under it. */
const PACKAGE_ROOT = resolve(import.meta.dirname, '..', '..');

export interface Sandbox {
  dir: string;
  plan: Plan;
  artifacts: Artifact[];
  /** Remove the sandbox directory. */
  dispose: () => void;
}

/** Render and write the stack for a sandbox site under a new temp dir. */
export async function renderSandbox(l: Loaded, options: { prefix?: string } = {}): Promise<Sandbox> {
  const specPorts = [
    ...new Set(
      l.topology.components.flatMap((c) =>
        allListens(c).flatMap((ep) => (ep.kind === 'tcp' ? [ep.port] : [])),
      ),
    ),
  ];
  const free = await freeLoopbackPorts(specPorts.length);
  const ports = Object.fromEntries(specPorts.map((p, i) => [p, free[i]!]));
  const dir = mkdtempSync(join(tmpdir(), options.prefix ?? `stackgen-check-${l.topology.name}-`));
  try {
    const spec = l.loaded.spec;
    const root = process.getuid?.() === 0;
    const site = sandboxSite(spec, {
      dir,
      // nginx -t loads the certificate: a throwaway one stands in; the tls-files check judges the user's.
      tls:
        spec.proxy.tls === 'off'
          ? null
          : createThrowawayCertificate(dir, certificateNames(spec.proxy.server_name)),
      baseDir: l.loaded.baseDir,
      ports,
      stackgenCommand: [process.execPath, join(PACKAGE_ROOT, 'bin', 'stackgen.js')],
      users: root
        ? sandboxAccounts(readAccountBook(), {
            app: spec.processes.user,
            group: spec.processes.group,
            proxy: spec.proxy.user,
          }).users
        : null,
      currentUser: currentUser(),
      // check never binds (nginx -t): render the IPv6 addresses too, as verify would here.
      ipv6Loopback: await ipv6LoopbackAvailable(),
    });
    const plan = buildPlan(l.topology, site, basename(resolve(l.loaded.file)));
    const artifacts = renderArtifacts(plan);
    writeArtifacts(site.configDir, artifacts, { force: false, source: plan.source });
    return { dir, plan, artifacts, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The current user's name and primary group name (from /etc/group; the gid when unnamed). */
export function currentUser(): { user: string; group: string } {
  const info = userInfo();
  let group = String(info.gid);
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(info.gid));
    if (line) group = line.split(':')[0]!;
  } catch {
    // No /etc/group: a numeric group is still valid for nginx, systemd and supervisor.
  }
  return { user: info.username, group };
}

/** `count` distinct TCP ports free on 127.0.0.1 (all held open together, then released). */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolvePort, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            resolvePort(typeof address === 'object' && address !== null ? address.port : 0);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  }
}
