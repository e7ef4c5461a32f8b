// `stackgen verify --probe-app` on the real examples, as one matrix run of the CLI (the
// stacks are verified one after another, like a user's run): every probe of every stack
// must pass, the JSON and JUnit reports must say so, and nothing may be left running.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/report/types.js';
import { describeWith } from '../helpers/tools.js';
import {
  type CliRun,
  type ProbeAppMatrix,
  processesNaming,
  sandboxDirs,
  verifyProbeApp,
} from '../helpers/verify-cli.js';

// Every file in examples/ (the issue: every example passes verify in CI).
const EXAMPLES = readdirSync(join(import.meta.dirname, '..', '..', 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** Probes each example must have run (beyond reach), proving the path kinds it has. */
const MUST_RUN: Record<string, string[]> = {
  // streaming: /events/ (proxy.unbuffered) streams without the app's X-Accel-Buffering.
  'flask-uwsgi-nginx.yaml': [
    'app/concurrency',
    'static /static//static-file',
    'app/check:GET /',
    'app/streaming',
    'app/compression',
  ],
  // static: the immutable cache policy, the security headers kept, a dotfile's 404.
  'django-gunicorn-nginx.yaml': ['static /static//static-file', 'app/compression'],
  'fastapi-uvicorn-nginx.yaml': ['websocket/websocket-echo', 'app/streaming', 'app/compression'],
  // hypercorn's runner: the client's address from nginx's headers, WebSocket through it.
  'fastapi-hypercorn-nginx.yaml': ['websocket/websocket-echo', 'app/headers', 'app/concurrency'],
  'fastapi-daphne-nginx.yaml': ['websocket/websocket-echo', 'app/headers', 'app/streaming'],
  'tornado-nginx.yaml': ['websocket/websocket-echo', 'app/concurrency'],
  'flask-gunicorn-supervisor.yaml': ['app/backend-down', 'app/body-limit'],
  'default.yaml': ['app/headers', 'app/check:GET /'],
  // app-env: the gateway hands app.env to the CGI script it spawns (its config's env:).
  'bottle-cgi-gateway.yaml': ['app/roundtrip', 'static /static//static-file', 'app/app-env'],
  'cgi-fcgiwrap-nginx.yaml': ['app/backend-down', 'app/upload-chunked', 'app/check:GET /hello/there'],
  // lighttpd's mod_cgi runs the script itself: requests at once, a chunked upload buffered for it.
  'cgi-lighttpd.yaml': ['app/concurrency', 'app/upload-chunked', 'app/check:GET /hello/there'],
  // Apache's mod_cgid forks the script itself: requests at once; a chunked upload refused (411).
  // mod_wsgi's daemons inside Apache: 2 processes × 4 threads at once, the client's address
  // as REMOTE_ADDR, static files from Apache itself.
  'flask-mod-wsgi-apache.yaml': [
    'app/concurrency',
    'app/headers',
    'static /static//static-file',
    'app/app-env',
  ],
  'cgi-apache.yaml': [
    'app/concurrency',
    'app/upload-chunked',
    'app/body-limit',
    'app/check:GET /hello/there',
  ],
  // php-fpm: scripts by name (PATH_INFO split, a missing script's 404, PHP in a text file never
  // run, the status page never through the front), its children's concurrency, a stream.
  'php-fpm-nginx.yaml': [
    'app/scripts',
    'app/server-status',
    'app/concurrency',
    'app/streaming',
    'app/check:GET /missing.php',
  ],
  'php-fpm-gateway.yaml': ['app/scripts', 'app/server-status', 'app/concurrency', 'app/upload-1mb'],
  // HTTPS: the handshake (versions, ALPN h2), the redirect, HSTS, and the app seeing https.
  'django-uwsgi-nginx-tls.yaml': [
    'app/tls',
    'app/https-redirect',
    'app/hsts',
    'app/headers',
    'app/unknown-host',
  ],
  // lighttpd: the client's forwarding headers removed, a 413 of its own, streams passed on,
  // dotfiles 404, a stopped app server answered (503) at once; its 403 for another Host.
  'flask-uwsgi-lighttpd.yaml': [
    'app/headers',
    'app/body-limit',
    'app/streaming',
    'app/request-framing',
    'static /static//static-file',
    'app/backend-down',
  ],
  'django-gunicorn-lighttpd.yaml': ['app/headers', 'app/unknown-host', 'static /static//static-file'],
  // Apache: the client's forwarding headers unset early, a 413 from the head, streams passed
  // on, the site's documented 411 for a chunked upload (Apache counts no proxied chunked body
  // against LimitRequestBody), a stopped app server answered (503) at once; the 421
  // catch-all virtual host for another Host, immutable static files.
  'flask-uwsgi-apache.yaml': [
    'app/headers',
    'app/body-limit',
    'app/upload-chunked',
    'app/streaming',
    'app/request-framing',
    'static /static//static-file',
    'app/backend-down',
  ],
  // Apache → mod_proxy_fcgi → php-fpm: scripts by name (PATH_INFO split, a missing script is
  // Apache's 404, PHP inside a text file never runs), the app's own security headers once,
  // streamed output (flushpackets=on), the documented 411 for a chunked upload.
  'php-fpm-apache.yaml': [
    'app/scripts',
    'app/headers',
    'app/streaming',
    'app/upload-chunked',
    'app/body-limit',
  ],
  'django-gunicorn-apache.yaml': [
    'app/headers',
    'app/unknown-host',
    'app/upload-chunked',
    'app/body-limit',
    'static /static//static-file',
  ],
  // No proxy: uWSGI's http router holds slow heads off the workers; scheme and httpoxy closed.
  'flask-uwsgi-direct.yaml': ['app/slow-heads', 'app/headers', 'app/concurrency'],
  // The gateway terminating TLS with a root-only key its unit copies for it (ExecStartPre=+).
  'flask-gunicorn-gateway-tls.yaml': [
    'app/tls',
    'app/https-redirect',
    'app/hsts',
    'app/headers',
    'app/secure-cookie',
  ],
  // HTTP/2 by ALPN, and the WebSocket over wss:// through nginx's TLS listener.
  'fastapi-uvicorn-nginx-h2.yaml': ['app/tls', 'websocket/websocket-echo', 'app/secure-cookie', 'app/hsts'],
  // ACME: pebble issues to certbot through the challenge path; a forced renewal under load.
  'django-uwsgi-nginx-acme.yaml': [
    'app/tls',
    'app/https-redirect',
    'app/hsts',
    'app/acme-certificate',
    'app/acme-renewal',
  ],
  // ACME at the gateway: its challenge location, its unit's copies, the hook's reload.
  'flask-gunicorn-gateway-acme.yaml': [
    'app/tls',
    'app/https-redirect',
    'app/acme-certificate',
    'app/acme-renewal',
    'app/secure-cookie',
  ],
};

describeWith({
  // redis-server, celery and redis: the tasks: examples (the stack's own broker, the workers).
  tools: [
    'nginx',
    'uwsgi',
    'gunicorn',
    'supervisord',
    'systemd-analyze',
    'fcgiwrap',
    'lighttpd',
    'apache2',
    'php-fpm8.2',
    'redis-server',
    'certbot',
    'pebble',
    'pebble-challtestsrv',
  ],
  pythonModules: [
    'flask',
    'django',
    'gunicorn',
    'uvicorn',
    'hypercorn',
    'daphne',
    'tornado',
    'fastapi',
    'bottle',
    'websockets',
    'celery',
    'redis',
  ],
})('stackgen verify --probe-app on the examples', () => {
  let matrix: ProbeAppMatrix;
  let run: CliRun;
  let report: VerifyReport;

  beforeAll(async () => {
    matrix = await verifyProbeApp(
      EXAMPLES.map((f) => join('examples', f)),
      // One run over every example, one after another: about 3.5 min for 33 on this 2-core
      // machine under load, more beside the other test files in CI.
      { junit: true, timeoutMs: 720_000 },
    );
    ({ run, report } = matrix);
  }, 780_000);

  afterAll(() => matrix?.dispose());

  for (const [i, file] of EXAMPLES.entries()) {
    it(`${file}: every probe passes`, () => {
      const stack = report.stacks[i]!;
      expect(stack.file).toBe(join('examples', file));
      const probes = stack.passes.flatMap((p) => p.probes);
      const failed = probes.filter((p) => p.status === 'fail').map((p) => `${p.key}: ${p.actual}`);
      expect(failed).toEqual([]);
      expect(stack.outcome).toBe('pass');
      const ran = probes.filter((p) => p.status === 'pass').map((p) => p.key);
      expect(ran).toEqual(
        expect.arrayContaining(['app/reach', 'stack/no-process-left', 'stack/no-socket-left']),
      );
      expect(ran).toEqual(expect.arrayContaining(MUST_RUN[file] ?? []));
    });
  }

  it('exits 0 and prints the matrix summary', () => {
    expect(run.stdout).toMatch(/stack\s+file\s+outcome\s+pass\s+fail\s+skip\s+wall/);
    expect(run.stdout).toContain(`${EXAMPLES.length} stack(s) in`);
    expect(run.code, run.stdout).toBe(0);
  });

  it('writes JUnit XML with one testsuite per stack and a testcase per probe', () => {
    const xml = readFileSync(join(matrix.dir, 'report.xml'), 'utf8');
    expect(xml.match(/<testsuite /g)).toHaveLength(EXAMPLES.length);
    expect(xml).toContain('<testcase classname="fastapi.probe-app.websocket" name="websocket-echo"');
  });

  it('says systemd was not running for systemd stacks', () => {
    expect(report.stacks[0]!.notes.join('\n')).toMatch(/systemd was not running/);
  });

  it('leaves no process of any run behind', () => {
    const dirs = sandboxDirs(run.stderr);
    expect(dirs.length).toBeGreaterThanOrEqual(EXAMPLES.length);
    expect(processesNaming(dirs)).toEqual([]);
  });
});
