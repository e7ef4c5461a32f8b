// `stackgen doctor [stack.yaml] [--install]`: which programs and Python modules the stack
// needs, which are here (and new enough), and the apt-get command for the rest.

import { relative, resolve } from 'node:path';
import { buildReport, type DoctorReport, assess, formatReport } from '../doctor/report.js';
import { probeRequirements, runAttached } from '../doctor/probe.js';
import { stackRequirements } from '../topology/requirements.js';
import { EXIT_CODES, StackgenError } from '../errors.js';
import { productionSite } from '../topology/site.js';
import { loadAndResolve } from './shared.js';

/** `stackgen doctor`'s options, as commander parses them. */
export interface DoctorCliOptions {
  /** apt-get install what is missing, then look again. */
  install?: true;
}

export async function run(file: string, opts: DoctorCliOptions): Promise<number> {
  const l = loadAndResolve(file);
  // The production interpreter: a venv's python, or app.python (Debian's by default).
  const python = productionSite(l.loaded.spec, { baseDir: l.loaded.baseDir }).python;
  const requirements = stackRequirements(l.loaded.spec, python);
  const root = process.getuid?.() === 0;
  const title = `stackgen doctor: ${l.topology.name} (${relative(process.cwd(), resolve(l.loaded.file))})`;

  const examine = async (): Promise<DoctorReport> => {
    const probes = await probeRequirements(requirements);
    return buildReport(
      requirements.map((r, i) => assess(r, probes[i]!)),
      { root },
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
