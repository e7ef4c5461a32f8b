import { describe, expect, it } from 'vitest';
import { planContext } from '../../../helpers/probe-context.js';
import { listenersProbe } from '../../../../src/probes/host/listeners.js';
import type { InstalledHost, ProbeContext } from '../../../../src/probes/types.js';

const host = (proxyService: string) =>
  ({ proxyService, startUnits: [], appUnits: [], manager: 'systemd' }) as unknown as InstalledHost;
const listener = (address: string, port: number, unit: string) => ({
  address,
  port,
  loopback: false,
  inode: 1,
  pid: 1,
  command: 'x',
  unit,
});

describe('listeners probe: both wildcards of proxy.listen', () => {
  it("Apache's one v4-mapped [::]:8080 socket holds 0.0.0.0:8080 too (catalog v6WildcardTakesV4)", () => {
    const ctx = { ...planContext('flask-uwsgi-apache.yaml'), host: host('apache2') } as ProbeContext;
    const v = listenersProbe.judge([listener('::', 8080, 'apache2.service')], ctx);
    expect(v.status).toBe('pass');
  });
  it('a front without it (lighttpd) with only a [::]:8080 socket does not listen on 0.0.0.0:8080', () => {
    const ctx = { ...planContext('flask-uwsgi-lighttpd.yaml'), host: host('lighttpd') } as ProbeContext;
    const v = listenersProbe.judge([listener('::', 8080, 'lighttpd.service')], ctx);
    expect(v.status).toBe('fail');
  });
});
