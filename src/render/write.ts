// The only place rendering touches the disk. Each file is written to a temp file in the
// same directory and renamed over the target (atomic on POSIX). A manifest of hashes
// remembers what stackgen wrote, so a file the user edited is never overwritten silently.

import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StackgenError } from '../errors.js';
import type { Artifact } from './artifacts.js';

export const MANIFEST = '.stackgen-manifest.json';

interface Manifest {
  generator: 'stackgen';
  source: string;
  files: Record<string, string>;
}

export interface WriteResult {
  written: string[];
  unchanged: string[];
  removed: string[];
  /** Edited files left in place (only with --force they would be overwritten). */
  kept: string[];
}

export const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** Write artifacts under outDir atomically; refuse to clobber edited files unless force. */
export function writeArtifacts(
  outDir: string,
  artifacts: Artifact[],
  options: { force: boolean; source: string },
): WriteResult {
  const manifestPath = join(outDir, MANIFEST);
  const previous = readManifest(manifestPath);
  const result: WriteResult = { written: [], unchanged: [], removed: [], kept: [] };

  // First decide, then write: a refusal must leave every file as it was.
  const edited = editedFiles(outDir, artifacts);
  if (edited.length > 0 && !options.force) throw userEditedError(outDir, edited);

  for (const a of artifacts) {
    const target = join(outDir, a.path);
    if (readIfExists(target) === a.content) {
      chmodSync(target, a.mode);
      result.unchanged.push(a.path);
      continue;
    }
    writeAtomic(target, a.content, a.mode);
    result.written.push(a.path);
  }

  // Files stackgen wrote last time but no longer generates: remove if untouched.
  const now = new Set(artifacts.map((a) => a.path));
  for (const [path, hash] of Object.entries(previous?.files ?? {})) {
    if (now.has(path)) continue;
    const current = readIfExists(join(outDir, path));
    if (current === null) continue;
    if (sha256(current) === hash || options.force) {
      rmSync(join(outDir, path));
      result.removed.push(path);
    } else {
      result.kept.push(path);
    }
  }

  const manifest: Manifest = {
    generator: 'stackgen',
    source: options.source,
    files: Object.fromEntries(artifacts.map((a) => [a.path, sha256(a.content)])),
  };
  writeAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
  return result;
}

/** Generated files under outDir that would change and differ from what stackgen last wrote. */
export function editedFiles(outDir: string, artifacts: readonly Artifact[]): string[] {
  const previous = readManifest(join(outDir, MANIFEST));
  const edited: string[] = [];
  for (const a of artifacts) {
    const current = readIfExists(join(outDir, a.path));
    if (current === null || current === a.content) continue;
    if (previous?.files[a.path] !== sha256(current)) edited.push(a.path);
  }
  return edited;
}

/** SG_ERR_USER_EDITED naming the files. */
export function userEditedError(outDir: string, edited: string[]): StackgenError {
  return new StackgenError(
    'SG_ERR_USER_EDITED',
    `refusing to overwrite ${edited.length === 1 ? 'a file' : 'files'} changed since stackgen wrote ${edited.length === 1 ? 'it' : 'them'}: ${edited.map((p) => join(outDir, p)).join(', ')}`,
    {
      hint: 'move your change into stack.yaml (or a file stackgen does not generate), or rerun with --force to overwrite',
      details: { files: edited },
    },
  );
}

/** temp file in the same directory + rename: readers see the old or the new file, never half. */
export function writeAtomic(target: string, content: string, mode: number): void {
  try {
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    writeFileSync(tmp, content, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (cause) {
    throw new StackgenError('SG_ERR_WRITE', `cannot write ${target}: ${(cause as Error).message}`, {
      cause,
      hint: 'check that the output directory is writable',
    });
  }
}

function readIfExists(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

function readManifest(path: string): Manifest | null {
  const text = readIfExists(path);
  if (text === null) return null;
  try {
    const m = JSON.parse(text) as Manifest;
    return m.generator === 'stackgen' && m.files ? m : null;
  } catch {
    return null;
  }
}
