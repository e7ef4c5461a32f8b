import { describe, expect, it } from 'vitest';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { resolveTopology } from '../../../src/topology/resolve.js';

function topo(text: string, cores = 2) {
  const { spec, errors } = parseStackSpec(text);
  if (!spec) throw new Error(errors.map((e) => e.message).join('\n'));
  return resolveTopology(spec, { cores });
}
const app = (t: ReturnType<typeof topo>) => {
  const c = t.components.find((x) => x.role === 'app-server');
  if (c?.role !== 'app-server') throw new Error('no app server');
  return c;
};

describe('worker sizing rules', () => {
  it.each([
    ['prefork 2×cores+1', 'app: {framework: flask}\nserve: {server: gunicorn}', 4, 9, /2 × cores \+ 1/],
    ['async = cores', 'app: {framework: fastapi}', 4, 4, /one event loop per core/],
    [
      'gevent = cores',
      'app: {framework: flask}\nserve: {server: gunicorn, concurrency: gevent}',
      3,
      3,
      /event loop/,
    ],
    [
      'threads: process per core',
      'app: {framework: flask}\nserve: {server: gunicorn, concurrency: threads}',
      2,
      2,
      /one process per core/,
    ],
    [
      'explicit count wins',
      'app: {framework: flask}\nserve: {server: gunicorn, workers: 7}',
      2,
      7,
      /set in stack.yaml/,
    ],
    [
      'waitress: one process per port, one per core (threads inside)',
      'app: {framework: flask}\nserve: {server: waitress}',
      8,
      8,
      /threads: one process per core/,
    ],
    ['wsgiref is one process', 'app: {framework: flask}\nserve: {server: wsgiref}', 8, 1, /single process/],
  ])('%s', (_n, text, cores, count, reason) => {
    const w = app(topo(`${text}\n`, cores)).workers;
    expect(w.count).toBe(count);
    expect(w.reason).toMatch(reason);
  });

  it('threads default to 4 per process under the threads model', () => {
    expect(
      app(topo('app: {framework: flask}\nserve: {server: gunicorn, concurrency: threads}\n')).threads?.count,
    ).toBe(4);
  });
});

describe('resolveTopology', () => {
  it('nginx → uwsgi over a unix socket → flask', () => {
    const t = topo(
      'name: demo\napp: {framework: flask, static: {/static/: static}}\nserve: {server: uwsgi}\n',
    );
    expect(t.components.map((c) => c.id)).toEqual(['app', 'nginx']);
    expect(t.hops.find((h) => h.id === 'upstream')).toMatchObject({
      protocol: 'uwsgi',
      via: { kind: 'unix', file: 'demo.sock' },
    });
    expect(t.paths.map((p) => p.name)).toEqual(['app', 'static /static/']);
    expect(t.packages).toContain('uwsgi-plugin-python3');
  });

  it('tornado: one process per port, balanced by nginx', () => {
    const t = topo('app: {framework: tornado}\nserve: {workers: 3, port: 9000}\n');
    const a = app(t);
    expect(a.instances).toBe(3);
    expect(a.listen).toEqual([9000, 9001, 9002].map((port) => ({ kind: 'tcp', host: '127.0.0.1', port })));
  });

  it('CGI behind nginx adds fcgiwrap and speaks FastCGI to it', () => {
    const t = topo('app: {framework: cgi, entry: hello.cgi}\nproxy: {kind: nginx}\n');
    expect(t.components.map((c) => c.id)).toEqual(['fcgiwrap', 'nginx']);
    expect(t.hops.find((h) => h.id === 'upstream')?.protocol).toBe('fastcgi');
    expect(t.packages).toContain('fcgiwrap');
  });

  it('CGI behind the gateway has no long-running app process', () => {
    const t = topo('app: {framework: bottle}\nserve: {server: cgi}\nproxy: {kind: gateway}\n');
    expect(t.components.map((c) => c.id)).toEqual(['gateway']);
    expect(t.hops.find((h) => h.id === 'app')?.protocol).toBe('cgi');
  });

  it('without a proxy the app server listens where clients connect', () => {
    const t = topo('app: {framework: fastapi}\nproxy: {kind: none, listen: "0.0.0.0:8000"}\n');
    expect(app(t).listen).toEqual([{ kind: 'tcp', host: '0.0.0.0', port: 8000 }]);
  });
});

describe("uWSGI's http router with no proxy", () => {
  const direct = 'app: {framework: flask}\nserve: {server: uwsgi}\nproxy: {kind: none, listen: "81"}';

  it('faces clients in front of the workers: client → router → workers over uwsgi on a unix socket', () => {
    const t = topo(direct);
    expect(app(t).router).toMatchObject({ title: "uWSGI's http router", protocol: 'uwsgi' });
    expect(app(t).router?.inner.kind).toBe('unix');
    expect(t.hops.map((h) => [h.from, h.to, h.protocol])).toEqual([
      ['client', 'router', 'http'],
      ['router', 'app', 'uwsgi'],
      ['app', 'python', 'wsgi'],
    ]);
    expect(t.paths[0]!.hops).toEqual(['client', 'router', 'app']);
  });

  it('is not there behind a proxy, nor for a server without one', () => {
    expect(app(topo('app: {framework: flask}\nserve: {server: uwsgi}')).router).toBeNull();
    expect(
      app(topo('app: {framework: flask}\nserve: {server: gunicorn}\nproxy: {kind: none, listen: "81"}'))
        .router,
    ).toBeNull();
  });
});
