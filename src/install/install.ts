// `stackgen install` and `stackgen uninstall` as functions: the CLI commands and the
// machine target (which installs inside its throwaway host) run this same code.

import { tlsFileProblems } from '../tls/files.js';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { findProgram } from '../doctor/probe.js';
import { StackgenError } from '../errors.js';
import { renderArtifacts } from '../render/artifacts.js';
import type { Plan } from '../render/plan.js';
import { editedFiles, userEditedError, writeAtomic } from '../render/write.js';
import { touchedDistroProxies } from '../topology/catalog/proxies.js';
import { stackRequirements } from '../topology/requirements.js';
import { gatherFacts, sharedClaims } from './facts.js';
import { executeSteps, mergeManifest, readInstallManifest, reloadAndWait, undoManifest } from './run.js';
import { envFileProblems, installProblems, manifestPath, planInstall } from './steps.js';

export interface InstallOptions {
  dryRun: boolean;
  /** Overwrite generated files under /etc/stackgen edited by hand. */
  force: boolean;
  /** How this stackgen runs (for the gateway's /usr/local/bin/stackgen). */
  selfCommand: string[];
  out: (line: string) => void;
}

export interface InstallOutcome {
  performed: number;
  unchanged: number;
  manifest: string;
}

/** Seconds every unit gets to accept connections after it was started. */
const READY_SECONDS = 30;

/** Install the production plan of a stack on this machine (see src/cli/install.ts). */
export async function installStack(plan: Plan, file: string, o: InstallOptions): Promise<InstallOutcome> {
  const artifacts = renderArtifacts(plan);
  if (!o.dryRun && process.getuid?.() !== 0)
    throw new StackgenError(
      'SG_ERR_NEEDS_ROOT',
      'stackgen install changes users, /etc and services: run it as root',
      {
        hint: `sudo stackgen install ${file}   (or --dry-run to see every step)`,
      },
    );
  // Requirements apt does not provide are this run's own (the Node running it, the stackgen it writes).
  const missing = stackRequirements(plan.spec, plan.site.python).flatMap((r) =>
    r.kind === 'program' && r.obtain === undefined && findProgram(r.program) === null
      ? [`${r.program} (apt-get install ${r.package})`]
      : [],
  );
  if (missing.length > 0)
    throw new StackgenError('SG_ERR_TOOL_MISSING', `missing: ${missing.join(', ')}`, {
      hint: `stackgen doctor ${file} --install`,
    });
  const facts = await gatherFacts(plan, artifacts, o.selfCommand);
  const steps = planInstall(plan, artifacts, facts);
  const todo = steps.filter((s) => !s.done);
  const manifest = manifestPath(plan.name);
  o.out(`stackgen install: ${plan.name} (${file}) → ${plan.site.configDir}`);
  const secrets = envFileProblems(plan, facts);
  if (secrets.length > 0)
    throw new StackgenError(
      'SG_ERR_ENV_FILE',
      `refusing to install ${plan.name}:\n  ${secrets.join('\n  ')}`,
      {
        hint: 'nothing was changed; the file holds secrets: owned by root, mode 600',
      },
    );
  // proxy.tls's files: the front (nginx, or the gateway through its unit's copies) would refuse
  // to start on a missing or mismatched pair, and a key others can read is a stolen identity
  // waiting to happen.
  const tls = plan.site.tls;
  const certificate = tls && plan.spec.proxy.tls !== 'off' && 'cert' in plan.spec.proxy.tls ? tls : null;
  const tlsProblems = certificate ? tlsFileProblems(certificate.cert, certificate.key) : [];
  if (tlsProblems.length > 0)
    throw new StackgenError(
      'SG_ERR_TLS_FILES',
      `refusing to install ${plan.name}:\n  ${tlsProblems.join('\n  ')}`,
      {
        hint: 'nothing was changed; put the certificate (fullchain) and its key where proxy.tls names them, the key owned by root, mode 600',
      },
    );
  const problems = installProblems(plan, facts);
  if (o.dryRun)
    for (const s of steps) o.out(`  ${s.done ? '·' : '→'} ${s.title}${s.done ? ' (already so)' : ''}`);
  if (problems.length > 0)
    throw new StackgenError(
      'SG_ERR_INSTALL_FAILED',
      `cannot install ${plan.name} on this host:\n  ${problems.join('\n  ')}`,
      {
        hint: 'nothing was changed',
      },
    );
  if (o.dryRun) {
    o.out(
      todo.length === 0
        ? 'nothing to do: already installed as generated'
        : `dry run: ${todo.length} step(s) would run`,
    );
    return { performed: 0, unchanged: steps.length - todo.length, manifest };
  }
  // A file under the config dir edited by hand stops the run before anything changes.
  const edited = editedFiles(plan.site.configDir, artifacts);
  if (edited.length > 0 && !o.force) throw userEditedError(plan.site.configDir, edited);
  const previous = readInstallManifest(manifest);
  const result = await executeSteps(steps, {
    artifacts,
    source: plan.source,
    force: o.force,
    readySeconds: READY_SECONDS,
    out: o.out,
  });
  // A shared change another stack made is this stack's claim too: recorded, so the host keeps
  // it until the last stack that needs it is uninstalled.
  const claimed = result.unchanged.filter((s) => s.shared && !previous?.steps.some((p) => p.id === s.id));
  if (result.performed.length > 0 || claimed.length > 0) {
    const merged = mergeManifest(previous, plan.name, plan.source, [...result.performed, ...claimed]);
    writeAtomic(manifest, `${JSON.stringify(merged, null, 2)}\n`, 0o600);
  }
  o.out(
    result.performed.length === 0
      ? 'nothing to do: already installed as generated'
      : `installed: ${result.performed.length} step(s) done, ${result.unchanged.length} already so (record: ${manifest})`,
  );
  return { performed: result.performed.length, unchanged: result.unchanged.length, manifest };
}

/** Take back what install recorded for this stack name (see src/cli/uninstall.ts). */
export async function uninstallStack(
  name: string,
  file: string,
  o: Pick<InstallOptions, 'dryRun' | 'out'>,
): Promise<number> {
  const record = manifestPath(name);
  const manifest = readInstallManifest(record);
  if (!manifest)
    throw new StackgenError(
      'SG_ERR_NOT_INSTALLED',
      `no install of ${name} is recorded on this host (${record})`,
      {
        hint: 'stackgen uninstall removes only what stackgen install did; nothing was changed',
      },
    );
  o.out(`stackgen uninstall: ${name} (${file})`);
  if (o.dryRun) {
    for (const s of [...manifest.steps].reverse()) o.out(`  → undo: ${s.title}`);
    return 0;
  }
  if (process.getuid?.() !== 0)
    throw new StackgenError(
      'SG_ERR_NEEDS_ROOT',
      'stackgen uninstall changes users, /etc and services: run it as root',
      {
        hint: `sudo stackgen uninstall ${file}`,
      },
    );
  const errors = await undoManifest(
    manifest,
    {
      artifacts: [],
      source: manifest.source,
      force: false,
      readySeconds: 0,
      out: o.out,
    },
    sharedClaims(name),
  );
  // Leave the host as it was: its own units reloaded, and its nginx (if present) serving again.
  if (manifest.steps.some((s) => s.id.startsWith('unit-link:')))
    await execa('systemctl', ['daemon-reload'], { reject: false });
  for (const proxy of touchedDistroProxies(manifest.steps.map((s) => s.id))) {
    const distro = proxy.distro!;
    const test = await execa(distro.configTest[0]!, distro.configTest.slice(1), { reject: false, all: true });
    if (test.exitCode !== 0)
      errors.push(`${distro.configTest.join(' ')} failed after uninstall:\n${test.all}`);
    else {
      await reloadAndWait(distro.service, distro.pidFile).catch((err: unknown) =>
        errors.push((err as Error).message),
      );
      o.out(`  ✓ ${distro.configTest.join(' ')} && systemctl reload ${distro.service}`);
    }
  }
  if (errors.length > 0)
    throw new StackgenError(
      'SG_ERR_INSTALL_FAILED',
      `uninstall of ${name} left things behind:\n  ${errors.join('\n  ')}`,
      {
        hint: `the record is kept in ${record}; fix the cause and run stackgen uninstall again`,
      },
    );
  rmSync(dirname(record), { recursive: true, force: true });
  o.out(`removed: ${manifest.steps.length} step(s) taken back`);
  return manifest.steps.length;
}
