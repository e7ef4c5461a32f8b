// The I/O edge of init's detection: list a project directory and read the files detect.ts
// looks at. Reads only; never runs or imports the project.

import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isReadable, type ProjectFiles, VENV_DIRS } from './detect.js';

/** Deep enough for src/pkg/module.py and a Django project one level down; bounded for a home directory. */
const MAX_DEPTH = 4;
const MAX_FILES = 5000;
/** A settings file or app module is small; a larger file is data, not code to read. */
const MAX_TEXT = 256 * 1024;
/** Directories that are never the project's own code (deploy/ is stackgen's own render). */
const SKIP = new Set(['node_modules', '__pycache__', 'site-packages', 'deploy', 'build', 'dist']);

/** List and read a project directory for detectProject. */
export function scanProject(dir: string): ProjectFiles {
  const paths: string[] = [];
  const dirs: string[] = [];
  const executables: string[] = [];
  const texts: Record<string, string> = {};
  const walk = (rel: string, depth: number) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (paths.length >= MAX_FILES) return;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if ((VENV_DIRS as readonly string[]).includes(e.name)) {
          // A virtualenv: only its interpreter matters (app.venv).
          if (existsSync(join(dir, path, 'bin', 'python'))) paths.push(`${path}/bin/python`);
          continue;
        }
        if (e.name.startsWith('.') || SKIP.has(e.name) || depth >= MAX_DEPTH) continue;
        dirs.push(path);
        walk(path, depth + 1);
        continue;
      }
      if (!e.isFile()) continue;
      paths.push(path);
      const abs = join(dir, path);
      try {
        accessSync(abs, constants.X_OK);
        if ((statSync(abs).mode & 0o111) !== 0) executables.push(path);
      } catch {
        // not executable
      }
      if (isReadable(path) && statSync(abs).size <= MAX_TEXT) texts[path] = readFileSync(abs, 'utf8');
    }
  };
  walk('', 0);
  return { paths, dirs, executables, texts };
}
