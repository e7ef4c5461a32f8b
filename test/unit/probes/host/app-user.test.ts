import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appUserProbe, idsOfStatus, unixSocketInodes } from '../../../../src/probes/host/app-user.js';
import { parseEnviron, secretsProbe } from '../../../../src/probes/host/secrets.js';
import { writableProbe } from '../../../../src/probes/host/writable.js';
import { buildPlan } from '../../../../src/render/plan.js';
import { readStackSpec } from '../../../../src/stack/parse.js';
import { resolveTopology } from '../../../../src/topology/resolve.js';
import { productionSite } from '../../../../src/topology/site.js';
import type { ProbeContext } from '../../../../src/probes/types.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', '..', 'examples');

function ctxOf(example: string): ProbeContext {
  const loaded = readStackSpec(join(EXAMPLES, example));
  const plan = buildPlan(
    resolveTopology(loaded.spec, { cores: 2 }),
    productionSite(loaded.spec, { baseDir: '/srv/x' }),
    example,
  );
  return { plan } as ProbeContext;
}

const proc = (pid: number, uid: number, gid: number, groups: number[] = []) => ({
  pid,
  uid,
  gid,
  groups,
  command: 'gunicorn',
});

describe('app-user probe', () => {
  it('reads real ids and supplementary groups from /proc/PID/status', () => {
    const status = 'Name:\tnginx\nUid:\t33\t33\t33\t33\nGid:\t33\t33\t33\t33\nGroups:\t33 999 \n';
    expect(idsOfStatus(status)).toEqual({ uid: 33, gid: 33, groups: [33, 999] });
    expect(idsOfStatus('Name:\tx\n')).toBeNull();
  });

  it('finds the listening unix socket bound to a path (not its connections)', () => {
    const text =
      'Num       RefCount Protocol Flags    Type St Inode Path\n' +
      '0000000000000000: 00000002 00000000 00010000 0001 01 4242 /run/shop/shop.sock\n' +
      '0000000000000000: 00000003 00000000 00000000 0001 03 4343 /run/shop/shop.sock\n' +
      '0000000000000000: 00000002 00000000 00010000 0001 01 4444 /run/other.sock\n';
    expect(unixSocketInodes(text, '/run/shop/shop.sock')).toEqual([4242]);
  });

  const ctx = ctxOf('flask-gunicorn-systemd.yaml');
  const sock = { path: '/run/flask-gunicorn/flask-gunicorn.sock', uid: 999, gid: 999, mode: 0o770 };
  const accounts = { app: 999, group: 999, proxy: 33 };

  it('passes: app as its own account, socket 770 of its group, nginx workers in that group', () => {
    const v = appUserProbe.judge(
      {
        frontRunsApp: false,
        app: [proc(10, 999, 999), proc(11, 999, 999)],
        proxy: [proc(20, 33, 33, [33, 999])],
        sockets: [sock],
        accounts,
      },
      ctx,
    );
    expect(v.status).toBe('pass');
  });

  it('fails the old render: the app as www-data, the proxy user', () => {
    const v = appUserProbe.judge(
      {
        frontRunsApp: false,
        app: [proc(10, 33, 33)],
        proxy: [proc(20, 33, 33)],
        sockets: [sock],
        accounts: { ...accounts, app: 33 },
      },
      ctx,
    );
    expect(v).toMatchObject({ status: 'fail' });
    expect(v.actual).toMatch(/proxy's user/);
  });

  it('fails when nginx workers lack the group (a membership never picked up), or others can connect', () => {
    const v = appUserProbe.judge(
      {
        frontRunsApp: false,
        app: [proc(10, 999, 999)],
        proxy: [proc(20, 33, 33, [33])],
        sockets: [{ ...sock, mode: 0o777 }],
        accounts,
      },
      ctx,
    );
    expect(v.status).toBe('fail');
    expect(v.actual).toMatch(/others can connect/);
    expect(v.actual).toMatch(/proxy processes without group flask-gunicorn/);
  });
});

describe('secrets probe', () => {
  it('reads /proc/PID/environ pairs (values may contain =)', () => {
    expect([...parseEnviron('A=1\0URL=x=y\0\0')]).toEqual([
      ['A', '1'],
      ['URL', 'x=y'],
    ]);
  });

  it('fails on a leak or a process without the value, naming keys, never values', () => {
    const v = secretsProbe.judge(
      {
        keys: ['FLASK_SECRET_KEY'],
        missing: [{ pid: 12, keys: ['FLASK_SECRET_KEY'] }],
        processes: 2,
        leaks: ["systemctl show -p Environment x.service has FLASK_SECRET_KEY's value"],
        fileMode: 0o644,
        fileUid: 0,
      },
      ctxOf('flask-gunicorn-systemd.yaml'),
    );
    expect(v.status).toBe('fail');
    expect(v.actual).toContain('pid 12 lacks FLASK_SECRET_KEY');
    expect(v.actual).toContain('not root');
    expect(v.actual).not.toContain('example-placeholder');
  });
});

describe('writable probe', () => {
  const ctx = ctxOf('flask-gunicorn-supervisor.yaml');
  const dir = '/srv/x/apps/flask/data';

  it('passes when the app owns and writes each directory', () => {
    expect(ctx.plan.app.writable).toEqual([dir]);
    const v = writableProbe.judge(
      { pidAnswered: true, dirs: [{ path: dir, owner: 'flask-gunicorn:flask-gunicorn', writable: true }] },
      ctx,
    );
    expect(v.status).toBe('pass');
  });

  it('fails when the directory is not the app’s, or the app cannot write it (no ReadWritePaths=)', () => {
    const v = writableProbe.judge(
      { pidAnswered: true, dirs: [{ path: dir, owner: 'www-data:www-data', writable: false }] },
      ctx,
    );
    expect(v.status).toBe('fail');
    expect(v.actual).toBe(`${dir} is www-data:www-data; the app cannot write ${dir}`);
  });
});
