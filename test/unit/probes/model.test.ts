// The concurrency model and the documented gaps, from real example plans.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackBehaviour } from '../../../src/probes/behaviour.js';
import { concurrencyPlan } from '../../../src/probes/concurrency.js';
import { streamsToProbe } from '../../../src/probes/streaming.js';
import { probeFrameworkFor, substituteProbeApp } from '../../../src/probes/substitute.js';
import { buildPlan } from '../../../src/render/plan.js';
import { readStackSpec } from '../../../src/stack/parse.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';

const EXAMPLES = join(import.meta.dirname, '../../../examples');

function planOf(file: string) {
  const loaded = readStackSpec(join(EXAMPLES, file));
  return buildPlan(
    resolveTopology(loaded.spec, { cores: 2 }),
    productionSite(loaded.spec, { baseDir: EXAMPLES }),
    file,
  );
}

describe('concurrency model', () => {
  it('prefork W workers: W + 1 requests in 2 rounds, every worker busy', () => {
    const b = stackBehaviour(planOf('flask-uwsgi-nginx.yaml'), 'flask');
    expect(b.concurrency).toMatchObject({ slots: 5, processes: 5, allProcessesBusy: true });
    expect(concurrencyPlan(b.concurrency)).toEqual({ requests: 6, rounds: 2 });
  });

  it('threads: W × T slots', () => {
    const b = stackBehaviour(planOf('flask-gunicorn-systemd.yaml'), 'flask');
    expect(b.concurrency.slots).toBe(b.concurrency.processes! * 4);
  });

  it('async: one round; per-port tornado processes all answer', () => {
    const b = stackBehaviour(planOf('tornado-nginx.yaml'), 'tornado');
    expect(concurrencyPlan(b.concurrency)).toEqual({ requests: 4, rounds: 1 });
    expect(b.concurrency).toMatchObject({ processes: 2, allProcessesBusy: true });
  });

  it('tornado WSGIContainer: serial per process and buffered, as data', () => {
    const b = stackBehaviour(planOf('tornado-wsgi-flask.yaml'), 'flask');
    expect(b).toMatchObject({ streams: false, readsChunkedBody: true });
    expect(b.concurrency).toMatchObject({ slots: 2, processes: 2 });
    expect(b.notes.join()).toMatch(/WSGIContainer/);
  });

  it('CGI under the gateway: a process per request, unbounded', () => {
    const file = 'bottle-cgi-gateway.yaml';
    expect(Number.isFinite(stackBehaviour(planOf(file), 'bottle').concurrency.slots)).toBe(false);
  });
});

describe('probe app substitution', () => {
  it('maps framework and interface to a probe app', () => {
    const spec = readStackSpec(join(EXAMPLES, 'django-asgi-uvicorn.yaml')).spec;
    expect(probeFrameworkFor(spec)).toBe('django-asgi');
    expect(probeFrameworkFor(readStackSpec(join(EXAMPLES, 'tornado-wsgi-flask.yaml')).spec)).toBe('flask');
    expect(probeFrameworkFor(readStackSpec(join(EXAMPLES, 'bottle-cgi-gateway.yaml')).spec)).toBe('bottle');
  });

  it('changes only the app block: entry, root, env, static dirs; no user checks', () => {
    const spec = readStackSpec(join(EXAMPLES, 'django-gunicorn-nginx.yaml')).spec;
    const out = substituteProbeApp(spec, {
      key: 'django',
      app: {
        dir: 'apps/django',
        entry: 'probe_django.wsgi:application',
        interface: 'wsgi',
        websocket: false,
        secureCookie: true,
      },
      root: '/tmp/x/app',
      counterFile: '/tmp/x/probe/count',
    });
    expect(out.app).toMatchObject({
      root: '/tmp/x/app',
      entry: 'probe_django.wsgi:application',
      // The probe's directory keeps the user's options (immutable: hashed names).
      static: { '/static/': { dir: 'static-0', immutable: true } },
      env: { DJANGO_SETTINGS_MODULE: 'probe_django.settings', STACKGEN_PROBE_COUNTER: '/tmp/x/probe/count' },
    });
    expect(out.serve).toEqual(spec.serve);
    expect(out.proxy).toEqual(spec.proxy);
    expect(out.checks).toEqual([]);
  });
});

describe('which streams the streaming probe asks for', () => {
  const urls = (file: string, app: Parameters<typeof stackBehaviour>[1]) => {
    const plan = planOf(file);
    return streamsToProbe({ plan, behaviour: stackBehaviour(plan, app) }).map((s) => s.url.split('?')[1]);
  };

  it("nginx before sync WSGI: the app's opt-out on `/`, none below an unbuffered prefix", () => {
    const plan = planOf('flask-uwsgi-nginx.yaml');
    const streams = streamsToProbe({ plan, behaviour: stackBehaviour(plan, 'flask') });
    expect(streams.map((s) => [s.url.split('?')[0], s.accel])).toEqual([
      ['/__probe/stream', true],
      ['/events/__probe/stream', false],
    ]);
  });

  it.each([
    ['fastapi-uvicorn-nginx.yaml', 'fastapi'],
    ['tornado-nginx.yaml', 'tornado'],
    ['default.yaml', 'wsgi'],
  ] as const)('%s must stream without the opt-out', (file, app) => {
    expect(urls(file, app).every((q) => !q?.includes('accel'))).toBe(true);
  });
});
