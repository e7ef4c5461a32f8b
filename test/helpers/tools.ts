// Integration tests run real servers. Where a server is missing: locally the suite is
// skipped with a visible reason; under CI=true it FAILS, because a green CI that silently
// skipped nginx proves nothing.

import { spawnSync } from 'node:child_process';
import { describe, it } from 'vitest';
import { findProgram } from '../../src/doctor/probe.js';
import { machineProblems } from '../../src/runtime/machine.js';

/** True when a Python module imports with Debian's /usr/bin/python3. */
export function hasPythonModule(module: string, python = '/usr/bin/python3'): boolean {
  try {
    // Synchronous: test collection needs the answer before describe() runs.
    const { status } = spawnSync(python, ['-c', `import ${module}`]);
    return status === 0;
  } catch {
    return false;
  }
}

export interface Requirements {
  tools?: string[];
  pythonModules?: string[];
  /** A throwaway machine can be booted (root, overlayfs, systemd, unshare/nsenter). */
  machine?: boolean;
}

/** Names of the missing requirements (tools and python modules). */
export function missingRequirements(req: Requirements): string[] {
  const missing = (req.tools ?? []).filter((t) => findProgram(t) === null);
  for (const m of req.pythonModules ?? []) if (!hasPythonModule(m)) missing.push(`python3 module ${m}`);
  if (req.machine) missing.push(...machineProblems().map((p) => `machine: ${p}`));
  return missing;
}

/**
 * `describe` for a suite that needs real programs. Missing under CI=true → the suite
 * fails with the list; missing locally → skipped, with the reason in the suite name.
 */
export function describeWith(req: Requirements): typeof describe | ((name: string, fn: () => void) => void) {
  const missing = missingRequirements(req);
  if (missing.length === 0) return describe;
  if (process.env['CI']) {
    return (name: string, _fn: () => void) =>
      describe(name, () => {
        it_fail(`missing under CI: ${missing.join(', ')} (.ci/run must install them)`);
      });
  }
  return (name: string, fn: () => void) =>
    describe.skip(`${name} [skipped: missing ${missing.join(', ')}]`, fn);
}

function it_fail(message: string): void {
  it('has its system requirements', () => {
    throw new Error(message);
  });
}
