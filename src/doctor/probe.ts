// The I/O edge of `doctor` (and of `check`'s tool lookup): find programs on PATH, ask
// them for their version, ask an interpreter which modules it can import, run apt-get.

import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { execa } from 'execa';
import type { Probe } from './report.js';
import type { Requirement } from '../topology/requirements.js';
import { extractVersion } from './version.js';

// nginx and fcgiwrap live in /usr/sbin, which a non-root PATH often lacks.
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of an executable (a bare name is looked up on PATH plus the sbin dirs), or null. */
export function findProgram(name: string, path = process.env['PATH'] ?? ''): string | null {
  if (isAbsolute(name)) return isExecutable(name) ? name : null;
  for (const dir of [...path.split(delimiter).filter(Boolean), ...SBIN_DIRS]) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Find a program and read its version from `versionArgs` output. `mustSucceed`: a failing run
 * has no version (a stackgen wrapper whose checkout is gone prints Node's error, numbers and all).
 */
export async function probeProgram(
  program: string,
  versionArgs: readonly string[],
  mustSucceed = false,
): Promise<Probe> {
  const path = findProgram(program);
  if (path === null) return { kind: 'program', path: null, version: null };
  // stdin closed: fcgiwrap without -s would otherwise serve FastCGI on stdin.
  const r = await execa(path, [...versionArgs], {
    reject: false,
    all: true,
    stdin: 'ignore',
    timeout: 10_000,
  });
  if (mustSucceed && r.exitCode !== 0) return { kind: 'program', path, version: null };
  return { kind: 'program', path, version: extractVersion(r.all ?? '') };
}

// One interpreter run for all modules: import each, report its version or the error.
const MODULE_PROBE = `
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        m = importlib.import_module(name)
        v = getattr(m, "__version__", None) or getattr(m, "version", None)
        out[name] = {"ok": True, "version": v if isinstance(v, str) else None}
    except Exception as e:
        out[name] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
print(json.dumps(out))
`;

type ModuleProbe = Extract<Probe, { kind: 'python-module' }>;

/** Which of `modules` the interpreter imports, with versions; all missing when it cannot run. */
export async function probePythonModules(
  python: string,
  modules: readonly string[],
): Promise<Record<string, ModuleProbe>> {
  const none = (error: string): Record<string, ModuleProbe> =>
    Object.fromEntries(modules.map((m) => [m, { kind: 'python-module', ok: false, version: null, error }]));
  if (modules.length === 0) return {};
  const path = findProgram(python);
  if (path === null) return none(`${python} not found`);
  const r = await execa(path, ['-c', MODULE_PROBE, ...modules], {
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
  let parsed: Record<string, { ok?: boolean; version?: string | null; error?: string }>;
  try {
    parsed = JSON.parse(r.stdout) as typeof parsed;
  } catch {
    return none(r.stderr.trim() || `${python} exited with code ${String(r.exitCode)}`);
  }
  return Object.fromEntries(
    modules.map((m) => {
      const p = parsed[m];
      const probe: ModuleProbe = {
        kind: 'python-module',
        ok: p?.ok === true,
        version: p?.version ?? null,
        error: p?.error ?? null,
      };
      return [m, probe];
    }),
  );
}

/** uWSGI loads a language plugin (python3, gevent): the plugin packages ship no program of their own. */
export async function probeUwsgiPlugin(plugin: string): Promise<Probe> {
  const uwsgi = findProgram('uwsgi');
  if (uwsgi === null) return { kind: 'uwsgi-plugin', ok: false };
  const r = await execa(uwsgi, ['--need-plugin', plugin, '--get', 'need-plugin'], {
    reject: false,
    stdin: 'ignore',
    timeout: 10_000,
  });
  return { kind: 'uwsgi-plugin', ok: r.exitCode === 0 };
}

/** Probe every requirement, in parallel (each is a short-lived process); results in the same order. */
export async function probeRequirements(requirements: readonly Requirement[]): Promise<Probe[]> {
  const byPython = new Map<string, string[]>();
  for (const r of requirements) {
    if (r.kind === 'python-module') byPython.set(r.python, [...(byPython.get(r.python) ?? []), r.module]);
  }
  const modules = new Map(
    await Promise.all(
      [...byPython].map(
        async ([python, names]) => [python, await probePythonModules(python, names)] as const,
      ),
    ),
  );
  return Promise.all(
    requirements.map(async (r): Promise<Probe> => {
      if (r.kind === 'program') return probeProgram(r.program, r.versionArgs, r.obtain !== undefined);
      if (r.kind === 'uwsgi-plugin') return probeUwsgiPlugin(r.plugin);
      // The module's shared object, where the distribution's package puts it.
      if (r.kind === 'front-module') return { kind: 'front-module', ok: existsSync(r.file) };
      return (
        modules.get(r.python)?.[r.module] ?? { kind: 'python-module', ok: false, version: null, error: null }
      );
    }),
  );
}

/** Run a command with the terminal attached (apt-get's progress); resolves to its exit code. */
export async function runAttached(argv: readonly string[]): Promise<number> {
  const [cmd, ...args] = argv;
  const r = await execa(cmd!, args, { reject: false, stdio: 'inherit' });
  return r.exitCode ?? 1;
}
