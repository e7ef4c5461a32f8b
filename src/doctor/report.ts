// Requirements + what the machine answered → findings, the install command, and the text
// `stackgen doctor` prints. Pure: the probing is src/doctor/probe.ts.

import { type DistroId, packageFor } from '../topology/catalog/distros.js';
import { type Requirement, requirementName } from '../topology/requirements.js';
import { meetsMinimum } from './version.js';

/** What probing found for one requirement. */
export type Probe =
  | { kind: 'program'; path: string | null; version: string | null }
  | { kind: 'python-module'; ok: boolean; version: string | null; error: string | null }
  | { kind: 'uwsgi-plugin'; ok: boolean }
  | { kind: 'front-module'; ok: boolean };

/** ok; missing; installed but older than the catalog's minimum; installed, version unreadable. */
export type Status = 'ok' | 'missing' | 'too-old' | 'unverified';

export interface Finding {
  requirement: Requirement;
  status: Status;
  version: string | null;
  /** Why it is too old, or why a module does not import. */
  detail: string | null;
}

export interface DoctorReport {
  findings: Finding[];
  /** The distribution the package names are for (the catalog's Debian names, renamed). */
  distro: DistroId;
  /** Packages of `distro` that would fix every missing or too-old requirement. */
  packages: string[];
  /** `apt-get install -y …` (with sudo when not root), or null when no apt package is missing. */
  installCommand: string | null;
  /** What apt cannot fix, each in words (Node.js ≥ 20.19; the stackgen `stackgen install` writes). */
  obtain: string[];
  ok: boolean;
}

/** Judge one requirement from its probe. */
export function assess(requirement: Requirement, probe: Probe): Finding {
  if (requirement.kind === 'program' && probe.kind === 'program') {
    if (probe.path === null) return { requirement, status: 'missing', version: null, detail: null };
    // stackgen's wrapper (or Node) that is there but does not run is as good as missing.
    if (requirement.obtain && probe.version === null)
      return {
        requirement,
        status: 'missing',
        version: null,
        detail: `\`${requirement.program} ${requirement.versionArgs.join(' ')}\` printed no version: it does not run`,
      };
    const meets = meetsMinimum(probe.version, requirement.minVersion);
    if (meets === null) {
      return {
        requirement,
        status: 'unverified',
        version: null,
        detail: `could not read a version from \`${requirement.program} ${requirement.versionArgs.join(' ')}\`; needs ≥ ${requirement.minVersion} (${requirement.why})`,
      };
    }
    return meets
      ? { requirement, status: 'ok', version: probe.version, detail: null }
      : {
          requirement,
          status: 'too-old',
          version: probe.version,
          detail: `needs ≥ ${requirement.minVersion}: ${requirement.why}`,
        };
  }
  if (requirement.kind === 'python-module' && probe.kind === 'python-module') {
    return probe.ok
      ? { requirement, status: 'ok', version: probe.version, detail: null }
      : { requirement, status: 'missing', version: null, detail: probe.error };
  }
  if (requirement.kind === 'front-module' && probe.kind === 'front-module') {
    return { requirement, status: probe.ok ? 'ok' : 'missing', version: null, detail: null };
  }
  if (requirement.kind === 'uwsgi-plugin' && probe.kind === 'uwsgi-plugin') {
    return { requirement, status: probe.ok ? 'ok' : 'missing', version: null, detail: null };
  }
  throw new TypeError(`probe ${probe.kind} does not answer requirement ${requirement.kind}`);
}

/** Collect findings into a report with the one install command that fixes them. */
export function buildReport(
  findings: Finding[],
  options: { root: boolean; distro?: DistroId },
): DoctorReport {
  const distro = options.distro ?? 'debian-12';
  const broken = findings.filter((f) => f.status === 'missing' || f.status === 'too-old');
  const packages = [
    ...new Set(broken.filter((f) => !obtainOf(f)).map((f) => packageFor(distro, f.requirement.package))),
  ].sort();
  const installCommand =
    packages.length === 0 ? null : `${options.root ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`;
  const obtain = [...new Set(broken.flatMap((f) => obtainOf(f) ?? []))];
  return { findings, distro, packages, installCommand, obtain, ok: broken.length === 0 };
}

/** How to get a requirement apt does not provide, or null for an apt package. */
function obtainOf(f: Finding): string | null {
  return f.requirement.kind === 'program' ? (f.requirement.obtain ?? null) : null;
}

const STATUS_LABEL: Record<Status, string> = {
  ok: 'ok',
  missing: 'MISSING',
  'too-old': 'TOO OLD',
  unverified: 'ok?',
};

/** The human report: programs, then modules per interpreter, then what to run. */
export function formatReport(report: DoctorReport, title: string): string {
  const lines = [title];
  const programs = report.findings.filter((f) => f.requirement.kind !== 'python-module');
  const modules = report.findings.filter((f) => f.requirement.kind === 'python-module');
  if (programs.length > 0) lines.push('', 'programs:', ...table(programs, report.distro));
  const pythons = [
    ...new Set(modules.map((f) => (f.requirement.kind === 'python-module' ? f.requirement.python : ''))),
  ];
  for (const python of pythons) {
    const mine = modules.filter(
      (f) => f.requirement.kind === 'python-module' && f.requirement.python === python,
    );
    lines.push('', `python modules (${python}):`, ...table(mine, report.distro));
  }
  if (report.findings.length === 0) lines.push('', 'this stack needs no system packages beyond Node.js');
  lines.push('');
  if (report.ok) {
    lines.push(`all ${report.findings.length} requirements are present`);
  } else {
    const broken = report.findings.filter((f) => f.status === 'missing' || f.status === 'too-old').length;
    lines.push(`${broken} of ${report.findings.length} requirements missing or too old; install with:`);
    if (report.installCommand) lines.push(`  ${report.installCommand}`);
    for (const o of report.obtain) lines.push(`  ${o}`);
  }
  return `${lines.join('\n')}\n`;
}

function table(findings: Finding[], distro: DistroId): string[] {
  const rows = findings.map((f) => [
    STATUS_LABEL[f.status],
    requirementName(f.requirement),
    f.version ?? (f.status === 'ok' || f.status === 'unverified' ? 'present' : '-'),
    minimum(f.requirement),
    obtainOf(f) ? '-' : packageFor(distro, f.requirement.package),
    f.requirement.neededBy,
  ]);
  const header = ['', 'name', 'version', 'needs', 'package', 'for'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  const out = [fmt(header)];
  findings.forEach((f, i) => {
    out.push(fmt(rows[i]!));
    if (f.detail && f.status !== 'ok') out.push(`      ${f.detail}`);
  });
  return out;
}

function minimum(r: Requirement): string {
  if (r.kind !== 'program' || r.minVersion === '0') return 'any';
  return `≥ ${r.minVersion}`;
}
