// The Debian → other-distribution package names `doctor` and `stackgen ci` share.

import { describe, expect, it } from 'vitest';
import { buildReport } from '../../../src/doctor/report.js';
import { DISTROS, distroFromOsRelease, packageFor } from '../../../src/topology/catalog/distros.js';
import type { Requirement } from '../../../src/topology/requirements.js';

describe('distros', () => {
  it('reads os-release(5): quoted or not, ID and VERSION_ID both count', () => {
    expect(
      distroFromOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nID=debian\n'),
    ).toBe('debian-12');
    expect(distroFromOsRelease('NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n')).toBe(
      'ubuntu-24.04',
    );
    expect(distroFromOsRelease('ID=ubuntu\nVERSION_ID="22.04"\n')).toBeNull();
  });

  it('renames only what differs, each rename with its reason', () => {
    expect(packageFor('ubuntu-24.04', 'nginx-light')).toBe('nginx');
    expect(packageFor('ubuntu-24.04', 'uwsgi-plugin-python3')).toBe('uwsgi-plugin-python3');
    expect(packageFor('debian-12', 'nginx-light')).toBe('nginx-light');
    for (const d of Object.values(DISTROS))
      for (const r of Object.values(d.renames)) expect(r.why.length).toBeGreaterThan(20);
  });

  it("doctor's install command uses the same names", () => {
    const nginx: Requirement = {
      kind: 'program',
      program: 'nginx',
      package: 'nginx-light',
      versionArgs: ['-v'],
      minVersion: '1.18.0',
      why: 'x',
      neededBy: 'nginx',
    };
    const finding = { requirement: nginx, status: 'missing' as const, version: null, detail: null };
    expect(buildReport([finding], { root: true, distro: 'ubuntu-24.04' }).installCommand).toBe(
      'apt-get install -y nginx',
    );
    expect(buildReport([finding], { root: true }).installCommand).toBe('apt-get install -y nginx-light');
  });
});
