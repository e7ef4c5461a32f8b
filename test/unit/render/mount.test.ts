// app.mount: the spec's rules (a server without a mechanism is refused), what nginx, the
// gateway, gunicorn and waitress are told, and the mount probe's judge on wrong splits.

import { describe, expect, it } from 'vitest';
import { type Artifact, renderArtifacts } from '../../../src/render/artifacts.js';
import { buildPlan } from '../../../src/render/plan.js';
import type { EchoResponse } from '../../../src/probes/contract.js';
import { mountProbe } from '../../../src/probes/mount.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';

function parse(text: string) {
  return parseStackSpec(text);
}

function render(text: string): Artifact[] {
  const { spec, errors } = parse(text);
  if (!spec) throw new Error(`invalid: ${JSON.stringify(errors)}`);
  return renderArtifacts(
    buildPlan(resolveTopology(spec, { cores: 2 }), productionSite(spec, { baseDir: '/srv/x' }), 'stack.yaml'),
  );
}

const file = (artifacts: Artifact[], prefix: string) => {
  const a = artifacts.find((x) => x.path.startsWith(prefix) && !x.path.endsWith('nginx.conf'));
  if (!a) throw new Error(`no ${prefix} in ${artifacts.map((x) => x.path).join(', ')}`);
  return a.content;
};

const stack = (app: string, serve: string, proxy: string) =>
  `name: m\napp:\n  mount: /hg\n${app}serve:\n${serve}proxy:\n${proxy}`;

describe('app.mount in stack.yaml', () => {
  it('defaults to / and takes a path without a trailing slash', () => {
    expect(parse('app: {framework: flask}').spec?.app.mount).toBe('/');
    for (const bad of ['hg', '/hg/', '/a//b', '/h g', '/../x'])
      expect(parse(`app: {framework: flask, mount: "${bad}"}`).errors, bad).not.toEqual([]);
    expect(parse('app: {framework: flask, mount: /a/b.c}').errors).toEqual([]);
  });

  it('is refused where the server cannot be told its prefix over HTTP, or without a proxy', () => {
    const refused = (text: string) =>
      parse(text)
        .errors.filter((e) => e.path?.join('.') === 'app.mount')
        .map((e) => e.message);
    expect(refused(stack('  framework: fastapi\n', '  server: uvicorn\n', '  kind: nginx\n'))[0]).toMatch(
      /Uvicorn .* cannot be mounted at \/hg: .*root_path/,
    );
    expect(refused(stack('  framework: tornado\n', '  server: tornado\n', '  kind: nginx\n'))[0]).toMatch(
      /absolute paths/,
    );
    // uWSGI's http-socket mounts the app itself (mount + manage-script-name).
    expect(
      refused(stack('  framework: flask\n', '  server: uwsgi\n', '  kind: nginx\n  protocol: http\n')),
    ).toEqual([]);
    expect(refused(stack('  framework: flask\n', '  server: gunicorn\n', '  kind: none\n'))[0]).toMatch(
      /needs a proxy/,
    );
    expect(refused(stack('  framework: flask\n', '  server: gunicorn\n', '  kind: nginx\n'))).toEqual([]);
    expect(refused(stack('  framework: flask\n', '  server: uwsgi\n', '  kind: gateway\n'))).toEqual([]);
  });

  it('refuses an unbuffered prefix outside the mount', () => {
    const { errors } = parse(
      stack('  framework: flask\n', '  server: uwsgi\n', '  kind: nginx\n  unbuffered: [/events/]\n'),
    );
    expect(errors.map((e) => e.message)).toContain(
      '/events/ is outside app.mount /hg: the app answers only below /hg/',
    );
  });
});

describe('app.mount rendered', () => {
  it('nginx over uwsgi: a /hg/ location, SCRIPT_NAME /hg, PATH_INFO from the map', () => {
    const site = file(
      render(stack('  framework: flask\n', '  server: uwsgi\n', '  kind: nginx\n')),
      'nginx/',
    );
    expect(site).toContain(
      'map $uri $m_path_info {\n    "~^/hg(?<stackgen_below_mount>/.*)?$" $stackgen_below_mount;',
    );
    expect(site).toContain('    location /hg/ {');
    expect(site).not.toMatch(/location \/ \{/);
    expect(site).toContain('uwsgi_param PATH_INFO $m_path_info;');
    expect(site).toContain('uwsgi_param SCRIPT_NAME /hg;');
  });

  it('nginx over HTTP to gunicorn: the whole path, SCRIPT_NAME in gunicorn raw_env, no map', () => {
    const out = render(stack('  framework: flask\n', '  server: gunicorn\n', '  kind: nginx\n'));
    const site = file(out, 'nginx/');
    expect(site).toContain('    location /hg/ {\n        proxy_pass http://m_app;');
    expect(site).not.toContain('map $uri');
    expect(file(out, 'gunicorn/')).toContain('raw_env = ["SCRIPT_NAME=/hg", ]');
  });

  it('waitress gets --url-prefix', () => {
    const out = render(stack('  framework: flask\n', '  server: waitress\n', '  kind: nginx\n'));
    expect(file(out, 'systemd/m@.service')).toContain('--url-prefix=/hg');
  });

  it('the gateway routes /hg/ with script_name /hg', () => {
    const gw = file(
      render(stack('  framework: flask\n', '  server: uwsgi\n', '  kind: gateway\n')),
      'gateway/',
    );
    expect(gw).toContain('  - path: "/hg/"');
    expect(gw).toContain('    script_name: "/hg"');
  });
});

describe('the mount probe judges', () => {
  const echo = (script_name: string, path: string) =>
    ({ app: 'wsgi', script_name, path }) as unknown as EchoResponse;
  const answer = (
    path: string,
    status: number,
    e: EchoResponse | null = null,
    location: string | null = null,
  ) => ({
    path,
    status,
    excerpt: '',
    echo: e,
    location,
  });
  const outside = [answer('/stackgen-verify/mount-outside', 404), answer('/hgx/stackgen-verify/mount', 404)];
  const good = {
    mount: '/hg',
    inside: answer('/hg/stackgen-verify/mount/x', 200, echo('/hg', '/stackgen-verify/mount/x')),
    bare: answer('/hg', 301, null, 'http://h/hg/'),
    outside,
  };
  const judge = (o: typeof good) => mountProbe.judge(o, {} as never).status;

  it('passes the right split', () => expect(judge(good)).toBe('pass'));
  it('fails an app mounted at / (SCRIPT_NAME empty)', () =>
    expect(
      judge({ ...good, inside: answer(good.inside.path, 200, echo('', '/hg/stackgen-verify/mount/x')) }),
    ).toBe('fail'));
  it('fails a path outside the mount reaching the app', () =>
    expect(
      judge({
        ...good,
        outside: [answer('/stackgen-verify/mount-outside', 200, echo('', '/x')), outside[1]!],
      }),
    ).toBe('fail'));
  it('fails /hg answered 404 (no redirect to /hg/)', () =>
    expect(judge({ ...good, bare: answer('/hg', 404) })).toBe('fail'));
  it('fails /hg reaching the app with a wrong split', () =>
    expect(judge({ ...good, bare: answer('/hg', 200, echo('', '/hg')) })).toBe('fail'));
});
