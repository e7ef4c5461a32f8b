import { describe, expect, it } from 'vitest';
import { planContext as ctxOf } from '../../../helpers/probe-context.js';
import { writableProbe } from '../../../../src/probes/host/writable.js';

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
