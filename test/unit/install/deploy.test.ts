// How new code goes live, per example: a reload where the server has a graceful one, a
// rolling restart where it runs one process per port, a restart said plainly otherwise.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeUpdate, codeUpdateSteps } from '../../../src/install/deploy.js';
import { renderArtifacts } from '../../../src/render/artifacts.js';
import { buildPlan } from '../../../src/render/plan.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples');

function updateOf(file: string, edit: (text: string) => string = (t) => t) {
  const loaded = parseStackSpec(edit(readFileSync(join(EXAMPLES, file), 'utf8')));
  if (loaded.spec === undefined) throw new Error(`${file}: ${JSON.stringify(loaded.errors)}`);
  const plan = buildPlan(
    resolveTopology(loaded.spec, { cores: 2 }),
    productionSite(loaded.spec, { baseDir: '/srv/x' }),
    file,
  );
  const update = codeUpdate(plan, renderArtifacts(plan));
  return { update, steps: codeUpdateSteps(plan, update) };
}

describe('codeUpdate', () => {
  it('chain-reloads uWSGI through its master FIFO under systemd (the unit does it)', () => {
    const { update } = updateOf('flask-uwsgi-nginx.yaml');
    expect(update).toMatchObject({
      kind: 'reload',
      commands: [['systemctl', 'reload', 'flask-uwsgi.service']],
    });
    expect(update.why).toMatch(/chain reload/);
  });

  it('sends gunicorn HUP through supervisorctl signal under supervisor', () => {
    const { update } = updateOf('flask-gunicorn-supervisor.yaml');
    expect(update).toMatchObject({
      kind: 'reload',
      commands: [['supervisorctl', 'signal', 'HUP', 'flask-gunicorn']],
    });
  });

  it('restarts per-port tornado instances one at a time, each waited for', () => {
    const { update, steps } = updateOf('tornado-nginx.yaml');
    expect(update.kind).toBe('rolling-restart');
    expect(update.kind === 'rolling-restart' && update.instances.map((i) => i.unit)).toEqual([
      'tornado@8100.service',
      'tornado@8101.service',
    ]);
    expect(steps.filter((s) => s.startsWith('until '))).toHaveLength(2);
    expect(steps.filter((s) => s.startsWith('sleep '))).toEqual([]);
  });

  it('behind lighttpd, waits for lighttpd to take an instance back before it restarts the next', () => {
    const { update, steps } = updateOf('tornado-nginx.yaml', (t) =>
      t.replace('kind: nginx', 'kind: lighttpd'),
    );
    expect(update.kind === 'rolling-restart' && update.readmit?.seconds).toBe(3);
    // restart, wait for its answer, wait for lighttpd; restart the last, wait for its answer.
    expect(steps.filter((s) => !s.startsWith('#')).map((s) => s.split(' ')[0])).toEqual([
      'sudo',
      'until',
      'sleep',
      'sudo',
      'until',
    ]);
  });

  it('says plainly that a one-process server without reload refuses connections on restart', () => {
    const { update } = updateOf('fastapi-uvicorn-direct.yaml');
    expect(update.kind).toBe('restart');
    expect(update.why).toMatch(/refuses new connections until it is back \(clients facing it directly/);
  });

  it('restarts the instances of a one-process-per-port server one at a time (uvicorn, waitress, tornado)', () => {
    for (const example of ['fastapi-uvicorn-nginx.yaml', 'bottle-waitress-nginx.yaml', 'tornado-nginx.yaml'])
      expect(updateOf(example).update.kind, example).toBe('rolling-restart');
  });

  it('has nothing to do for CGI', () => {
    expect(updateOf('cgi-fcgiwrap-nginx.yaml').update.kind).toBe('none');
  });
});
