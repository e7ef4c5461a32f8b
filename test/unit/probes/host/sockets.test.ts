import { describe, expect, it } from 'vitest';
import { parseProcNetTcp, unitOfCgroup } from '../../../../src/probes/host/sockets.js';

const HEAD =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

describe('parseProcNetTcp', () => {
  it('reads IPv4 listeners (little-endian address, hex port) and skips other states', () => {
    const text = `${HEAD}   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0 100 0 0 10 0\n   1: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000    33        0 2345 1 0 100 0 0 10 0\n   2: 0100007F:1F40 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000    33        0 3456 1 0 100 0 0 10 0\n`;
    expect(parseProcNetTcp(text, 4)).toEqual([
      { address: '0.0.0.0', port: 80, loopback: false, inode: 1234 },
      { address: '127.0.0.1', port: 8000, loopback: true, inode: 2345 },
    ]);
  });

  it('reads IPv6 listeners: the wildcard, loopback, and a v4-mapped loopback', () => {
    const line = (addr: string, inode: number) =>
      `   0: ${addr}:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0 100 0 0 10 0\n`;
    const text =
      HEAD +
      line('00000000000000000000000000000000', 1) +
      line('00000000000000000000000001000000', 2) +
      line('0000000000000000FFFF00000100007F', 3) +
      line('B80D0120000000000000000001000000', 4);
    expect(parseProcNetTcp(text, 6).map((l) => [l.address, l.loopback])).toEqual([
      ['::', false],
      ['::1', true],
      ['::ffff:7f00:1', true],
      ['2001:db8::1', false],
    ]);
  });
});

describe('unitOfCgroup', () => {
  it('finds the service in cgroup v1 and v2 texts', () => {
    expect(
      unitOfCgroup('12:pids:/system.slice/nginx.service\n1:name=systemd:/system.slice/nginx.service\n'),
    ).toBe('nginx.service');
    expect(unitOfCgroup('0::/system.slice/tornado@8000.service\n')).toBe('tornado@8000.service');
    expect(unitOfCgroup('0::/user.slice/user-0.slice/session-1.scope\n')).toBe('session-1.scope');
    expect(unitOfCgroup('0::/\n')).toBeNull();
  });
});
