import { describe, expect, it } from 'vitest';
import { planContext as ctxOf } from '../../../helpers/probe-context.js';
import { parseEnviron, secretsProbe } from '../../../../src/probes/host/secrets.js';

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
