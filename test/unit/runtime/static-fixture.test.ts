import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firstFile } from '../../../src/runtime/sandbox.js';

const dir = mkdtempSync(join(tmpdir(), 'stackgen-static-fixture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('firstFile: what the static probe fetches from a user tree', () => {
  it('finds a file at any depth, as a Django collectstatic tree has them', () => {
    const root = join(dir, 'collected');
    mkdirSync(join(root, 'admin', 'css'), { recursive: true });
    mkdirSync(join(root, 'admin', 'img'), { recursive: true });
    writeFileSync(join(root, 'admin', 'css', 'base.css'), 'body{}');
    writeFileSync(join(root, 'admin', 'img', 'icon.svg'), '<svg/>');
    expect(firstFile(root)).toEqual(['admin', 'css', 'base.css']);
  });

  it('prefers a top-level file, skips dot files and dangling links, and gives up on an empty tree', () => {
    const root = join(dir, 'mixed');
    mkdirSync(join(root, 'a'), { recursive: true });
    writeFileSync(join(root, 'a', 'deep.txt'), 'x');
    writeFileSync(join(root, 'z.txt'), 'x');
    writeFileSync(join(root, '.hidden'), 'x');
    symlinkSync(join(root, 'missing'), join(root, 'b-link'));
    expect(firstFile(root)).toEqual(['z.txt']);
    const empty = join(dir, 'empty');
    mkdirSync(join(empty, 'sub'), { recursive: true });
    expect(firstFile(empty)).toBeNull();
    expect(firstFile(join(dir, 'no-such-dir'))).toBeNull();
  });
});
