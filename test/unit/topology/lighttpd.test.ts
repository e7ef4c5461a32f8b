// proxy.kind lighttpd: its catalog entry as the rules read it, its rendered config, and its
// config test (`lighttpd -tt -f`, which exits 0 for a key it ignores — the judge fails it).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderArtifacts } from '../../../src/render/artifacts.js';
import { buildPlan } from '../../../src/render/plan.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { judgeLighttpd } from '../../../src/topology/catalog/checks.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';
import { describeWith } from '../../helpers/tools.js';

const STACK =
  'app: {framework: flask, static: {/static/: static}}\nserve: {server: uwsgi}\nproxy: {kind: lighttpd, protocol: fastcgi, listen: "8080"}\n';

function conf(text: string): string {
  const { spec, errors } = parseStackSpec(text);
  if (!spec) throw new Error(errors.map((e) => e.message).join('\n'));
  const plan = buildPlan(
    resolveTopology(spec, { cores: 2 }),
    productionSite(spec, { baseDir: '/srv/x' }),
    'x',
  );
  return renderArtifacts(plan).find((a) => a.path.startsWith('lighttpd/'))!.content;
}

describe('lighttpd: what the rules refuse and warn about, from its catalog entry', () => {
  const { errors, warnings } = parseStackSpec(STACK);
  it('warns that the app sets its own security headers', () => {
    expect(errors).toEqual([]);
    expect(warnings.map((w) => w.message).join()).toMatch(
      /cannot add a response header only when the app set none/,
    );
  });

  it('warns that a rolling restart of one process per port can fail a request (lighttpd resends none)', () => {
    const warned = (server: string) =>
      parseStackSpec(`app: {framework: fastapi}\nserve: {server: ${server}}\nproxy: {kind: lighttpd}\n`)
        .warnings.map((w) => w.message)
        .join();
    expect(warned('hypercorn')).toMatch(
      /Hypercorn with lighttpd: a code update restarts the instances one at a time/,
    );
    expect(warned('gunicorn')).not.toMatch(/restarts the instances/);
  });

  it('refuses what stackgen does not render for it: TLS, a load balancer in front; takes WebSockets over HTTP', () => {
    const refused = (extra: string) =>
      parseStackSpec(extra)
        .errors.map((e) => e.message)
        .join();
    expect(
      refused(
        'app: {framework: fastapi, websockets: true}\nserve: {server: uvicorn}\nproxy: {kind: lighttpd}\n',
      ),
    ).toBe('');
    expect(
      refused(
        'app: {framework: fastapi, websockets: true}\nserve: {server: uwsgi}\nproxy: {kind: lighttpd, protocol: scgi}\n',
      ),
    ).toMatch(/WebSocket upgrades travel over HTTP/);
    expect(
      refused(
        'app: {framework: flask}\nserve: {server: uwsgi}\nproxy: {kind: lighttpd, protocol: fastcgi, trusted_proxies: [10.0.0.0/8]}\n',
      ),
    ).toMatch(/mod_extforward/);
    expect(
      refused('app: {framework: flask}\nserve: {server: uwsgi}\nproxy: {kind: lighttpd, protocol: uwsgi}\n'),
    ).toMatch(/lighttpd cannot speak uwsgi/);
    expect(
      parseStackSpec(
        'app: {framework: flask}\nserve: {server: uwsgi}\nproxy: {kind: lighttpd, protocol: uwsgi}\n',
      )
        .errors.map((e) => e.hint)
        .join(),
    ).toMatch(/uWSGI and lighttpd both speak: http, fastcgi, scgi/);
    expect(
      refused(
        'app: {framework: flask, mount: /hg}\nserve: {server: uwsgi}\nproxy: {kind: lighttpd, protocol: fastcgi}\n',
      ),
    ).toMatch(/app\.mount with lighttpd/);
  });
});

describe('lighttpd: the rendered config', () => {
  const text = conf(STACK);
  it('removes every client forwarding header and the Proxy header before the backend', () => {
    for (const h of [
      'Proxy',
      'X-Forwarded-For',
      'X-Forwarded-Proto',
      'Forwarded',
      'X-Real-IP',
      'X-Forwarded-Ssl',
    ])
      expect(text).toContain(`  "${h}" => "",\n`);
  });
  it('limits and timeouts from stack.yaml; the backend at / with SCRIPT_NAME ""', () => {
    expect(text).toContain('server.max-request-size = 10240\n');
    expect(text).toContain('"read-timeout" => 65,');
    expect(text).toContain('"fix-root-scriptname" => "enable",');
    expect(text).toContain('  "server.h2c" => "disable",\n');
  });
  it('a real server_name: every other Host refused before the app', () => {
    expect(conf(STACK.replace('listen: "8080"', 'listen: "8080", server_name: shop.example'))).toContain(
      '$HTTP["host"] !~ "^(shop\\.example)(:[0-9]+)?$" {\n  url.access-deny = ( "" )\n}',
    );
  });
});

describe('lighttpd: CGI through mod_cgi', () => {
  const cgi = conf(
    'app: {framework: cgi, entry: hello.cgi, env: {GREETING: hi}}\nproxy: {kind: lighttpd, protocol: cgi, listen: "8080"}\n',
  );
  it('maps every path to the script, run by its own #!, with app.env', () => {
    expect(cgi).toContain('server.modules = ( "mod_access", "mod_alias", "mod_setenv", "mod_cgi" )');
    expect(cgi).toContain('  alias.url = ( "/" => "/srv/x/hello.cgi/" )\n  cgi.assign = ( "" => "" )\n');
    expect(cgi).toContain('    "GREETING" => "hi",\n');
  });
});

describe('lighttpd -tt judge', () => {
  it('fails a key lighttpd ignores, though lighttpd exits 0', () => {
    const out =
      '2026-12-01 19:28:14: (configfile.c.1289) WARNING: unknown config-key: server.max-read-idel (ignored)';
    expect(judgeLighttpd({ exitCode: 0, output: out, timedOut: false }).status).toBe('fail');
    expect(judgeLighttpd({ exitCode: 0, output: '', timedOut: false }).status).toBe('pass');
  });
});

describeWith({ tools: ['lighttpd'] })('lighttpd -tt on the rendered config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackgen-lighttpd-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const test = (text: string) => {
    const file = join(dir, 'l.conf');
    writeFileSync(file, text);
    const r = spawnSync('lighttpd', ['-tt', '-f', file], { encoding: 'utf8' });
    return judgeLighttpd({ exitCode: r.status, output: `${r.stdout}${r.stderr}`, timedOut: false });
  };
  it('passes as rendered, fails with a misspelt key and with a syntax error', () => {
    const text = conf(STACK);
    expect(test(text).status).toBe('pass');
    expect(test(text.replace('server.max-read-idle', 'server.max-read-idel')).status).toBe('fail');
    expect(test(text.replace('server.port = 8080', 'server.port = ')).status).toBe('fail');
    const cgi = conf(
      'app: {framework: cgi, entry: hello.cgi}\nproxy: {kind: lighttpd, protocol: cgi, listen: "8080"}\n',
    );
    expect(test(cgi).status).toBe('pass');
  });
});
