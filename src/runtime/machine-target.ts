// `verify --target machine`, the host side: boot a throwaway machine (src/runtime/machine.ts),
// stage the stack into it, let `stackgen machine-pass` install and probe it from inside
// (src/runtime/installed.ts), power-cycle the machine, probe again, uninstall — and throw
// the machine away. Same pass structure and report as the sandbox target: a probe-app
// pass and, for the user's checks, a user-app pass, each on a fresh machine.

import { staticEntries, withStaticDir } from '../stack/static-dirs.js';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { PROBE_APPS, PROBE_COMMON_DIR, PROBE_COMMON_MODULE } from '../probes/contract.js';
import { probeAppChanges, type ProbeSubstitution, probeFrameworkFor } from '../probes/substitute.js';
import { buildPlan, isFrontComponent } from '../render/plan.js';
import { emptyPass, type PassReport, type ProgressEvent } from '../report/types.js';
import { type LoadedSpec, readStackSpec } from '../stack/parse.js';
import { certificateNames, createThrowawayCertificate } from '../tls/throwaway-ca.js';
import { namedDirectories } from '../stack/paths.js';
import { resolveTopology } from '../topology/resolve.js';
import { productionSite } from '../topology/site.js';
import type { InstalledJob, PhaseOutcome } from './installed.js';
import { bootMachine, HIDDEN_IN_MACHINE, type Machine, machineMasks } from './machine.js';
import { PEBBLE_DIRECTORY } from './pebble.js';
import { PROXIES } from '../topology/catalog/proxies.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TEMPLATES = join(ROOT, 'templates');
/** Where staged stacks live inside the machine (not /tmp: the boot empties it, and units see a private one). */
export const STAGE_DIR = '/srv/stackgen-verify';

export interface MachinePassOptions {
  app: PassReport['app'];
  allProbes: boolean;
  cores: number;
  /** --cores was given: `auto` is rendered for `cores` instead of counted by the server. */
  coresPinned?: boolean | undefined;
  only?: string | undefined;
  selfCommand: string[];
  signal: AbortSignal;
  onProgress?: ((e: ProgressEvent) => void) | undefined;
  notes: Set<string>;
}

/** A YAML text with some keys of `app` replaced and, optionally, the checks removed. Pure. */
export function restagedYaml(
  text: string,
  app: Record<string, unknown>,
  dropChecks: boolean,
  /** The probe app's Celery app for tasks.app, or `drop`: a probe app without one runs no tasks. */
  tasks?: { app: string } | 'drop',
): string {
  const doc = parseDocument(text);
  for (const [key, value] of Object.entries(app)) doc.setIn(['app', key], value);
  if (tasks === 'drop') doc.deleteIn(['tasks']);
  else if (tasks) doc.setIn(['tasks', 'app'], tasks.app);
  if (dropChecks) doc.deleteIn(['checks']);
  return doc.toString();
}

/** Directories 0755 and files readable, so the stack's users can read what was staged. */
function chmodTree(path: string): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) chmodTree(join(path, entry));
  } else chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
}

interface Staged {
  stackFile: string;
  probe: ProbeSubstitution | null;
  note: string | null;
}

/**
 * proxy.tls certificate files, as the user would have put them on the server: a certificate
 * from this run's own CA for the stack's names, written inside the machine at the paths the
 * staged stack names (key root-owned, mode 600). Returns the CA's path inside the machine
 * (the probes trust it alone), or null when the stack has no certificate files.
 */
function stageCertificate(machine: Machine, stackFile: string): { ca: string; note: string } | null {
  const staged = readStackSpec(machine.path(stackFile));
  const tls = staged.spec.proxy.tls;
  if (tls === 'off' || !('cert' in tls)) return null;
  const base = dirname(stackFile);
  const cert = resolve(base, tls.cert);
  const key = resolve(base, tls.key);
  const made = createThrowawayCertificate(
    mkdtempSync(join(tmpdir(), 'stackgen-machine-tls-')),
    certificateNames(staged.spec.proxy.server_name),
  );
  const ca = `${STAGE_DIR}/${staged.spec.name}/tls-ca.pem`;
  for (const [from, to, mode] of [
    [made.cert, cert, 0o644],
    [made.key, key, 0o600],
    [made.ca, ca, 0o644],
  ] as const) {
    mkdirSync(dirname(machine.path(to)), { recursive: true, mode: 0o755 });
    copyFileSync(from, machine.path(to));
    chmodSync(machine.path(to), mode);
    chownSync(machine.path(to), 0, 0);
  }
  rmSync(dirname(dirname(made.ca)), { recursive: true, force: true });
  return {
    ca,
    note: `proxy.tls: a certificate from this run's throwaway CA placed in the machine as ${cert} and ${key} (root's, the key mode 600), where install expects the user's`,
  };
}

/** Put the stack where the machine sees it: in place when it can, else under /srv/stackgen-verify. */
function stage(machine: Machine, loaded: LoadedSpec, app: PassReport['app']): Staged {
  const spec = loaded.spec;
  const dir = `${STAGE_DIR}/${spec.name}`;
  const text = readFileSync(loaded.file, 'utf8');
  const inside = (p: string) => machine.path(p);
  mkdirSync(inside(dir), { recursive: true, mode: 0o755 });
  chmodSync(inside(STAGE_DIR), 0o755);
  // app.env_file: a copy root-owned, mode 600, inside the machine only — a git checkout keeps
  // no mode 600, and install rightly refuses a file others can read.
  const envFile = stageEnvFile(machine, loaded, dir);
  const envNote = envFile
    ? `app.env_file staged in the machine as ${envFile} (root, 600: a checkout keeps no mode 600)`
    : null;
  if (app === 'probe-app') {
    const key = probeFrameworkFor(spec);
    // The counter must be writable under the unit's hardening: its runtime directory when
    // the manager makes one for the app (systemd's RuntimeDirectory=, supervisor's tmpfiles
    // entry), else /tmp (private to the gateway unit that runs CGI; shared without a manager).
    const topology = resolveTopology(spec, { cores: 1 });
    const plan = buildPlan(topology, productionSite(spec, { baseDir: loaded.baseDir }), 'stack.yaml');
    const ownsRunDir =
      spec.processes.manager !== 'none' &&
      plan.launches.some((l) => l.ownsRunDir && !isFrontComponent(plan, l.component));
    const probe: ProbeSubstitution = {
      key,
      app: PROBE_APPS[key],
      root: `${dir}/app`,
      counterFile: ownsRunDir ? `${plan.site.runDir}/stackgen-probe-count` : '/tmp/stackgen-probe-count',
    };
    cpSync(join(TEMPLATES, probe.app.dir), inside(probe.root), { recursive: true });
    copyFileSync(
      join(TEMPLATES, PROBE_COMMON_DIR, PROBE_COMMON_MODULE),
      inside(`${probe.root}/${PROBE_COMMON_MODULE}`),
    );
    chmodTree(inside(probe.root));
    const stackFile = `${dir}/stack.yaml`;
    const changes = { ...probeAppChanges(spec, probe), ...(envFile ? { env_file: envFile } : {}) };
    // As substituteProbeApp: the workers import the probe app's Celery app.
    const tasks = spec.tasks ? (probe.app.tasks ? { app: probe.app.tasks } : 'drop') : undefined;
    writeFileSync(inside(stackFile), restagedYaml(text, changes, true, tasks), { mode: 0o644 });
    return { stackFile, probe, note: envNote };
  }
  // The user's own stack where it is (a checkout under /tmp is bound below HOST_VIEW); its
  // absolute paths rewritten when the machine shows them elsewhere.
  const named = namedDirectories(spec, loaded.baseDir);
  const file = resolve(loaded.file);
  const moved = (p: string) => machine.inside(p) !== p;
  if ((!isAbsolute(spec.app.root) || !moved(spec.app.root)) && !envFile) {
    const absStatic = staticEntries(spec).filter(({ dir: d }) => isAbsolute(d) && moved(d));
    if (absStatic.length === 0) return { stackFile: machine.inside(file), probe: null, note: null };
  }
  const stackFile = `${dir}/stack.yaml`;
  const stat = Object.fromEntries(
    staticEntries(spec).map(({ url, dir: d }) => [
      url,
      withStaticDir(spec.app.static[url]!, isAbsolute(d) ? machine.inside(d) : d),
    ]),
  );
  writeFileSync(
    inside(stackFile),
    restagedYaml(
      text,
      { root: machine.inside(named.root), static: stat, ...(envFile ? { env_file: envFile } : {}) },
      false,
    ),
    {
      mode: 0o644,
    },
  );
  return {
    stackFile,
    probe: null,
    note:
      envNote ?? `${file} names paths under ${HIDDEN_IN_MACHINE.join(', ')}: staged with their machine paths`,
  };
}

/** Copy app.env_file into the machine (root, 0600); its path there, or null without one. */
function stageEnvFile(machine: Machine, loaded: LoadedSpec, dir: string): string | null {
  if (loaded.spec.app.env_file === undefined) return null;
  const staged = `${dir}/env`;
  const target = machine.path(staged);
  writeFileSync(target, readFileSync(resolve(loaded.baseDir, loaded.spec.app.env_file)), { mode: 0o600 });
  chmodSync(target, 0o600);
  chownSync(target, 0, 0);
  return staged;
}

/** Run one phase inside the machine, forwarding its progress. */
async function runPhase(machine: Machine, job: InstalledJob, o: MachinePassOptions): Promise<PhaseOutcome> {
  const child = machine.spawn([...job.selfCommand, 'machine-pass']);
  const onAbort = () => child.kill('SIGTERM');
  o.signal.addEventListener('abort', onAbort, { once: true });
  let outcome: PhaseOutcome | null = null;
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let msg: { event?: ProgressEvent; outcome?: PhaseOutcome };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      stderr.push(line);
      return;
    }
    if (msg.event) o.onProgress?.(msg.event);
    if (msg.outcome) outcome = msg.outcome;
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  child.stdin!.end(JSON.stringify(job));
  const code = await new Promise<number | null>((done) => child.once('close', done));
  o.signal.removeEventListener('abort', onAbort);
  if (outcome) return outcome;
  return {
    probes: [],
    notReady: {
      component: 'stackgen machine-pass',
      cause: `the run inside the machine ended (exit ${code}) without a result`,
      logTail: stderr.slice(-20),
    },
  };
}

/**
 * The distribution's front services (Debian's nginx, enabled on this host: its default site
 * holds port 80) masked on the machine of a stack whose own front binds port 80 — a gateway
 * with proxy.tls.acme must have port 80 (RFC 8555 §8.3), so it runs on a host of its own. Pure.
 */
export function portHolderServices(spec: LoadedSpec['spec']): string[] {
  if (PROXIES[spec.proxy.kind].distro !== null) return [];
  if (!spec.proxy.listen.some((l) => l.split(':').pop() === '80')) return [];
  return Object.values(PROXIES).flatMap((p) => (p.distro ? [`${p.distro.service}.service`] : []));
}

/** One pass on a fresh machine: boot, stage, install + probe, reboot, probe, uninstall, throw away. */
export async function machinePass(loaded: LoadedSpec, o: MachinePassOptions): Promise<PassReport> {
  const t0 = performance.now();
  const report = emptyPass(o.app, `${STAGE_DIR}/${loaded.spec.name} (inside the machine)`);
  o.onProgress?.({ type: 'pass', app: o.app, dir: report.dir });
  const unit = (phase: 'starting' | 'ready' | 'stopping' | 'stopped', ms?: number, detail?: string) =>
    o.onProgress?.({ type: 'unit', event: { unit: 'machine', phase, ms, detail } });
  unit('starting');
  const named = namedDirectories(loaded.spec, loaded.baseDir);
  const portHolders = portHolderServices(loaded.spec);
  if (portHolders.length > 0)
    o.notes.add(
      `machine: ${portHolders.join(', ')} masked — the stack's ${PROXIES[loaded.spec.proxy.kind].title} binds port 80, which the distribution's front (enabled on this host, its default site on port 80) would hold: a host of its own`,
    );
  const machine = await bootMachine({
    visible: [ROOT, dirname(resolve(loaded.file)), named.root, ...named.static.map((st) => st.dir)],
    masked: [...new Set([...machineMasks(loaded.spec.proxy.kind), ...portHolders])],
    log: process.env['STACKGEN_DEBUG'] ? (l) => process.stderr.write(`[machine] ${l}\n`) : undefined,
  });
  const boots = [machine.bootMs];
  unit('ready', machine.bootMs, machine.state);
  if (machine.state !== 'running') o.notes.add(`machine: systemd ${machine.state} after boot`);
  try {
    const staged = stage(machine, loaded, o.app);
    if (staged.note) o.notes.add(staged.note);
    const certificate = stageCertificate(machine, staged.stackFile);
    if (certificate) o.notes.add(certificate.note);
    const tls = loaded.spec.proxy.tls;
    const acme = tls !== 'off' && 'acme' in tls ? { dir: `${STAGE_DIR}/${loaded.spec.name}/pebble` } : null;
    if (acme && tls !== 'off' && 'acme' in tls)
      o.notes.add(
        `proxy.tls.acme: pebble (Debian's ACME test server) and pebble-challtestsrv (its DNS: every name is 127.0.0.1) ran on the machine's loopback; install's plan was rendered with proxy.tls.acme.directory ${PEBBLE_DIRECTORY} in place of ${tls.acme.directory} (the only value changed), certbot trusted pebble's listener through REQUESTS_CA_BUNDLE and the probes trusted pebble's root alone`,
      );
    const job: InstalledJob = {
      acme,
      trustedCa: certificate?.ca ?? null,
      phase: 'up',
      stackFile: staged.stackFile,
      app: o.app,
      probe: staged.probe,
      allProbes: o.allProbes,
      cores: o.cores,
      coresPinned: o.coresPinned,
      only: o.only,
      // This stackgen as the machine sees it (a checkout under /tmp is bound below HOST_VIEW).
      selfCommand: machine.insideArgv(o.selfCommand),
    };
    const up = await runPhase(machine, job, o);
    report.probes.push(...up.probes);
    report.notReady = up.notReady;
    if (!up.notReady && !o.signal.aborted) {
      unit('stopping', undefined, 'power cycle');
      await machine.reboot();
      boots.push(machine.bootMs);
      unit('ready', machine.bootMs, `rebooted: ${machine.state}`);
      const after = await runPhase(machine, { ...job, phase: 'after-reboot' }, o);
      report.probes.push(...after.probes);
      report.notReady = after.notReady;
    }
  } finally {
    const s0 = performance.now();
    unit('stopping');
    await machine.dispose();
    const stopMs = Math.round(performance.now() - s0);
    unit('stopped', stopMs);
    report.units.push({ id: 'machine', readyMs: boots[0] ?? null, stopMs, escalated: false });
    o.notes.add(
      `machine (${o.app} pass): a throwaway Debian host (systemd as PID 1, Debian's nginx and supervisor); booted in ${boots.map((b) => `${b} ms`).join(', rebooted in ')}`,
    );
  }
  report.interrupted = o.signal.aborted;
  report.wallMs = Math.round(performance.now() - t0);
  return report;
}
