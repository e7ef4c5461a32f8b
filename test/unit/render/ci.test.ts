// `--install-from`: only pins are accepted, and each becomes install lines that check them.

import { describe, expect, it } from 'vitest';
import { isStackgenError } from '../../../src/errors.js';
import { installLines, parseInstallFrom, sriToHex } from '../../../src/render/ci.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const SRI = `sha512-${Buffer.alloc(64, 7).toString('base64')}`;

function refused(f: () => unknown): boolean {
  try {
    f();
  } catch (e) {
    return isStackgenError(e, 'SG_ERR_USAGE');
  }
  return false;
}

describe('parseInstallFrom', () => {
  it('takes a git URL at a full commit, an exact version with its integrity, a tarball', () => {
    expect(parseInstallFrom(`git+https://example.org/stackgen.git#${COMMIT}`, undefined)).toEqual({
      kind: 'git',
      url: 'git+https://example.org/stackgen.git',
      commit: COMMIT,
    });
    expect(parseInstallFrom('stackgen@1.2.3', SRI)).toEqual({
      kind: 'registry',
      version: '1.2.3',
      sha512: '07'.repeat(64),
    });
    expect(parseInstallFrom('ci/stackgen-1.2.3.tgz', undefined)).toEqual({
      kind: 'tarball',
      path: 'ci/stackgen-1.2.3.tgz',
      sha512: null,
    });
  });

  it('refuses what can move: a branch, a range, a version without integrity', () => {
    expect(refused(() => parseInstallFrom('git+https://example.org/stackgen.git#main', undefined))).toBe(
      true,
    );
    expect(refused(() => parseInstallFrom('git+https://example.org/stackgen.git', undefined))).toBe(true);
    expect(refused(() => parseInstallFrom('stackgen@^1.2.0', SRI))).toBe(true);
    expect(refused(() => parseInstallFrom('stackgen@1.2.3', undefined))).toBe(true);
    expect(refused(() => parseInstallFrom('stackgen@1.2.3', 'sha1-abc'))).toBe(true);
    expect(refused(() => parseInstallFrom('stackgen', undefined))).toBe(true);
  });

  it('sriToHex: npm integrity → the hex sha512sum checks', () => {
    expect(sriToHex(SRI)).toBe('07'.repeat(64));
    expect(sriToHex('sha256-abc')).toBeNull();
  });

  it('a registry version is downloaded, checked, then installed from the checked file', () => {
    const { lines } = installLines({ kind: 'registry', version: '1.2.3', sha512: 'ab'.repeat(64) });
    expect(lines).toEqual([
      'npm pack stackgen@1.2.3 --silent',
      `echo "${'ab'.repeat(64)}  stackgen-1.2.3.tgz" | sha512sum --check --strict -`,
      'npm install --global ./stackgen-1.2.3.tgz',
    ]);
  });
});
