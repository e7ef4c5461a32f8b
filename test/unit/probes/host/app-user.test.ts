import { describe, expect, it } from 'vitest';
import { planContext as ctxOf } from '../../../helpers/probe-context.js';
import { appUserProbe, idsOfStatus, unixSocketInodes } from '../../../../src/probes/host/app-user.js';

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
  const sock = {
    path: '/run/flask-gunicorn/flask-gunicorn.sock',
    uid: 999,
    gid: 999,
    mode: 0o770,
    dirMode: 0o750,
  };
  const accounts = { app: 999, group: 999, proxy: 33 };

  it('passes: app as its own account, socket 770 of its group, nginx workers in that group', () => {
    const v = appUserProbe.judge(
      {
        frontRunsApp: false,
        asProxyDocumented: false,
        inFront: null,
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
        asProxyDocumented: false,
        inFront: null,
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
        asProxyDocumented: false,
        inFront: null,
        app: [proc(10, 999, 999)],
        proxy: [proc(20, 33, 33, [33])],
        sockets: [{ ...sock, mode: 0o777, dirMode: 0o755 }],
        accounts,
      },
      ctx,
    );
    expect(v.status).toBe('fail');
    expect(v.actual).toMatch(/others can connect/);
    expect(v.actual).toMatch(/proxy processes without group flask-gunicorn/);
  });

  it("passes uvicorn's 666 socket inside the app's 750 runtime directory: others cannot reach it", () => {
    const v = appUserProbe.judge(
      {
        frontRunsApp: false,
        asProxyDocumented: false,
        inFront: null,
        app: [proc(10, 999, 999)],
        proxy: [proc(20, 33, 33, [33, 999])],
        sockets: [{ ...sock, mode: 0o666, dirMode: 0o750 }],
        accounts,
      },
      ctx,
    );
    expect(v.status).toBe('pass');
  });

  it("takes Apache's mod_cgid running the scripts as www-data as documented, and nothing else", () => {
    const cgi = ctxOf('cgi-apache.yaml');
    const observed = {
      frontRunsApp: true,
      asProxyDocumented: true,
      inFront: null,
      app: [proc(30, 33, 33), proc(31, 33, 33)],
      proxy: [],
      sockets: [],
      accounts,
    };
    const ok = appUserProbe.judge(observed, cgi);
    expect(ok.status).toBe('pass');
    expect(ok.actual).toMatch(/as documented/);
    const odd = appUserProbe.judge({ ...observed, app: [proc(30, 33, 33), proc(32, 1000, 1000)] }, cgi);
    expect(odd.status).toBe('fail');
    expect(odd.actual).toMatch(/32 uid 1000/);
  });
});
