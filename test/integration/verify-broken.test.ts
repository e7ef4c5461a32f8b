// Deliberately broken stacks: verify must fail at the right hop, with a message naming the
// cause, exit 3 when a component never becomes ready, and leave nothing running — after a
// failure as after an interrupt (SIGINT in the middle of a run).

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { StackReport } from '../../src/report/types.js';
import { readAccountBook } from '../../src/runtime/users.js';
import { type VerifyOptions, verifyStack } from '../../src/runtime/verify.js';
import { readStackSpec } from '../../src/stack/parse.js';
import { describeWith } from '../helpers/tools.js';
import {
  processesNaming,
  ROOT,
  removeAnnouncedSandboxes,
  runVerify,
  sandboxDirs,
} from '../helpers/verify-cli.js';

const FLASK_ROOT = join(ROOT, 'examples/apps/flask');
const work = mkdtempSync(join(tmpdir(), 'stackgen-verify-broken-'));
/** Stacks this file verifies in-process; a failed run keeps its sandbox for inspection. */
const stackNames = new Set<string>();
afterAll(() => {
  removeAnnouncedSandboxes();
  for (const entry of readdirSync(tmpdir())) {
    if ([...stackNames].some((n) => entry.startsWith(`stackgen-verify-${n}-`))) {
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
    }
  }
  rmSync(work, { recursive: true, force: true });
});

function stackFile(name: string, yaml: string): string {
  stackNames.add(name);
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

/** A flask + gunicorn + nginx stack on a unix socket, manager `none`, with overrides. */
function flaskStack(name: string, extra: { entry?: string; processes?: string } = {}): string {
  return stackFile(
    name,
    `name: ${name}
app:
  framework: flask
  entry: ${extra.entry ?? 'app:app'}
  root: ${FLASK_ROOT}
serve:
  server: gunicorn
  concurrency: prefork
  workers: 1
proxy:
  kind: nginx
  listen: "8080"
processes:
${extra.processes ?? '  manager: none'}
`,
  );
}

function options(overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    probeApp: false,
    keep: false,
    cores: 2,
    stackgenCommand: ['stackgen'],
    book: readAccountBook(),
    signal: new AbortController().signal,
    readyDeadlineMs: 15_000,
    ...overrides,
  };
}

const dirsOf = (r: StackReport) => r.passes.map((p) => p.dir);

/** The rendered file `path` with `from` replaced by `to` (a fix undone), as verify's mutateArtifacts. */
const editArtifact =
  (path: string, from: string | RegExp, to: string): NonNullable<VerifyOptions['mutateArtifacts']> =>
  (artifacts) =>
    artifacts.map((a) => (a.path === path ? { ...a, content: a.content.replace(from, to) } : a));

describeWith({ tools: ['nginx'], pythonModules: ['flask', 'gunicorn'] })('verify on broken stacks', () => {
  it('wrong module name: not ready at the app server, exit 3, log tail shown', async () => {
    const run = await runVerify([flaskStack('wrong-module', { entry: 'no_such_module:app' })]);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('NOT READY');
    expect(run.stdout).toMatch(/cannot import module 'no_such_module'/);
    // The log tail of the app server, as gunicorn wrote it.
    expect(run.stdout).toMatch(/\| .*ModuleNotFoundError: No module named 'no_such_module'/);
    expect(processesNaming(sandboxDirs(run.stderr))).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)(
    'socket permission mismatch (as root): names the permission problem at the nginx → app hop',
    async () => {
      const file = flaskStack('perm-mismatch', {
        processes: '  manager: systemd\n  user: nobody\n  group: nogroup',
      });
      const report = await verifyStack(readStackSpec(file), options());
      const pass = report.passes[0]!;
      expect(report.outcome).toBe('not-ready');
      expect(pass.notReady?.component).toBe('nginx');
      expect(pass.notReady?.cause).toMatch(
        /nginx worker \(user www-data\) cannot connect to unix:\S+perm-mismatch\.sock: permission denied — the directory \S+\/run is mode 750 owned by nobody:nogroup, and www-data is neither nobody nor in group nogroup/,
      );
      expect(processesNaming(dirsOf(report))).toEqual([]);
    },
  );

  it('port already taken: the proxy cannot listen, and the holder is named', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((done) => squatter.listen(0, '127.0.0.1', done));
    const port = (squatter.address() as { port: number }).port;
    try {
      const report = await verifyStack(
        readStackSpec(flaskStack('port-taken')),
        options({ portOverrides: { 8080: port } }),
      );
      expect(report.outcome).toBe('not-ready');
      expect(report.passes[0]!.notReady?.component).toBe('nginx');
      expect(report.passes[0]!.notReady?.cause).toMatch(
        new RegExp(
          `cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use by pid ${process.pid}`,
        ),
      );
      expect(processesNaming(dirsOf(report))).toEqual([]);
    } finally {
      squatter.close();
    }
  });

  it('proxy pointing at the wrong socket: nginx → app hop fails with "no such file"', async () => {
    const report = await verifyStack(
      readStackSpec(flaskStack('wrong-socket')),
      options({
        mutateArtifacts: editArtifact('nginx/wrong-socket.conf', 'wrong-socket.sock', 'elsewhere.sock'),
      }),
    );
    expect(report.outcome).toBe('not-ready');
    expect(report.passes[0]!.notReady?.cause).toMatch(
      /cannot connect to unix:\S+\/elsewhere\.sock: no such file — nothing listens there/,
    );
    expect(processesNaming(dirsOf(report))).toEqual([]);
  });

  it('SIGINT in the middle: everything is torn down, then it exits', async () => {
    let sent = false;
    const run = await runVerify(['--probe-app', flaskStack('interrupted')], {
      onStderr: (text, child) => {
        if (!sent && /● app ready/.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(run.stderr).toContain('SIGINT: stopping everything');
    expect(run.code).toBe(1);
    const dirs = sandboxDirs(run.stderr);
    expect(dirs).toHaveLength(1);
    expect(processesNaming(dirs)).toEqual([]);
    // An interrupted run leaves no sandbox behind.
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
  });

  it('an app answering 400 on every request fails reach, with the status and what the page says', async () => {
    const app = join(work, 'apps', 'host-check');
    mkdirSync(app, { recursive: true });
    // As root the app server runs as www-data: it must traverse mkdtemp's 0700 directory.
    chmodSync(work, 0o755);
    // Django's DisallowedHost in miniature: every request is refused with an HTML page.
    writeFileSync(
      join(app, 'app.py'),
      [
        'def app(environ, start_response):',
        "    start_response('400 Bad Request', [('Content-Type', 'text/html')])",
        "    return [b'<!doctype html><title>Bad Request (400)</title><h1>Invalid HTTP_HOST header</h1>']",
        '',
      ].join('\n'),
    );
    const file = stackFile(
      'bad-host',
      `name: bad-host
app:
  framework: wsgi
  entry: app:app
  root: ${app}
serve:
  server: gunicorn
  workers: 1
proxy:
  kind: nginx
processes:
  manager: none
`,
    );
    const report = await verifyStack(readStackSpec(file), options());
    const reach = report.passes[0]!.probes.find((p) => p.key === 'app/reach')!;
    expect(report.outcome).toBe('fail');
    expect(reach.status).toBe('fail');
    expect(reach.actual).toBe('400: "Bad Request (400) Invalid HTTP_HOST header"');
    // Probes that need a reachable app are skipped, not failed a second time.
    const after = report.passes[0]!.probes.filter((p) => p.key === 'app/backend-down');
    expect(after.map((p) => p.status)).toEqual(['skip']);
    expect(processesNaming(dirsOf(report))).toEqual([]);
  });

  it('the chunked-upload probe fails when nginx passes Transfer-Encoding next to the de-chunked body', async () => {
    // The fix undone: Flask (Werkzeug) then ignores CONTENT_LENGTH and reads an empty body.
    const file = stackFile(
      'te-passed',
      `name: te-passed
app:
  framework: flask
  entry: app:app
  root: ${FLASK_ROOT}
serve:
  server: uwsgi
  workers: 1
proxy:
  kind: nginx
  protocol: uwsgi
processes:
  manager: none
`,
    );
    const report = await verifyStack(
      readStackSpec(file),
      options({
        probeApp: true,
        mutateArtifacts: editArtifact('nginx/te-passed.conf', /^.*_param HTTP_TRANSFER_ENCODING.*$/m, ''),
      }),
    );
    const probes = report.passes[0]!.probes;
    const chunked = probes.find((p) => p.key === 'app/upload-chunked')!;
    expect(chunked.status).toBe('fail');
    // Werkzeug, seeing both framings, reads no body; uWSGI answers and closes the socket with
    // the upload unread. Mostly nginx has written the whole upload by then and relays the
    // answer (which shows both framings); when it has not (a loaded machine: seen in CI), its
    // write meets the closed socket and the client gets nginx's 502. Either is this break.
    expect(chunked.actual).toMatch(
      /CONTENT_LENGTH 71004 and Transfer-Encoding "chunked" together|^answered 502$/,
    );
    // …and not a broken path: the same upload with a Content-Length goes through.
    expect(probes.find((p) => p.key === 'app/upload-1mb')?.status).toBe('pass');
    expect(processesNaming(dirsOf(report))).toEqual([]);
  });

  it('the streaming probe fails when an unbuffered prefix is buffered after all', async () => {
    // The fix undone: /events/ (proxy.unbuffered) keeps nginx's response buffering, so the
    // app's chunks reach the client together, after the app wrote its last one.
    const file = stackFile(
      'buffered-events',
      `name: buffered-events
app:
  framework: flask
  entry: app:app
  root: ${FLASK_ROOT}
serve:
  server: uwsgi
  workers: 1
proxy:
  kind: nginx
  protocol: uwsgi
  unbuffered: [/events/]
processes:
  manager: none
`,
    );
    const report = await verifyStack(
      readStackSpec(file),
      options({
        probeApp: true,
        mutateArtifacts: editArtifact(
          'nginx/buffered-events.conf',
          'uwsgi_buffering off;',
          'uwsgi_buffering on;',
        ),
      }),
    );
    const streaming = report.passes[0]!.probes.find((p) => p.key === 'app/streaming')!;
    expect(streaming.status).toBe('fail');
    expect(streaming.actual).toMatch(
      /^buffered: \/events\/__probe\/stream .* ms after the app wrote the last/,
    );
    expect(processesNaming(dirsOf(report))).toEqual([]);
  });

  it('a static mapping to a missing directory fails the static probe (and check)', async () => {
    const file = stackFile(
      'no-static',
      `name: no-static
app:
  framework: flask
  entry: app:app
  root: ${FLASK_ROOT}
  static: {/assets/: no-such-dir}
serve:
  server: gunicorn
  workers: 1
proxy:
  kind: nginx
processes:
  manager: none
`,
    );
    const loaded = readStackSpec(file);
    expect(loaded.warnings.map((w) => w.kind)).toContain('missing-directory');
    const report = await verifyStack(loaded, options());
    const probe = report.passes[0]!.probes.find((p) => p.probe === 'static-file')!;
    expect(probe.status).toBe('fail');
    expect(probe.actual).toMatch(/no-such-dir does not exist: every \/assets\/ request is a 404/);
    expect(processesNaming(dirsOf(report))).toEqual([]);
  });

  it('--keep returns at once with every component running, and its stop command stops them', async () => {
    const run = await runVerify(['--keep', '--probe-app', flaskStack('kept')], { timeoutMs: 60_000 });
    expect(run.code).toBe(0);
    const url = /kept running: (http:\/\/\S+)/.exec(run.stdout)?.[1];
    const stop = /stop with: sh (\S+)/.exec(run.stdout)?.[1];
    expect(url).toBeDefined();
    expect(stop).toBeDefined();
    const dirs = sandboxDirs(run.stderr);
    try {
      // The backend-down probe stopped the app server; it was started again, so the stack answers.
      const answer = await fetch(`${url}stackgen-verify/after-keep`);
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { app: string }).app).toBe('flask');
      expect(processesNaming(dirs).length).toBeGreaterThan(1);
    } finally {
      const { execFileSync } = await import('node:child_process');
      execFileSync('sh', [stop!]);
    }
    expect(processesNaming(dirs)).toEqual([]);
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
  });
});

describeWith({ tools: ['nginx', 'php-fpm8.2'] })('verify on broken PHP stacks', () => {
  /** A PHP app under php-fpm behind nginx, manager `none`: the probe app stands in for it. */
  function phpStack(name: string): string {
    return stackFile(
      name,
      `name: ${name}
app:
  framework: php
  root: ${join(ROOT, 'examples/apps/php/public')}
serve:
  server: php-fpm
  workers: 2
proxy:
  kind: nginx
processes:
  manager: none
`,
    );
  }
  const edit = (path: string, from: RegExp, to: string) =>
    options({
      probeApp: true,
      mutateArtifacts: editArtifact(path, from, to),
    });

  it('the scripts probe fails when cgi.fix_pathinfo is 0: php-fpm then serves its status page to clients', async () => {
    // php-fpm at fix_pathinfo 0 takes PATH_INFO as the request URI: the front controller's
    // PATH_INFO /fpm-status is answered with the pool's status page.
    const report = await verifyStack(
      readStackSpec(phpStack('php-pathinfo0')),
      edit('php-fpm/php-pathinfo0.conf', /cgi\.fix_pathinfo\] = 1/, 'cgi.fix_pathinfo] = 0'),
    );
    const probe = report.passes[0]!.probes.find((p) => p.key === 'app/scripts')!;
    expect(probe.status).toBe('fail');
    expect(probe.actual).toMatch(/\/fpm-status\?full answered 200 with the pool's status page/);
    // The app-independent probe sees it too (it runs on the user's app as well).
    const status = report.passes[0]!.probes.find((p) => p.key === 'app/server-status')!;
    expect([status.status, status.actual]).toEqual([
      'fail',
      "/fpm-status through the front answered 200 with the pool's status page",
    ]);
    expect(processesNaming(dirsOf(report))).toEqual([]);
  });

  it('the server-status probe fails behind a gateway that names every path as a script (no ?front=)', async () => {
    // The gateway's plain ?root= sends /fpm-status to php-fpm as the script /fpm-status: its status page.
    const file = stackFile(
      'php-no-front',
      `name: php-no-front
app:
  framework: php
  root: ${join(ROOT, 'examples/apps/php/public')}
serve:
  server: php-fpm
  workers: 2
proxy:
  kind: gateway
  listen: "127.0.0.1:8080"
processes:
  manager: none
`,
    );
    const report = await verifyStack(
      readStackSpec(file),
      options({
        // The gateway from this source tree, as the unit would run the installed one.
        stackgenCommand: [process.execPath, '--import', 'tsx', join(ROOT, 'src/main.ts')],
        mutateArtifacts: editArtifact('gateway/php-no-front.yaml', '&front=index.php', ''),
      }),
    );
    const status = report.passes[0]!.probes.find((p) => p.key === 'app/server-status')!;
    expect([status.status, status.actual]).toEqual([
      'fail',
      "/fpm-status through the front answered 200 with the pool's status page",
    ]);
    expect(processesNaming(dirsOf(report))).toEqual([]);
  });

  it('the scripts probe fails when nginx reads $fastcgi_path_info after try_files (an empty PATH_INFO)', async () => {
    const report = await verifyStack(
      readStackSpec(phpStack('php-pathinfo-lost')),
      edit(
        'nginx/php-pathinfo-lost.conf',
        /_param PATH_INFO \$stackgen_path_info;/,
        '_param PATH_INFO $fastcgi_path_info;',
      ),
    );
    const probe = report.passes[0]!.probes.find((p) => p.key === 'app/scripts')!;
    expect(probe.status).toBe('fail');
    expect(probe.actual).toMatch(
      /\/info\.php\/a\/b\?x=1 answered 200 by the app as SCRIPT_NAME "\/info\.php", PATH_INFO ""/,
    );
    expect(processesNaming(dirsOf(report))).toEqual([]);
  });
});
