// `systemd-analyze verify` on the rendered units: systemd's own parser judges them, even
// though systemd is not running where verify runs.

import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProbeResult } from '../probes/types.js';

/** A result row for the units in `dir` (the sandbox's systemd/ directory). */
export function analyzeUnits(dir: string): Promise<ProbeResult> {
  const t0 = performance.now();
  let units: string[] = [];
  try {
    units = readdirSync(dir).filter((f) => f.endsWith('.service') || f.endsWith('.target'));
  } catch {
    // no units
  }
  const base = {
    key: 'stack/systemd-analyze',
    path: 'stack',
    probe: 'systemd-analyze',
    title: 'systemd-analyze verify accepts the units',
    expected: `no complaints about ${units.join(', ') || 'the units'}`,
  };
  // No unit rendered (every component is the distribution's: Apache running CGI scripts or
  // mod_wsgi): nothing to judge. Said here, because execFile in a missing cwd is ENOENT too.
  if (units.length === 0) {
    return Promise.resolve({ ...base, status: 'skip', actual: 'no systemd unit rendered', durationMs: 0 });
  }
  return new Promise((resolve) => {
    execFile(
      'systemd-analyze',
      ['verify', ...units],
      { cwd: dir, timeout: 15_000 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`.trim();
        const durationMs = Math.round(performance.now() - t0);
        const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
        resolve({
          ...base,
          status: missing ? 'skip' : err || output ? 'fail' : 'pass',
          actual: missing ? 'systemd-analyze is not installed' : output || 'accepted',
          durationMs,
        });
      },
    );
  });
}

export const unitsDir = (configDir: string) => join(configDir, 'systemd');
