// Facts about the directories a stack names, read through an injected predicate so the
// judgement stays pure: a static mapping to a directory that does not exist would serve
// 404s in production (nginx `alias` to nowhere) while every config test passes.

import { staticEntries } from './static-dirs.js';
import { isAbsolute, join, resolve } from 'node:path';
import type { Diagnostic } from './diagnostics.js';
import type { NormalizedSpec } from './normalize.js';

/** Absolute app root and static directories, as a Plan resolves them (relative to stack.yaml, then root). */
export function namedDirectories(
  spec: NormalizedSpec,
  baseDir: string,
): { root: string; static: Array<{ url: string; dir: string }> } {
  const root = isAbsolute(spec.app.root) ? spec.app.root : resolve(baseDir, spec.app.root);
  return {
    root,
    static: staticEntries(spec).map(({ url, dir }) => ({
      url,
      dir: isAbsolute(dir) ? dir : join(root, dir),
    })),
  };
}

/** Warnings for an app root or static directory that is not a directory. Pure. */
export function missingDirectoryWarnings(
  spec: NormalizedSpec,
  baseDir: string,
  isDirectory: (path: string) => boolean,
): Diagnostic[] {
  const dirs = namedDirectories(spec, baseDir);
  const out: Diagnostic[] = [];
  if (!isDirectory(dirs.root))
    out.push({
      severity: 'warning',
      kind: 'missing-directory',
      path: ['app', 'root'],
      message: `app.root ${dirs.root} is not a directory`,
      hint: 'app.root is relative to stack.yaml; point it at the directory holding your code',
    });
  for (const { url, dir } of dirs.static)
    if (!isDirectory(dir))
      out.push({
        severity: 'warning',
        kind: 'missing-directory',
        path: ['app', 'static', url],
        message: `static directory for ${url} does not exist: ${dir}`,
        hint: `create it (Django: run collectstatic into STATIC_ROOT) or fix the mapping; until then every ${url} request is a 404`,
      });
  return out;
}
