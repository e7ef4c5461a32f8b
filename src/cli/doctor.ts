// `stackgen doctor [stack.yaml] [--install]`: which programs and Python modules the stack
// needs, which are here (and new enough), and the apt-get command for the rest.

import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { buildReport, type DoctorReport, assess, formatReport } from '../doctor/report.js';
import { probeRequirements, runAttached } from '../doctor/probe.js';
import { stackRequirements } from '../topology/requirements.js';
import { EXIT_CODES, StackgenError } from '../errors.js';
import { DISTRO_IDS, type DistroId, DISTROS, distroFromOsRelease } from '../topology/catalog/distros.js';
import { productionSite } from '../topology/site.js';
import { oneOf } from './options.js';
import { loadAndResolve } from './shared.js';

/** `stackgen doctor`'s options, as commander parses them. */
export interface DoctorCliOptions {
  /** apt-get install what is missing, then look again. */
  install?: true;
  /** Whose package names to print; default: this host's /etc/os-release. */
  distro?: string;
}

/** This host's distribution from os-release(5); Debian 12 (the catalog's names) when unknown. */
export function hostDistro(): { id: DistroId; known: boolean } {
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      const id = distroFromOsRelease(readFileSync(file, 'utf8'));
      return id ? { id, known: true } : { id: 'debian-12', known: false };
    } catch {
      // try the next one
    }
  }
  return { id: 'debian-12', known: false };
}

export async function run(file: string, opts: DoctorCliOptions): Promise<number> {
  const l = loadAndResolve(file);
  // The production interpreter: a venv's python, or app.python (Debian's by default).
  const python = productionSite(l.loaded.spec, { baseDir: l.loaded.baseDir }).python;
  const requirements = stackRequirements(l.loaded.spec, python);
  const root = process.getuid?.() === 0;
  const host = hostDistro();
  const distro = opts.distro !== undefined ? oneOf('--distro', DISTRO_IDS, opts.distro) : host.id;
  const title = `stackgen doctor: ${l.topology.name} (${relative(process.cwd(), resolve(l.loaded.file))})`;
  // Package names are the catalog's Debian 12 names renamed for `distro` (the same map
  // `stackgen ci` writes into workflows); say so when the host is not one the catalog knows.
  if (opts.distro === undefined && !host.known)
    process.stdout.write(
      `note: /etc/os-release names no distribution the catalog knows; package names are ${DISTROS[distro].title}'s (--distro ${DISTRO_IDS.join('|')})\n`,
    );

  const examine = async (): Promise<DoctorReport> => {
    const probes = await probeRequirements(requirements);
    return buildReport(
      requirements.map((r, i) => assess(r, probes[i]!)),
      { root, distro },
    );
  };

  let report = await examine();
  process.stdout.write(formatReport(report, title));
  if (!report.ok && opts.install === true && report.packages.length > 0) {
    const sudo = root ? [] : ['sudo'];
    process.stdout.write(`\ninstalling: ${report.packages.join(' ')}\n`);
    for (const argv of [
      [...sudo, 'apt-get', 'update'],
      [...sudo, 'apt-get', 'install', '-y', ...report.packages],
    ]) {
      const code = await runAttached(argv);
      if (code !== 0) {
        throw new StackgenError(
          'SG_ERR_TOOL_MISSING',
          `\`${argv.join(' ')}\` failed with exit code ${code}`,
          {
            hint: 'read apt-get output above; the packages may need a different source or name on this system',
          },
        );
      }
    }
    report = await examine();
    process.stdout.write(`\n${formatReport(report, `${title} — after install`)}`);
  }
  return report.ok ? EXIT_CODES.ok : EXIT_CODES.missingTool;
}
