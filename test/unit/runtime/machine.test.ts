import { describe, expect, it } from 'vitest';
import { exposureOf } from '../../../src/probes/host/hardening.js';
import { join } from 'node:path';
import {
  MASKED_UNITS,
  machineMasks,
  machineView,
  nestedMountsCovering,
} from '../../../src/runtime/machine.js';
import { portHolderServices, restagedYaml } from '../../../src/runtime/machine-target.js';
import { readStackSpec } from '../../../src/stack/parse.js';

describe('nestedMountsCovering', () => {
  it('names the mount a path lives on when it is not the root filesystem', () => {
    const mounts = ['/', '/proc', '/home', '/home/build', '/srv/data'];
    expect(
      nestedMountsCovering(['/work/checkout', '/home/build/app', '/home/x', '/srv/data'], mounts),
    ).toEqual(['/home', '/home/build', '/srv/data']);
    expect(nestedMountsCovering(['/opt/app'], mounts)).toEqual([]);
  });
});

describe('restagedYaml', () => {
  it("replaces keys of app, drops the checks, and keeps the user's comments and other keys", () => {
    const text =
      '# my stack\nname: shop\napp:\n  framework: flask  # the web app\n  root: apps/shop\nserve: {server: uwsgi}\nchecks:\n  - path: /\n';
    const out = restagedYaml(text, { root: '/srv/stackgen-verify/shop/app', env: { A: '1' } }, true);
    expect(out).toContain('# my stack');
    expect(out).toContain('framework: flask # the web app');
    expect(out).toContain('root: /srv/stackgen-verify/shop/app');
    expect(out).toMatch(/env:\n\s+A: "1"/);
    expect(out).not.toContain('checks');
    expect(out).toContain('serve: { server: uwsgi }');
  });
});

describe('exposureOf', () => {
  it('reads systemd-analyze security’s overall level', () => {
    expect(exposureOf('... \n→ Overall exposure level for app.service: 1.3 OK 🙂\n')).toBe(1.3);
    expect(exposureOf('Unit app.service not found.')).toBeNull();
  });
});

describe('machineView', () => {
  it('binds a checkout under /tmp below /opt/stackgen-host (the boot empties /tmp, units get a private one)', () => {
    const view = machineView(
      ['/tmp/ci/clone', '/tmp/ci/clone/examples', '/work/app', '/home/u/app'],
      ['/', '/home'],
    );
    expect(view.binds).toEqual([
      { from: '/home', to: '/home' },
      { from: '/tmp/ci/clone', to: '/opt/stackgen-host/tmp/ci/clone' },
    ]);
    expect(view.inside('/tmp/ci/clone/src/main.ts')).toBe('/opt/stackgen-host/tmp/ci/clone/src/main.ts');
    expect(view.inside('/tmp/other')).toBe('/tmp/other');
    expect(view.inside('/work/app/x')).toBe('/work/app/x');
  });
});

describe('portHolderServices', () => {
  const spec = (f: string) => readStackSpec(join(import.meta.dirname, '..', '..', '..', 'examples', f)).spec;
  it("masks Debian's nginx for a gateway on port 80 (a host of its own), never for nginx stacks or 8080", () => {
    expect(portHolderServices(spec('flask-gunicorn-gateway-acme.yaml'))).toContain('nginx.service');
    expect(portHolderServices(spec('flask-gunicorn-gateway-tls.yaml'))).toEqual([]);
    expect(portHolderServices(spec('django-uwsgi-nginx-acme.yaml'))).toEqual([]);
  });
});

describe('machineMasks: the units a throwaway machine masks for a stack', () => {
  it("keeps Debian's apache2.service masked for nginx stacks, nginx running", () => {
    expect(machineMasks('nginx')).toContain('apache2.service');
    expect(machineMasks('nginx')).not.toContain('nginx.service');
    expect(machineMasks('gateway')).toEqual([...MASKED_UNITS]);
  });
  it('unmasks apache2.service for an Apache stack (catalog distro.unit) and masks nginx, whose default site holds port 80', () => {
    const masks = machineMasks('apache');
    expect(masks).not.toContain('apache2.service');
    expect(masks).toContain('nginx.service');
    expect(masks).toContain('lighttpd.service');
  });
});
