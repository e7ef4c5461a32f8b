// The conformance stacks: each third-party app on every protocol path of both proxies —
// nginx and the gateway over HTTP (gunicorn), uwsgi, FastCGI and SCGI (uWSGI), and hgweb
// also as a CGI script — and behind Apache over HTTP, with the settings a real user writes for them (a config file in
// the environment, a .wsgi file as the entry point, directories the app must write).

import { execFileSync } from 'node:child_process';
import { chownSync, cpSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConformanceApp } from './conformance.js';
import { ROOT } from './verify-cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'conformance');

export interface ConformancePath {
  proxy: 'nginx' | 'gateway' | 'apache';
  protocol: 'http' | 'uwsgi' | 'fastcgi' | 'scgi' | 'cgi' | 'mod_wsgi';
}

export interface ConformanceStack {
  app: ConformanceApp;
  path: ConformancePath;
  name: string;
  /** app.mount, when the stack mounts the app under a prefix (hgweb at /hg). */
  mount?: string;
}

const WSGI_PATHS: ConformancePath[] = (['nginx', 'gateway'] as const).flatMap((proxy) =>
  (['http', 'uwsgi', 'fastcgi', 'scgi'] as const).map((protocol) => ({ proxy, protocol })),
);

/** Every (app, path) pair the suite proves. */
export const CONFORMANCE_STACKS: ConformanceStack[] = [
  ...(['httpbin', 'hgweb', 'radicale'] as const).flatMap((app) =>
    WSGI_PATHS.map((path) => ({ app, path, name: `c-${app}-${path.proxy}-${path.protocol}` })),
  ),
  ...(['nginx', 'gateway'] as const).map((proxy) => ({
    app: 'hgweb' as const,
    path: { proxy, protocol: 'cgi' as const },
    name: `c-hgweb-${proxy}-cgi`,
  })),
  // Apache httpd (Debian's apache2.service), mod_proxy_http to gunicorn. A chunked upload is
  // the site's 411 on every Apache path (catalogued in gaps.ts: Apache 2.4 bounds no proxied
  // chunked body), which httpbin's chunked case expects here. Not mod_proxy_uwsgi: httpbin
  // through it fails a 16 KB response header line with 502 (its header reader stops at
  // 8 KiB; the responsefieldsize worker parameter that lifts mod_proxy_http's is not read by
  // it). hgweb and Radicale passed it.
  ...(['httpbin', 'hgweb', 'radicale'] as const).map((app) => ({
    app,
    path: { proxy: 'apache' as const, protocol: 'http' as const },
    name: `c-${app}-apache-http`,
  })),
  // Apache's mod_proxy_scgi to uWSGI: mod_proxy_scgi names the whole path SCRIPT_NAME, and the
  // generated uWSGI ini moves it to PATH_INFO; hgweb builds every link from SCRIPT_NAME.
  {
    app: 'hgweb' as const,
    path: { proxy: 'apache' as const, protocol: 'scgi' as const },
    name: 'c-hgweb-apache-scgi',
  },
  // Inside Apache: mod_wsgi's daemon mode (serve.server mod_wsgi), the three apps as their
  // own users write them for it (hgweb.wsgi as the WSGIScriptAlias target's entry, Radicale's
  // config in its environment, set by the generated WSGI script before the import).
  ...(['httpbin', 'hgweb', 'radicale'] as const).map((app) => ({
    app,
    path: { proxy: 'apache' as const, protocol: 'mod_wsgi' as const },
    name: `c-${app}-apache-mod-wsgi`,
  })),
  // hgweb mounted at /hg (app.mount): through nginx over uwsgi (nginx sends SCRIPT_NAME) and
  // through the gateway over HTTP (gunicorn splits SCRIPT_NAME off the whole path).
  ...(
    [
      { proxy: 'nginx', protocol: 'uwsgi' },
      { proxy: 'gateway', protocol: 'http' },
    ] as const
  ).map((path) => ({
    app: 'hgweb' as const,
    path,
    name: `c-hgweb-${path.proxy}-${path.protocol}-mount`,
    mount: '/hg',
  })),
];

/** The app-specific part of stack.yaml (under `app:`), for an app staged in `root`. */
function appBlock(s: ConformanceStack, root: string): string {
  if (s.app === 'httpbin') return `  framework: flask\n  entry: httpbin:app\n  root: ${root}\n`;
  if (s.app === 'radicale')
    return `  framework: wsgi\n  entry: radicale:application\n  root: ${root}\n  env: {RADICALE_CONFIG: ${root}/config}\n  writable: [collections]\n`;
  if (s.path.protocol === 'cgi')
    return `  framework: cgi\n  entry: hgweb.cgi\n  root: ${root}\n  writable: [repos]\n`;
  return `  framework: wsgi\n  entry: hgweb.wsgi\n  root: ${root}\n  writable: [repos]\n`;
}

/** stack.yaml for a conformance stack staged in `root`. */
export function conformanceYaml(s: ConformanceStack, root: string): string {
  const server =
    s.path.protocol === 'cgi'
      ? 'cgi'
      : s.path.protocol === 'mod_wsgi'
        ? 'mod_wsgi'
        : s.path.protocol === 'http'
          ? 'gunicorn'
          : 'uwsgi';
  // The gateway cannot share port 80 with the host's own nginx.
  const listen = s.path.proxy === 'gateway' ? '8080' : '80';
  return [
    `name: ${s.name}`,
    'app:',
    appBlock(s, root).trimEnd(),
    ...(s.mount ? [`  mount: ${s.mount}`] : []),
    'serve:',
    `  server: ${server}`,
    ...(server === 'cgi' ? [] : ['  concurrency: prefork', '  workers: 2']),
    'proxy:',
    `  kind: ${s.path.proxy}`,
    `  protocol: ${s.path.protocol}`,
    `  listen: "${listen}"`,
    // hg pushes a 5 MB bundle; Radicale and httpbin stay far below.
    '  max_body: 64m',
    'processes:',
    '  manager: systemd',
    // A user check with a WebDAV method and request headers (verify runs it on the real app).
    ...(s.app === 'radicale'
      ? [
          'checks:',
          `  - {name: propfind, path: /u/, method: PROPFIND, request_headers: {Depth: "0", Authorization: "Basic ${Buffer.from('u:p').toString('base64')}"}, status: 207, body_contains: multistatus}`,
        ]
      : []),
    '',
  ].join('\n');
}

/**
 * Copy the app's fixture to `dir` and write what it needs there: hgweb's config and an
 * empty repository, Radicale's config and storage. `root`: where the app sees `dir` (inside
 * a machine, not the host path that writes it). `owner` (uid, gid): who owns the writable
 * parts (the sandbox runs the app as www-data; on a real host `stackgen install` does it).
 */
export async function stageConformanceApp(
  s: ConformanceStack,
  dir: string,
  root = dir,
  owner?: { uid: number; gid: number },
  /** Runs a command where the app lives (inside a machine: never `hg init` a /proc/PID/root path
   * on the host — hg's realpath resolves it to the host's own /). */
  exec: (argv: string[]) => Promise<unknown> = async (argv) => execFileSync(argv[0]!, argv.slice(1)),
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  cpSync(join(FIXTURES, s.app), dir, { recursive: true });
  if (s.app === 'hgweb') {
    writeFileSync(
      join(dir, 'hgweb.config'),
      `[paths]\nrepo = ${root}/repos/repo\n\n[web]\nallow_push = *\npush_ssl = false\n`,
    );
    mkdirSync(join(dir, 'repos'), { recursive: true });
    await exec(['hg', 'init', join(root, 'repos', 'repo')]);
  }
  if (s.app === 'radicale') {
    mkdirSync(join(dir, 'collections'), { recursive: true });
    writeFileSync(
      join(dir, 'config'),
      `[auth]\ntype = none\n\n[rights]\ntype = owner_only\n\n[storage]\nfilesystem_folder = ${root}/collections\n\n[web]\ntype = none\n`,
    );
  }
  chmodReadable(dir);
  if (owner) for (const sub of ['repos', 'collections']) chownTree(join(dir, sub), owner);
}

function chmodReadable(path: string): void {
  execFileSync('chmod', ['-R', 'a+rX', path]);
}

function chownTree(path: string, owner: { uid: number; gid: number }): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  chownSync(path, owner.uid, owner.gid);
  if (st.isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), owner);
}
