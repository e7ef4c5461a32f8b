// tasks: the Celery worker, beat and the stack's own Redis — what resolve, plan and render
// make of them (the probes task-roundtrip and task-warm-stop prove the running stack).

import { describe, expect, it } from 'vitest';
import { backendUnitFilter } from '../../../src/install/steps.js';
import { renderArtifacts } from '../../../src/render/artifacts.js';
import { explainText } from '../../../src/render/explain.js';
import { buildPlan, type Plan } from '../../../src/render/plan.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';

const BASE = 'name: s\napp: {framework: flask, entry: app:app}\n';

function planOf(text: string): Plan {
  const { spec, errors } = parseStackSpec(text);
  if (!spec) throw new Error(JSON.stringify(errors));
  return buildPlan(
    resolveTopology(spec, { cores: 2 }),
    productionSite(spec, { baseDir: '/srv/x' }),
    'stack.yaml',
  );
}

function file(plan: Plan, path: string): string {
  const a = renderArtifacts(plan).find((x) => x.path === path);
  if (!a) throw new Error(`no ${path}`);
  return a.content;
}

describe('tasks: Celery workers, beat and their broker', () => {
  it("the stack's own Redis, the worker and beat; the app server and the workers wait for the broker", () => {
    const plan = planOf(`${BASE}tasks: {app: app:celery, beat: true, time_limit: 120}\n`);
    const byId = new Map(plan.topology.components.map((c) => [c.id, c]));
    expect([...byId.keys()]).toEqual(expect.arrayContaining(['app', 'broker', 'worker', 'beat']));
    expect(byId.get('app')!.dependsOn).toContain('broker');
    expect(byId.get('worker')!.dependsOn).toEqual(['broker']);
    // A warm shutdown waits for the running tasks, which the time limit bounds.
    expect(byId.get('worker')!.stopGraceSeconds).toBe(135);
    const worker = plan.launches.find((l) => l.component === 'worker')!;
    expect(worker.argv).toEqual([
      '/usr/bin/python3',
      '-m',
      'celery',
      '-A',
      'app:celery',
      'worker',
      '--loglevel',
      'INFO',
      '--pool',
      'prefork',
      '--concurrency',
      '2',
      '--time-limit',
      '120',
      '--soft-time-limit',
      '108',
    ]);
    // Every process of the app — the web one too, it sends the tasks — gets the broker's URL.
    const url = 'redis+socket:///run/s-broker/redis.sock';
    for (const id of ['app', 'worker', 'beat'])
      expect(plan.launches.find((l) => l.component === id)!.env).toMatchObject({
        CELERY_BROKER_URL: url,
        CELERY_RESULT_BACKEND: url,
      });
    expect(plan.launches.find((l) => l.component === 'broker')!.env).toEqual({});
  });

  it('systemd: TERM (warm shutdown) with TimeoutStopSec = time limit + margin; the broker alone in a 0700 runtime dir', () => {
    const plan = planOf(`${BASE}tasks: {app: app:celery, beat: true, time_limit: 120}\n`);
    const worker = file(plan, 'systemd/s-worker.service');
    expect(worker).toMatch(/^KillSignal=SIGTERM$/m);
    expect(worker).toMatch(/^KillMode=mixed$/m);
    expect(worker).toMatch(/^TimeoutStopSec=135$/m);
    expect(worker).toMatch(/^After=s-broker.service$/m);
    expect(worker).not.toMatch(/^RuntimeDirectory=/m);
    const broker = file(plan, 'systemd/s-broker.service');
    expect(broker).toMatch(/^RuntimeDirectory=s-broker$/m);
    expect(broker).toMatch(/^RuntimeDirectoryMode=0700$/m);
    expect(broker).toMatch(/^StateDirectory=s-broker$/m);
    expect(file(plan, 'systemd/s-beat.service')).toMatch(/^StateDirectory=s-beat$/m);
    expect(file(plan, 'systemd/s.service')).toMatch(/^After=s-broker.service$/m);
    const conf = file(plan, 'redis/s.conf');
    expect(conf).toMatch(/^port 0$/m);
    expect(conf).toMatch(/^unixsocket \/run\/s-broker\/redis.sock$/m);
    expect(conf).toMatch(/^unixsocketperm 600$/m);
    expect(conf).toMatch(/^dir \/var\/lib\/s-broker$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
  });

  it('supervisor: TERM to the worker main process only (stopasgroup=false), the others to the group', () => {
    const plan = planOf(
      `${BASE}processes: {manager: supervisor}\ntasks: {app: app:celery, beat: true, time_limit: 60}\n`,
    );
    const programs = file(plan, 'supervisor/s.conf');
    const section = (name: string) => programs.split(`[program:${name}]`)[1]!.split('[program:')[0]!;
    expect(section('s-worker')).toMatch(/^stopasgroup=false$/m);
    expect(section('s-worker')).toMatch(/^killasgroup=true$/m);
    expect(section('s-worker')).toMatch(/^stopsignal=TERM$/m);
    expect(section('s-worker')).toMatch(/^stopwaitsecs=75$/m);
    expect(section('s')).toMatch(/^stopasgroup=true$/m);
    expect(section('s-broker')).toMatch(/^stopasgroup=true$/m);
    // supervisor makes no directories: tmpfiles does, the broker's and the state ones 0700.
    const tmpfiles = file(plan, 'tmpfiles/s.conf');
    expect(tmpfiles).toMatch(/^d \/run\/s-broker 0700 s s -$/m);
    expect(tmpfiles).toMatch(/^d \/var\/lib\/s-beat 0700 s s -$/m);
  });

  it('an existing broker URL: no broker process, the URL in the units; `env`: only app.env_file names it', () => {
    const url = planOf(`${BASE}tasks: {app: app:celery, broker: 'redis://10.0.0.5:6379/0'}\n`);
    expect(url.topology.components.some((c) => c.role === 'broker')).toBe(false);
    expect(url.launches.find((l) => l.component === 'worker')!.env).toMatchObject({
      CELERY_BROKER_URL: 'redis://10.0.0.5:6379/0',
    });
    const env = planOf(
      'name: s\napp: {framework: flask, entry: app:app, env_file: s.env}\ntasks: {app: app:celery, broker: env}\n',
    );
    expect(env.launches.find((l) => l.component === 'worker')!.env['CELERY_BROKER_URL']).toBeUndefined();
  });

  it('refuses a broker URL with a password (it would be written into a unit anyone may read)', () => {
    const { spec } = parseStackSpec(`${BASE}tasks: {app: app:celery, broker: 'redis://:s3cret@db:6379/0'}\n`);
    expect(spec).toBeFalsy();
  });

  it('refuses broker: env without app.env_file, and tasks for a CGI script', () => {
    const env = parseStackSpec(`${BASE}tasks: {app: app:celery, broker: env}\n`);
    expect(env.errors.map((e) => e.path.join('.'))).toContain('tasks.broker');
    const cgi = parseStackSpec('name: s\napp: {framework: cgi, entry: x.cgi}\ntasks: {app: app:celery}\n');
    expect(cgi.errors.map((e) => e.path.join('.'))).toContain('tasks');
  });

  it('the app server units the probes stop and reload are not the broker, the worker or beat', () => {
    const plan = planOf(`${BASE}tasks: {app: app:celery, beat: true}\n`);
    const isBackend = backendUnitFilter(plan);
    expect(['s.service', 's-broker.service', 's-worker.service', 's-beat.service'].filter(isBackend)).toEqual(
      ['s.service'],
    );
  });

  it('explain draws web → broker → worker', () => {
    const text = explainText(planOf(`${BASE}tasks: {app: app:celery}\n`));
    const tasks = text.slice(text.indexOf('path "tasks"'));
    const order = [
      'Gunicorn',
      'Redis (broker)',
      'Celery worker [prefork, 2 processes]',
      'tasks of app:celery',
    ];
    const at = order.map((n) => tasks.indexOf(n));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(tasks).toContain('REDIS unix:/run/s-broker/redis.sock');
  });

  it("explain draws beat's periodic tasks as a path of their own, with no probe on it", () => {
    const plan = planOf(`${BASE}tasks: {app: app:celery, beat: true}\n`);
    const text = explainText(plan);
    expect(text).toContain('path "periodic tasks":\n  Celery beat\n');
    expect(plan.topology.paths.find((p) => p.name === 'periodic tasks')!.kind).toBe('schedule');
  });
});
