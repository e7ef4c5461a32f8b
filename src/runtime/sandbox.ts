// The sandbox a stack is proven in: one temp dir under /tmp holding the rendered files
// (the SAME templates as production, rendered for the sandbox Site), sockets, logs and
// nginx's temp files; free loopback ports in place of the spec's ports. As root the real
// users are kept, so a proxy that cannot open the app socket fails here as in production.

import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Artifact, renderArtifacts } from '../render/artifacts.js';
import { buildPlan, type Plan } from '../render/plan.js';
import { writeArtifacts } from '../render/write.js';
import { PROBE_APPS, PROBE_COMMON_DIR, PROBE_COMMON_MODULE } from '../probes/contract.js';
import { type ProbeSubstitution, probeFrameworkFor, substituteProbeApp } from '../probes/substitute.js';
import type { LoadedSpec } from '../stack/parse.js';
import { certificateNames, createThrowawayCertificate } from '../tls/throwaway-ca.js';
import { resolveTopology } from '../topology/resolve.js';
import { sandboxSite } from '../topology/site.js';
import { allListens, type Topology } from '../topology/types.js';
import { type AccountBook, currentUser, resolveIds, sandboxAccounts } from './users.js';

const TEMPLATES = resolve(fileURLToPath(new URL('../../templates', import.meta.url)));

export interface SandboxOptions {
  probeApp: boolean;
  cores: number;
  /** --cores was given: `auto` is rendered for `cores` instead of counted by the server. */
  coresPinned?: boolean | undefined;
  /** Argv prefix that runs this stackgen (for the gateway's launch). */
  stackgenCommand: string[];
  book: AccountBook;
  /** Test seam: spec port → sandbox port, instead of a free port. */
  portOverrides?: Record<number, number> | undefined;
  /** Test seam: alter the rendered files (e.g. point the proxy at the wrong socket). */
  mutateArtifacts?: ((artifacts: Artifact[], plan: Plan) => Artifact[]) | undefined;
}

/**
 * What the static-file probe fetches under one URL prefix: a file placed in (or found in)
 * the static directory, or why there is none (`href` null).
 */
export interface StaticFixture {
  url: string;
  dir: string;
  /** URL path of the file; null when the directory is missing or holds no file. */
  href: string | null;
  content: Buffer;
  /** URL path of a dotfile in the directory (`.env`, `.gitignore`), which must never be served; null when there is none. */
  dotfileHref: string | null;
  /** Why there is nothing to fetch: the directory does not exist, or it has no file. */
  absent?: 'missing' | 'empty' | undefined;
}

export interface Sandbox {
  dir: string;
  plan: Plan;
  topology: Topology;
  probe: ProbeSubstitution | null;
  /** Users from stack.yaml mapped to the current user (verify not run as root). */
  usersMapped: boolean;
  /** Accounts only `stackgen install` creates, replaced by stand-ins for this run (users.ts sandboxAccounts). */
  standIns: string[];
  staticFixtures: StaticFixture[];
}

type Listener = ReturnType<typeof createServer>;

function listenAt(port: number, host: string): Promise<Listener | null> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(null));
    server.listen(port, host, () => done(server));
  });
}

const closeAll = (servers: Array<Listener | null>) =>
  Promise.all(servers.map((s) => (s ? new Promise((done) => s.close(done)) : null)));

/** Does this host's loopback take IPv6 (`::1`)? A container or a host with IPv6 disabled has none. */
export async function ipv6LoopbackAvailable(): Promise<boolean> {
  const server = await listenAt(0, '::1');
  if (server === null) return false;
  await closeAll([server]);
  return true;
}

/** Hold a port on 127.0.0.1 (and on ::1 too when `v6`: the front listens on both); null when taken. */
async function listenOn(port: number, v6: boolean): Promise<Listener[] | null> {
  const v4 = await listenAt(port, '127.0.0.1');
  if (v4 === null || !v6) return v4 ? [v4] : null;
  const actual = (v4.address() as AddressInfo).port;
  const six = await listenAt(actual, '::1');
  if (six === null) {
    await closeAll([v4]);
    return null;
  }
  return [v4, six];
}

/**
 * Blocks of consecutive loopback ports, free right now and held open together so no two
 * overlap. Consecutive because per-port instances are numbered by port (supervisor's
 * numprocs_start, systemd's app@PORT): instance N listens on port N. With `v6` each port is
 * free on ::1 as well.
 */
export async function freePortBlocks(sizes: number[], v6 = false): Promise<number[][]> {
  const held: Listener[] = [];
  const blocks: number[][] = [];
  try {
    for (const size of sizes) {
      for (let attempt = 0; ; attempt++) {
        const first = await listenOn(0, v6);
        if (!first) {
          if (attempt > 50) throw new Error('cannot listen on 127.0.0.1');
          continue;
        }
        const base = (first[0]!.address() as AddressInfo).port;
        const rest = await Promise.all(
          Array.from({ length: size - 1 }, (_, i) => listenOn(base + i + 1, v6)),
        );
        const got = [first, ...rest];
        if (got.every((s): s is Listener[] => s !== null)) {
          held.push(...got.flat());
          blocks.push(Array.from({ length: size }, (_, i) => base + i));
          break;
        }
        await closeAll(got.flatMap((s) => s ?? []));
        if (attempt > 50) throw new Error(`no ${size} consecutive free ports`);
      }
    }
  } finally {
    await closeAll(held);
  }
  return blocks;
}

/** Render the stack into a new temp dir, with the probe app in place when asked. */
export async function createSandbox(loaded: LoadedSpec, options: SandboxOptions): Promise<Sandbox> {
  const dir = mkdtempSync(join('/tmp', `stackgen-verify-${loaded.spec.name}-`));
  // mkdtemp makes 0700; the proxy and app users must traverse it, as they traverse /etc and /run.
  chmodSync(dir, 0o755);
  const root = process.getuid?.() === 0;

  let spec = loaded.spec;
  let probe: ProbeSubstitution | null = null;
  if (options.probeApp) {
    const key = probeFrameworkFor(spec);
    probe = { key, app: PROBE_APPS[key], root: join(dir, 'app'), counterFile: join(dir, 'probe', 'count') };
    copyProbeApp(probe);
    spec = substituteProbeApp(spec, probe);
  }

  const topology = resolveTopology(spec, { cores: options.cores, coresPinned: options.coresPinned ?? false });
  // Each component's TCP ports (tornado: port, port+1, …) get one consecutive block.
  const seen = new Set<number>();
  const groups = topology.components
    .map((c) =>
      allListens(c).flatMap((ep) =>
        ep.kind === 'tcp' && !seen.has(ep.port) && seen.add(ep.port) ? [ep.port] : [],
      ),
    )
    .filter((g) => g.length > 0);
  const ipv6Loopback = await ipv6LoopbackAvailable();
  const blocks = await freePortBlocks(
    groups.map((g) => g.length),
    ipv6Loopback,
  );
  const ports: Record<number, number> = {};
  groups.forEach((g, i) => {
    g.forEach((p, j) => {
      ports[p] = options.portOverrides?.[p] ?? blocks[i]![j]!;
    });
  });

  const me = currentUser(options.book);
  const accounts = root
    ? sandboxAccounts(options.book, {
        app: spec.processes.user,
        group: spec.processes.group,
        proxy: spec.proxy.user,
      })
    : null;
  const users = accounts?.users ?? null;
  const site = sandboxSite(spec, {
    dir,
    // proxy.tls's files are production's: a certificate from this run's own CA stands in.
    tls:
      spec.proxy.tls === 'off'
        ? null
        : createThrowawayCertificate(dir, certificateNames(spec.proxy.server_name)),
    baseDir: loaded.baseDir,
    ports,
    stackgenCommand: options.stackgenCommand,
    users,
    currentUser: me,
    ipv6Loopback,
  });
  const plan = buildPlan(topology, site, basename(resolve(loaded.file)));
  let artifacts = renderArtifacts(plan);
  if (options.mutateArtifacts) artifacts = options.mutateArtifacts(artifacts, plan);
  writeArtifacts(site.configDir, artifacts, { force: true, source: plan.source });

  for (const d of [site.logDir, site.nginx.tempDir, site.apache.runDir, site.acmeWebroot])
    mkdirSync(d, { recursive: true, mode: 0o755 });
  // Like systemd's RuntimeDirectory= (mode 0750, owned by User:Group): the app server
  // creates its socket here, and the proxy reaches it only through the group.
  mkdirSync(site.runDir, { recursive: true, mode: 0o750 });
  chmodSync(site.runDir, 0o750);
  if (root) {
    const ids = resolveIds(options.book, site.users.app, site.users.group);
    resolveIds(options.book, site.users.proxy, site.users.group);
    chownSync(site.runDir, ids.uid, ids.gid);
  }
  // Like RuntimeDirectory=/StateDirectory= of the units that have their own (the broker's
  // socket directory, the state directories): mode 0700, the app's account's alone.
  for (const d of ownDirectories(plan)) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
    if (root) {
      const ids = resolveIds(options.book, site.users.app, site.users.group);
      chownSync(d, ids.uid, ids.gid);
    }
  }

  return {
    dir,
    plan,
    topology,
    probe,
    usersMapped: users === null,
    standIns: accounts?.standIns ?? [],
    staticFixtures: staticFixtures(plan, probe !== null),
  };
}

/** Directories a launch owns besides the site's run dir: another run dir, a state directory. */
export function ownDirectories(plan: Plan): string[] {
  return [
    ...new Set(
      plan.launches.flatMap((l) => [
        ...(l.ownsRunDir && l.runDir !== plan.site.runDir ? [l.runDir] : []),
        ...(l.stateDir ? [l.stateDir] : []),
      ]),
    ),
  ];
}

/** Copy the probe app and the shared contract module next to it (the apps import it). */
function copyProbeApp(probe: ProbeSubstitution): void {
  cpSync(join(TEMPLATES, probe.app.dir), probe.root, { recursive: true });
  copyFileSync(join(TEMPLATES, PROBE_COMMON_DIR, PROBE_COMMON_MODULE), join(probe.root, PROBE_COMMON_MODULE));
  chmodTree(probe.root);
  const counterDir = join(probe.root, '..', 'probe');
  mkdirSync(counterDir, { recursive: true });
  chmodSync(counterDir, 0o755);
  // Every worker of every user appends to one file: pre-created world-writable (sandbox only).
  writeFileSync(probe.counterFile, '');
  chmodSync(probe.counterFile, 0o666);
}

/** Directories 0755, files readable (scripts keep their executable bit). */
function chmodTree(path: string): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) chmodTree(join(path, entry));
  } else {
    chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
  }
}

/**
 * A file per static URL prefix: with the probe app, a fresh file written into the
 * sandbox's static dir; with the user's app, the first file already there at any depth
 * (a Django collectstatic tree holds only directories at its top), never writing into
 * the user's tree.
 */
export function staticFixtures(plan: Plan, probeApp: boolean): StaticFixture[] {
  const out: StaticFixture[] = [];
  for (const { url, dir } of plan.app.static) {
    if (probeApp) {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      const name = 'stackgen-probe.txt';
      // Text well above gzip_min_length (1 KiB), so a compressing front compresses it.
      const line = `stackgen static probe ${randomBytes(8).toString('hex')}\n`;
      const content = Buffer.from(line.repeat(64));
      writeFileSync(join(dir, name), content, { mode: 0o644 });
      // A secret as a careless deploy leaves one: the front must answer 404 for it.
      const secret = '.stackgen-probe-secret';
      writeFileSync(join(dir, secret), 'SECRET_KEY=stackgen-probe\n', { mode: 0o644 });
      out.push({ url, dir, href: `${url}${name}`, content, dotfileHref: `${url}${secret}` });
      continue;
    }
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      // reported below
    }
    const found = isDir ? firstFile(dir) : null;
    const dotfile = isDir ? firstDotfile(dir) : null;
    const dotfileHref = dotfile === null ? null : `${url}${encodeURIComponent(dotfile)}`;
    out.push(
      found
        ? {
            url,
            dir,
            href: `${url}${found.map(encodeURIComponent).join('/')}`,
            content: readFileSync(join(dir, ...found)),
            dotfileHref,
          }
        : {
            url,
            dir,
            href: null,
            content: Buffer.alloc(0),
            dotfileHref,
            absent: isDir ? 'empty' : 'missing',
          },
    );
  }
  return out;
}

/** The first regular file directly in `dir` whose name starts with a dot, or null. */
export function firstDotfile(dir: string): string | null {
  try {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.') && statSync(join(dir, name)).isFile()) return name;
    }
  } catch {
    // unreadable: nothing to try
  }
  return null;
}

/** Path segments of the first regular file under `dir` (sorted, depth first, bounded), or null. */
export function firstFile(dir: string, budget = { entries: 10_000 }): string[] | null {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return null;
  }
  const dirs: string[] = [];
  for (const name of names) {
    if (--budget.entries < 0) return null;
    if (name.startsWith('.')) continue;
    try {
      const st = statSync(join(dir, name));
      if (st.isFile()) return [name];
      if (st.isDirectory()) dirs.push(name);
    } catch {
      // unreadable or a dangling link: not a file the proxy could serve
    }
  }
  for (const sub of dirs) {
    const below = firstFile(join(dir, sub), budget);
    if (below) return [sub, ...below];
  }
  return null;
}
