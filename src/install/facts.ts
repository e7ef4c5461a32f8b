// The I/O edge of `stackgen install`: read what the host already has — accounts, links,
// files, unit and program states, the distribution's nginx — into a HostFacts value that
// the pure planner (steps.ts) decides from.

import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { Artifact } from '../render/artifacts.js';
import type { Plan } from '../render/plan.js';
import { nameOfGid, nameOfUid, readAccountBook } from '../runtime/users.js';
import { parseEnvFile } from '../stack/env-file.js';
import { PROXIES } from '../topology/catalog/proxies.js';
import { PROXY_RECIPES } from '../topology/catalog/recipes.js';
import { readInstallManifest } from './run.js';
import { portListener } from '../runtime/proc.js';
import { factQueries, type HostFacts, manifestPath, stackPorts, supervisorPrograms } from './steps.js';

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** Programs `supervisorctl status` reports RUNNING (group:* when every member is). Pure. */
export function runningPrograms(status: string, wanted: string[]): string[] {
  const lines = status.split('\n').map((l) => l.trim().split(/\s+/));
  const state = new Map(lines.filter((l) => l.length >= 2).map((l) => [l[0]!, l[1]!]));
  return wanted.filter((w) => {
    if (!w.endsWith(':*')) return state.get(w) === 'RUNNING';
    const members = [...state].filter(([n]) => n.startsWith(w.slice(0, -1)));
    return members.length > 0 && members.every(([, s]) => s === 'RUNNING');
  });
}

/** Read the host facts the plan's steps depend on. */
export async function gatherFacts(
  plan: Plan,
  artifacts: readonly Artifact[],
  selfCommand: string[],
): Promise<HostFacts> {
  const book = readAccountBook();
  const q = factQueries(plan, artifacts);
  const systemd = existsSync('/run/systemd/system');
  const links: Record<string, string> = {};
  for (const l of q.links) {
    const target = readLink(l);
    if (target !== null) links[l] = target;
  }
  const files: Record<string, string> = {};
  for (const a of artifacts) {
    const text = readText(join(plan.site.configDir, a.path));
    if (text !== null) files[a.path] = text;
  }
  // The stackgen wrapper gateway units run: rewritten when it no longer execs this stackgen.
  const wrapper = plan.site.stackgenCommand[0];
  const wrapperText = wrapper ? readText(wrapper) : null;
  if (wrapper && wrapperText !== null) files[wrapper] = wrapperText;
  // Host-wide copies (the nginx catch-all): by their path on the host.
  for (const f of PROXY_RECIPES[plan.front.kind].sharedFiles?.(plan) ?? []) {
    const text = readText(f.installPath);
    if (text !== null) files[f.installPath] = text;
  }
  const units: HostFacts['units'] = {};
  if (systemd) {
    for (const unit of q.units) {
      const enabled = await execa('systemctl', ['is-enabled', unit], { reject: false });
      const active = await execa('systemctl', ['is-active', unit], { reject: false });
      units[unit] = {
        enabled:
          ['enabled', 'linked', 'static', 'alias'].includes(enabled.stdout.trim()) && enabled.exitCode === 0,
        active: active.stdout.trim() === 'active',
      };
    }
  }
  let supervisorRunning: string[] = [];
  if (plan.spec.processes.manager === 'supervisor') {
    const status = await execa('supervisorctl', ['status'], { reject: false });
    supervisorRunning = runningPrograms(status.stdout, supervisorPrograms(plan));
  }
  const owners: HostFacts['owners'] = {};
  for (const dir of plan.app.writable) {
    try {
      const st = statSync(dir);
      owners[dir] = `${nameOfUid(book, st.uid)}:${nameOfGid(book, st.gid)}`;
    } catch {
      // missing: install creates it
    }
  }
  let envFile: HostFacts['envFile'] = null;
  if (plan.site.envFile !== null) {
    try {
      const st = statSync(plan.site.envFile);
      envFile = {
        uid: st.uid,
        mode: st.mode & 0o777,
        problems: parseEnvFile(readFileSync(plan.site.envFile, 'utf8')).problems,
      };
    } catch {
      // missing or unreadable: installProblems says so
    }
  }
  const distro = PROXIES[plan.front.kind].distro;
  const defaultSiteText = distro && existsSync(distro.defaultSite) ? readText(distro.defaultSite) : null;
  const mainConfig = distro ? readText(distro.mainConfig) : null;
  return {
    users: book.accounts.map((a) => a.name),
    groups: book.groups.map((g) => ({ name: g.name, members: g.members })),
    primaryGroup: Object.fromEntries(
      book.accounts.map((a) => [a.name, book.groups.find((g) => g.gid === a.gid)?.name ?? String(a.gid)]),
    ),
    systemd,
    links,
    exists: q.paths.filter((p) => existsSync(p)),
    owners,
    files,
    units,
    defaultSiteText,
    envFile,
    frontUser: distro && mainConfig !== null ? distro.workerUserOf(mainConfig) : null,
    supervisorRunning,
    selfCommand,
    claims: sharedClaims(plan.name),
    portListeners: stackPorts(plan).flatMap(({ port }) => {
      const l = portListener(port);
      return l ? [{ port, ...l }] : [];
    }),
  };
}

/** The shared steps every other stack's install record holds (manifests under /var/lib/stackgen). */
export function sharedClaims(self: string): HostFacts['claims'] {
  const claims: HostFacts['claims'] = {};
  const root = dirname(dirname(manifestPath(self)));
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch {
    return claims;
  }
  for (const name of names.filter((n) => n !== self).sort()) {
    const m = readInstallManifest(manifestPath(name));
    for (const s of m?.steps ?? []) {
      if (!s.shared) continue;
      const c = claims[s.id];
      if (c) c.stacks.push(name);
      else claims[s.id] = { stacks: [name], undo: s.undo };
    }
  }
  return claims;
}
