import { describe, expect, it } from 'vitest';
import { assess, buildReport, formatReport } from '../../../src/doctor/report.js';
import { INSTALLED_STACKGEN, PROXIES } from '../../../src/topology/catalog/proxies.js';
import type { Requirement } from '../../../src/topology/requirements.js';

const nginx: Requirement = {
  kind: 'program',
  program: 'nginx',
  package: 'nginx-light',
  versionArgs: ['-v'],
  minVersion: '1.18.0',
  why: 'upstream keepalive_timeout',
  neededBy: 'nginx',
};
const fcgiwrap: Requirement = {
  kind: 'program',
  program: 'fcgiwrap',
  package: 'fcgiwrap',
  versionArgs: ['-h'],
  minVersion: '0',
  why: 'nginx has no CGI',
  neededBy: 'nginx (CGI)',
};
const flask: Requirement = {
  kind: 'python-module',
  module: 'flask',
  package: 'python3-flask',
  python: '/usr/bin/python3',
  neededBy: 'Flask',
};

describe('assess', () => {
  it('a program at or above its minimum is ok, with its version', () => {
    expect(assess(nginx, { kind: 'program', path: '/usr/sbin/nginx', version: '1.22.1' })).toMatchObject({
      status: 'ok',
      version: '1.22.1',
    });
  });

  it('an older program is too old, and says why the minimum exists', () => {
    const f = assess(nginx, { kind: 'program', path: '/usr/sbin/nginx', version: '1.14.2' });
    expect(f.status).toBe('too-old');
    expect(f.detail).toBe('needs ≥ 1.18.0: upstream keepalive_timeout');
  });

  it('minimum 0 accepts a program whose version cannot be read', () => {
    expect(assess(fcgiwrap, { kind: 'program', path: '/usr/sbin/fcgiwrap', version: null }).status).toBe(
      'ok',
    );
  });

  it('a real minimum with an unreadable version is unverified, not missing', () => {
    expect(assess(nginx, { kind: 'program', path: '/usr/sbin/nginx', version: null }).status).toBe(
      'unverified',
    );
  });

  it('a module that does not import is missing, with the import error', () => {
    const f = assess(flask, {
      kind: 'python-module',
      ok: false,
      version: null,
      error: "ModuleNotFoundError: No module named 'flask'",
    });
    expect(f).toMatchObject({ status: 'missing', detail: "ModuleNotFoundError: No module named 'flask'" });
  });
});

describe('buildReport and formatReport', () => {
  it('installs only the missing and too-old packages, once each, sorted', () => {
    const report = buildReport(
      [
        assess(nginx, { kind: 'program', path: '/usr/sbin/nginx', version: '1.10.0' }),
        assess(fcgiwrap, { kind: 'program', path: null, version: null }),
        assess(flask, { kind: 'python-module', ok: true, version: '2.2.2', error: null }),
      ],
      { root: true },
    );
    expect(report.ok).toBe(false);
    expect(report.packages).toEqual(['fcgiwrap', 'nginx-light']);
    expect(report.installCommand).toBe('apt-get install -y fcgiwrap nginx-light');
    const text = formatReport(report, 'stackgen doctor: demo');
    expect(text).toContain('TOO OLD  nginx');
    expect(text).toContain('MISSING  fcgiwrap');
    expect(text).toContain('python modules (/usr/bin/python3):');
    expect(text).toContain(
      '2 of 3 requirements missing or too old; install with:\n  apt-get install -y fcgiwrap nginx-light',
    );
  });

  it('uses sudo when not root, and prints no command when everything is present', () => {
    const missing = buildReport([assess(fcgiwrap, { kind: 'program', path: null, version: null })], {
      root: false,
    });
    expect(missing.installCommand).toBe('sudo apt-get install -y fcgiwrap');
    const fine = buildReport(
      [assess(flask, { kind: 'python-module', ok: true, version: '2.2.2', error: null })],
      {
        root: false,
      },
    );
    expect(fine).toMatchObject({ ok: true, installCommand: null, packages: [] });
    expect(formatReport(fine, 't')).toContain('all 1 requirements are present');
  });

  it('a gateway stack: Node too old and the missing stackgen wrapper are named with how to get them, not apt-get', () => {
    const gateway = PROXIES.gateway.programs.map(
      (p): Requirement => ({ kind: 'program', neededBy: 'stackgen gateway', ...p }),
    );
    expect(gateway.map((r) => r.kind === 'program' && r.program)).toEqual(['node', INSTALLED_STACKGEN]);
    const report = buildReport(
      [
        assess(gateway[0]!, { kind: 'program', path: '/usr/bin/node', version: '18.19.0' }),
        assess(gateway[1]!, { kind: 'program', path: null, version: null }),
      ],
      { root: true },
    );
    expect(report).toMatchObject({ ok: false, installCommand: null, packages: [] });
    const text = formatReport(report, 't');
    expect(text).toContain('TOO OLD  node');
    expect(text).toContain(`MISSING  ${INSTALLED_STACKGEN}`);
    expect(text).toContain("Node.js ≥ 20.19 from nodejs.org or NodeSource (Debian 12's nodejs is 18)");
    expect(text).toContain('`sudo stackgen install <stack.yaml>` writes it');
    // A wrapper left pointing at a checkout that is gone runs, but prints no version.
    expect(assess(gateway[1]!, { kind: 'program', path: INSTALLED_STACKGEN, version: null })).toMatchObject({
      status: 'missing',
      detail: `\`${INSTALLED_STACKGEN} --version\` printed no version: it does not run`,
    });
  });
});
