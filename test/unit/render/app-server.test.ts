// The app server's own settings as rendered: timeouts in order with the front's, uvicorn
// facing clients, the capability to bind a port below 1024, comments naming the real front.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/gateway/config.js';
import { type Artifact, renderArtifacts } from '../../../src/render/artifacts.js';
import { buildPlan } from '../../../src/render/plan.js';
import { parseStackSpec, readStackSpec } from '../../../src/stack/parse.js';
import { MIN_KILL_LEAD_SECONDS } from '../../../src/stack/rules.js';
import type { NormalizedSpec } from '../../../src/stack/normalize.js';
import { SERVERS } from '../../../src/topology/catalog/servers.js';
import { resolveTopology } from '../../../src/topology/resolve.js';
import { productionSite } from '../../../src/topology/site.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples');
const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'timeouts');

function render(spec: NormalizedSpec, file = 'stack.yaml'): Artifact[] {
  const plan = buildPlan(
    resolveTopology(spec, { cores: 2 }),
    productionSite(spec, { baseDir: '/srv/x' }),
    file,
  );
  return renderArtifacts(plan);
}

function fromText(text: string): Artifact[] {
  const { spec, errors } = parseStackSpec(text);
  if (!spec) throw new Error(`invalid: ${JSON.stringify(errors)}`);
  return render(spec);
}

const file = (artifacts: Artifact[], path: string) => {
  const a = artifacts.find((x) => x.path === path);
  if (!a) throw new Error(`no ${path} in ${artifacts.map((x) => x.path).join(', ')}`);
  return a.content;
};

/** The front's read timeout in ms, from the rendered nginx site, gateway, lighttpd or Apache config. */
function renderedReadMs(artifacts: Artifact[]): number | null {
  for (const a of artifacts) {
    const m = /^\s*(?:\w+_read_timeout|read:)\s+(\S+?);?$/m.exec(a.content);
    if (m && (a.path.startsWith('nginx/') || a.path.startsWith('gateway/'))) return parseDuration(m[1]!);
    // lighttpd: the backend's "read-timeout" => seconds (mod_cgi's in cgi.limits).
    const lighttpd = /^\s*(?:"read-timeout"|cgi\.limits = \( "read-timeout") => (\d+),/m.exec(a.content);
    if (lighttpd && a.path.startsWith('lighttpd/')) return Number(lighttpd[1]) * 1000;
    // Apache: ProxyTimeout seconds (the ProxyPass timeout= says the same); mod_cgid's CGIDScriptTimeout.
    const apache =
      /^\s*(?:ProxyTimeout|CGIDScriptTimeout) (\d+)$/m.exec(a.content) ??
      // mod_wsgi: the daemon's socket-timeout, the child's wait for the daemon's answer.
      /^\s*WSGIDaemonProcess .* socket-timeout=(\d+) /m.exec(a.content);
    if (apache && a.path.startsWith('apache/')) return Number(apache[1]) * 1000;
  }
  return null;
}

/** The app server's per-request timeout in s, from its rendered config. */
function renderedKillSeconds(artifacts: Artifact[]): number | null {
  for (const a of artifacts) {
    const m = /^(?:harakiri|timeout|HTTP_TIMEOUT|request_terminate_timeout) = (\d+)s?$/m.exec(a.content);
    if (m) return Number(m[1]);
  }
  return null;
}

describe('timeouts in order, on every example and test stack', () => {
  const stacks = [
    ...readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(EXAMPLES, f)),
    ...readdirSync(FIXTURES).map((f) => join(FIXTURES, f)),
  ];
  for (const path of stacks) {
    it(path.slice(path.lastIndexOf('/', path.lastIndexOf('/') - 1) + 1), () => {
      const { spec } = readStackSpec(path);
      const artifacts = render(spec);
      const read = renderedReadMs(artifacts);
      if (spec.proxy.kind === 'none') {
        expect(read).toBeNull();
        return;
      }
      expect(read).not.toBeNull();
      const kills = SERVERS[spec.serve.server].requestKill[spec.serve.concurrency];
      const kill = renderedKillSeconds(artifacts);
      if (kills) {
        // The app server's kill (with the up-to-1.9 s lag measured on uWSGI) lands before the proxy's 504.
        expect(kill).toBe(spec.serve.timeout);
        expect(read!).toBeGreaterThanOrEqual((kill! + MIN_KILL_LEAD_SECONDS) * 1000);
      }
      // Whatever the server, the default read timeout is serve.timeout + 5 s.
      expect(read).toBe((spec.serve.timeout + 5) * 1000);
    });
  }
});

describe('the timeout rule', () => {
  const base = 'name: s\napp: {framework: flask}\n';
  it('refuses a proxy read timeout that would answer before the app server kills', () => {
    const { errors } = parseStackSpec(
      `${base}serve: {server: uwsgi, timeout: 30}\nproxy: {timeouts: {read: 31s}}\n`,
    );
    expect(errors.map((e) => e.message).join('\n')).toMatch(
      /proxy\.timeouts\.read \(31s\) must exceed serve\.timeout \(30 s\) by at least 3 s/,
    );
    expect(errors[0]?.path).toEqual(['proxy', 'timeouts', 'read']);
  });

  it('takes a read timeout set in order, and derives it when unset', () => {
    expect(
      parseStackSpec(`${base}serve: {server: gunicorn, timeout: 30}\nproxy: {timeouts: {read: 33s}}\n`)
        .errors,
    ).toEqual([]);
    const { spec } = parseStackSpec(`${base}serve: {server: gunicorn, timeout: 30}\n`);
    expect(spec!.proxy.timeouts.read).toBe('35s');
  });

  it('does not apply where the server kills no request (gthread, uvicorn)', () => {
    const gthread = `${base}serve: {server: gunicorn, concurrency: threads, timeout: 30}\nproxy: {timeouts: {read: 10s}}\n`;
    expect(parseStackSpec(gthread).errors).toEqual([]);
    const conf = file(fromText(gthread), 'gunicorn/s.conf.py');
    expect(conf).toMatch(/^# No per-request kill under threads: the worker's main loop keeps checking in/m);
  });

  it("says what serve.timeout kills in uWSGI's and gunicorn sync's config", () => {
    const ini = file(fromText(`${base}serve: {server: uwsgi}\n`), 'uwsgi/s.ini');
    expect(ini).toMatch(/^; A request running longer than 60 s: harakiri: the master kills the worker/m);
    expect(ini).toMatch(/below nginx's read\n; timeout \(65s\)/);
    const conf = file(
      fromText(`${base}serve: {server: gunicorn, concurrency: prefork}\n`),
      'gunicorn/s.conf.py',
    );
    expect(conf).toMatch(/^# A request running longer than 60 s: the arbiter kills the sync worker/m);
  });
});

describe('uvicorn facing clients', () => {
  const direct =
    'name: s\napp: {framework: fastapi}\nserve: {server: uvicorn, workers: 1}\nproxy: {kind: none, listen: "81"}\n';

  it('trusts no forwarded header and gives every option its value', () => {
    const unit = file(fromText(direct), 'systemd/s@.service');
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!;
    expect(exec).toContain(' --no-proxy-headers ');
    expect(exec).not.toContain('--forwarded-allow-ips');
    expect(exec).toMatch(/--timeout-keep-alive 5 /);
  });

  it('behind a proxy trusts it, on the loopback address the instances bind', () => {
    const unit = file(
      fromText('name: s\napp: {framework: fastapi}\nserve: {server: uvicorn}\n'),
      'systemd/s@.service',
    );
    expect(unit).toMatch(/ --proxy-headers --forwarded-allow-ips 127\.0\.0\.1 /);
  });

  it('gets exactly CAP_NET_BIND_SERVICE on a port below 1024, and only then', () => {
    const unit = file(fromText(direct), 'systemd/s@.service');
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expect(unit).not.toMatch(/^PrivateUsers=yes$/m);
    const high = file(fromText(direct.replace('"81"', '"8000"')), 'systemd/s@.service');
    expect(high).toMatch(/^CapabilityBoundingSet=$/m);
    expect(high).toMatch(/^PrivateUsers=yes$/m);
    // Behind a proxy the app server binds nothing public: no capability, whatever the front's port.
    const behind = file(
      fromText('name: s\napp: {framework: fastapi}\nserve: {server: uvicorn}\n'),
      'systemd/s@.service',
    );
    expect(behind).toMatch(/^CapabilityBoundingSet=$/m);
  });

  it('runs one process per port (a unit instance each), never its own --workers, and warns of nothing', () => {
    const files = fromText('name: s\napp: {framework: fastapi}\nserve: {server: uvicorn, workers: 3}\n');
    expect(file(files, 'systemd/s@.service')).not.toContain('--workers');
    expect(file(files, 'systemd/s@.service')).toMatch(/--port %i/);
    expect(file(files, 'nginx/s.conf')).toMatch(
      /server 127\.0\.0\.1:8000[^;]*;\n\s*server 127\.0\.0\.1:8001[^;]*;\n\s*server 127\.0\.0\.1:8002/,
    );
    const warnings = parseStackSpec(direct.replace('workers: 1', 'workers: 2')).warnings;
    expect(warnings.some((w) => w.message.includes('respawns'))).toBe(false);
  });
});

describe("the app server's comments name the front it has", () => {
  it('uWSGI behind the gateway', () => {
    const ini = file(
      fromText('name: s\napp: {framework: flask}\nserve: {server: uwsgi}\nproxy: {kind: gateway}\n'),
      'uwsgi/s.ini',
    );
    expect(ini).toMatch(/mode 660: www-data \(stackgen gateway\)/);
    expect(ini).not.toContain('(nginx)');
  });

  it('gunicorn behind the gateway and behind nginx', () => {
    const conf = (kind: string) =>
      file(
        fromText(`name: s\napp: {framework: flask}\nserve: {server: gunicorn}\nproxy: {kind: ${kind}}\n`),
        'gunicorn/s.conf.py',
      );
    expect(conf('gateway')).toMatch(/^# Where stackgen gateway reaches us\.$/m);
    expect(conf('nginx')).toMatch(/^# Where nginx reaches us\.$/m);
  });
});

describe('auto workers: counted by the server where it can, pinned by --cores', () => {
  const at = (text: string, path: string, coresPinned: boolean) => {
    const { spec } = parseStackSpec(text);
    const plan = buildPlan(
      resolveTopology(spec!, { cores: 3, coresPinned }),
      productionSite(spec!, { baseDir: '/srv/x' }),
      'stack.yaml',
    );
    return file(renderArtifacts(plan), path);
  };
  const uwsgi = 'name: s\napp: {framework: flask}\nserve: {server: uwsgi}\n';
  const gunicorn = 'name: s\napp: {framework: flask}\nserve: {server: gunicorn, concurrency: prefork}\n';

  it("uWSGI: placeholder math over %k (the rendering machine's 3 cores appear nowhere)", () => {
    const ini = at(uwsgi, 'uwsgi/s.ini', false);
    expect(ini).toMatch(/^processes = %\(%k \* 2 \+ 1\)$/m);
    expect(ini).toContain('--cores');
    expect(at(uwsgi.replace('uwsgi}', 'uwsgi, concurrency: threads}'), 'uwsgi/s.ini', false)).toMatch(
      /^processes = %\(%k\)$/m,
    );
  });

  it("gunicorn: the CPUs the process may use, from Python's os.sched_getaffinity", () => {
    const conf = at(gunicorn, 'gunicorn/s.conf.py', false);
    expect(conf).toMatch(/^import os$/m);
    expect(conf).toMatch(/^workers = 2 \* len\(os\.sched_getaffinity\(0\)\) \+ 1$/m);
  });

  it('--cores writes the number for those cores', () => {
    expect(at(uwsgi, 'uwsgi/s.ini', true)).toMatch(/^processes = 7$/m);
    expect(at(gunicorn, 'gunicorn/s.conf.py', true)).toMatch(/^workers = 7$/m);
    expect(at(gunicorn, 'gunicorn/s.conf.py', true)).toContain('for 3 cores (pinned by --cores)');
  });

  it('a number set in stack.yaml stays that number', () => {
    expect(at(uwsgi.replace('uwsgi}', 'uwsgi, workers: 4}'), 'uwsgi/s.ini', false)).toMatch(
      /^processes = 4$/m,
    );
  });

  it("uvicorn's instances are a rendered number of ports, and the README says why", () => {
    const readme = at('name: s\napp: {framework: fastapi}\nserve: {server: uvicorn}\n', 'README.md', false);
    expect(readme).toMatch(/127\.0\.0\.1:8000, 127\.0\.0\.1:8001, 127\.0\.0\.1:8002/);
    expect(readme).toMatch(/Uvicorn \[async, 3 processes/);
  });
});

describe('uWSGI over FastCGI', () => {
  it('warns that large bodies break, and points at the uwsgi protocol', () => {
    const warnings = (protocol: string) =>
      parseStackSpec(
        `name: s\napp: {framework: wsgi, entry: "app:application"}\nserve: {server: uwsgi}\nproxy: {protocol: ${protocol}}\n`,
      )
        .warnings.filter((w) => w.path.join('.') === 'proxy.protocol')
        .map((w) => `${w.message} — ${w.hint}`);
    expect(warnings('fastcgi').join()).toMatch(
      /fastcgi-socket takes an EAGAIN .* use proxy\.protocol: uwsgi/,
    );
    expect(warnings('uwsgi')).toEqual([]);
    expect(warnings('scgi')).toEqual([]);
  });
});

describe('the php-fpm pool', () => {
  it('quotes app.env for php-fpm\'s INI (unquoted, ";" starts a comment and "=" is an error)', () => {
    const pool = file(
      fromText(
        'name: p\napp: {framework: php, env: {DSN: "mysql:host=db;dbname=a", NOTE: \'say "hi" \\ bye\'}}\n',
      ),
      'php-fpm/p.conf',
    );
    expect(pool).toContain('env[DSN] = "mysql:host=db;dbname=a"');
    expect(pool).toContain('env[NOTE] = "say \\"hi\\" \\\\ bye"');
    // Only what the app needs: a cleared environment, and PATH for what PHP runs.
    expect(pool).toMatch(/^clear_env = yes$/m);
    expect(pool).toMatch(/^env\[PATH\] = \/usr\/local\/bin:\/usr\/bin:\/bin$/m);
  });
});
