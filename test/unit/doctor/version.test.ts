import { describe, expect, it } from 'vitest';
import { compareVersions, extractVersion, meetsMinimum } from '../../../src/doctor/version.js';

describe('extractVersion', () => {
  it.each([
    ['nginx version: nginx/1.22.1', '1.22.1'],
    ['2.0.21-debian', '2.0.21'],
    ['gunicorn (version 20.1.0)', '20.1.0'],
    ['systemd 252 (252.38-1~deb12u1)', '252'],
    ['supervisord 4.2.5\n', '4.2.5'],
    ['Running uvicorn 0.17.6 with CPython 3.11.2 on Linux', '0.17.6'],
    ['Python 3.11.2', '3.11.2'],
    ['v20.19.2', '20.19.2'],
  ])('%s → %s', (text, version) => {
    expect(extractVersion(text)).toBe(version);
  });

  it('prefers a bare major version that comes before any dotted one', () => {
    // systemd prints its major first; the dotted package version after it is not the answer.
    expect(extractVersion('systemd 252 (252.38-1)')).toBe('252');
  });

  it('returns null when the output has no number', () => {
    expect(extractVersion('Usage: fcgiwrap [OPTION]')).toBeNull();
  });
});

describe('compareVersions', () => {
  it('compares numerically, not as text', () => {
    expect(compareVersions('1.22.1', '1.9.0')).toBe(1);
    expect(compareVersions('1.9.0', '1.22.1')).toBe(-1);
    expect(compareVersions('20.1.0', '20.0.0')).toBe(1);
  });

  it('treats missing parts as zero', () => {
    expect(compareVersions('1.2', '1.2.0')).toBe(0);
    expect(compareVersions('252', '250')).toBe(1);
  });
});

describe('meetsMinimum', () => {
  it('accepts anything for minimum 0, even an unreadable version', () => {
    expect(meetsMinimum(null, '0')).toBe(true);
    expect(meetsMinimum('0.1', '0')).toBe(true);
  });

  it('is null (unknown) when a real minimum meets no version', () => {
    expect(meetsMinimum(null, '1.18.0')).toBeNull();
  });

  it('rejects an older version and accepts an equal one', () => {
    expect(meetsMinimum('1.17.9', '1.18.0')).toBe(false);
    expect(meetsMinimum('1.18.0', '1.18.0')).toBe(true);
  });
});
