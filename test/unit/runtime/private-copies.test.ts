// verify's stand-in for a unit's `ExecStartPre=+/usr/bin/install …` lines (artifacts.ts
// privateCopyCommands): the same directory and copies, with the same modes, on the sandbox.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { privateCopyCommands } from '../../../src/render/artifacts.js';
import { makePrivateCopies } from '../../../src/runtime/launch.js';

const dir = mkdtempSync(join(tmpdir(), 'stackgen-private-copies-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('private copies', () => {
  const copies = {
    dir: join(dir, 'run-tls'),
    files: [
      { from: join(dir, 'cert.pem'), to: join(dir, 'run-tls', 'fullchain.pem') },
      { from: join(dir, 'key.pem'), to: join(dir, 'run-tls', 'privkey.pem') },
    ],
  };

  it('the unit copies as root: a directory for the user alone, each file owner-read-only', () => {
    expect(privateCopyCommands({ user: 'www-data' }, copies)).toEqual([
      ['/usr/bin/install', '-d', '-m', '0700', '-o', 'www-data', copies.dir],
      ['/usr/bin/install', '-m', '0400', '-o', 'www-data', copies.files[0]!.from, copies.files[0]!.to],
      ['/usr/bin/install', '-m', '0400', '-o', 'www-data', copies.files[1]!.from, copies.files[1]!.to],
    ]);
  });

  it('verify makes the same copies, and makes them again over read-only ones (a reload)', () => {
    writeFileSync(copies.files[0]!.from, 'cert 1', { mode: 0o644 });
    writeFileSync(copies.files[1]!.from, 'key 1', { mode: 0o600 });
    makePrivateCopies(copies, undefined);
    expect(statSync(copies.dir).mode & 0o777).toBe(0o700);
    for (const f of copies.files) expect(statSync(f.to).mode & 0o777).toBe(0o400);
    writeFileSync(copies.files[1]!.from, 'key 2');
    makePrivateCopies(copies, undefined);
    expect(readFileSync(copies.files[1]!.to, 'utf8')).toBe('key 2');
  });
});
