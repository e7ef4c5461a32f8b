import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStackgenError } from '../../../src/errors.js';
import type { Artifact } from '../../../src/render/artifacts.js';
import { MANIFEST, writeArtifacts } from '../../../src/render/write.js';

const art = (path: string, content: string, mode = 0o644): Artifact => ({
  path,
  content,
  mode,
  component: 'x',
});

describe('writeArtifacts', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-write-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes files with their modes and a manifest, leaving no temp files', () => {
    const r = writeArtifacts(dir, [art('a/x.conf', 'one\n'), art('run.py', 'print()\n', 0o755)], {
      force: false,
      source: 's.yaml',
    });
    expect(r.written).toEqual(['a/x.conf', 'run.py']);
    expect(statSync(join(dir, 'run.py')).mode & 0o777).toBe(0o755);
    expect(JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')).files['a/x.conf']).toHaveLength(64);
    expect(readdirSync(join(dir, 'a')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('re-renders untouched files silently and reports unchanged ones', () => {
    writeArtifacts(dir, [art('x', '1\n')], { force: false, source: 's' });
    expect(writeArtifacts(dir, [art('x', '1\n')], { force: false, source: 's' }).unchanged).toEqual(['x']);
    expect(writeArtifacts(dir, [art('x', '2\n')], { force: false, source: 's' }).written).toEqual(['x']);
  });

  it('refuses to overwrite a file the user edited, names it, and changes nothing', () => {
    writeArtifacts(dir, [art('x', '1\n'), art('y', 'a\n')], { force: false, source: 's' });
    writeFileSync(join(dir, 'x'), 'my edit\n');
    let error: unknown;
    try {
      writeArtifacts(dir, [art('x', '2\n'), art('y', 'b\n')], { force: false, source: 's' });
    } catch (e) {
      error = e;
    }
    expect(isStackgenError(error, 'SG_ERR_USER_EDITED')).toBe(true);
    expect((error as Error).message).toContain(join(dir, 'x'));
    expect((error as { exitCode: number }).exitCode).toBe(4);
    expect(readFileSync(join(dir, 'x'), 'utf8')).toBe('my edit\n');
    expect(readFileSync(join(dir, 'y'), 'utf8')).toBe('a\n');
  });

  it('overwrites an edited file with force', () => {
    writeArtifacts(dir, [art('x', '1\n')], { force: false, source: 's' });
    writeFileSync(join(dir, 'x'), 'my edit\n');
    writeArtifacts(dir, [art('x', '2\n')], { force: true, source: 's' });
    expect(readFileSync(join(dir, 'x'), 'utf8')).toBe('2\n');
  });

  it('refuses to clobber a pre-existing file stackgen never wrote', () => {
    writeFileSync(join(dir, 'x'), 'theirs\n');
    expect(() => writeArtifacts(dir, [art('x', '1\n')], { force: false, source: 's' })).toThrow(
      /changed since stackgen/,
    );
  });

  it('removes files it no longer generates, unless edited', () => {
    writeArtifacts(dir, [art('x', '1\n'), art('y', '1\n')], { force: false, source: 's' });
    writeFileSync(join(dir, 'y'), 'edited\n');
    const r = writeArtifacts(dir, [art('z', '1\n')], { force: false, source: 's' });
    expect(r.removed).toEqual(['x']);
    expect(r.kept).toEqual(['y']);
  });
});
