// What each app server and front server writes and runs, as catalog entries: the files it
// reads (a template and the values it needs), its command line, and which `stackgen check`
// definitions apply to it. render/, check/ and runtime/ read these tables instead of
// branching on a server's or a proxy's name: a new server is an entry here, one in
// servers.ts, its templates and its example.

import { acmePlan } from '../../tls/acme.js';
import { basename, dirname } from 'node:path';
import { type BoundEndpoint, gatewayUpstreamUrl, nginxAddress, sizeToBytes } from '../../render/address.js';
import { gatewayTlsView } from '../../render/gateway-tls.js';
import { MOZILLA_INTERMEDIATE } from '../../tls/mozilla.js';
import { bindEndpoint, type Launch, type Plan, type PrivateCopies } from '../../render/plan.js';
import { parseDuration } from '../../gateway/config.js';
import type { NormalizedTls } from '../../stack/normalize.js';
import type { Concurrency, ProxyKind, ServerName } from '../../stack/schema.js';
import type { CheckDefinition } from '../../check/definitions.js';
import type { Sizing } from '../types.js';
import type { HttpMount } from './types.js';
import { buffersAppResponses, INTERFACE_BUFFERING } from './interfaces.js';
import {
  gatewayConfig,
  gunicornCheckConfig,
  apacheTest,
  lighttpdTest,
  nginxTest,
  phpEntryLint,
  phpFpmTest,
  uwsgiStrictOptions,
} from './checks.js';
import { type FileKey, masterFifoPath } from './files.js';
import { MANAGERS, PROTOCOLS, PROXIES } from './proxies.js';
import { SERVERS } from './servers.js';

/** A file a component reads, rendered from its template with the plan and `view`. */
export interface RecipeFile {
  file: FileKey;
  template: string;
  /** What the file is, for the deploy README's file table. */
  what: string;
  /** Where it is installed, for that table (default: the config dir). */
  install?: string;
  mode?: number;
  /** Values the template needs beyond the plan (the component's launch command is added). */
  view: (plan: Plan) => object;
  /** Rendered only when this holds (default: always). */
  when?: (plan: Plan) => boolean;
}

/**
 * The check definitions (catalog/checks.ts) that apply because of this server or proxy: its
 * own config test, and whether that test imports the app (so `app-import` is not run twice).
 */
export interface RecipeChecks {
  definitions: readonly CheckDefinition[];
  importsApp: boolean;
}

export interface ServerRecipe {
  files: readonly RecipeFile[];
  /** The command line its process manager runs for one bound endpoint (config files hold the rest). */
  command: (plan: Plan, ep: BoundEndpoint) => string[];
  /** It executes a WSGI file itself (uWSGI's wsgi-file): no generated loader, no PYTHONPATH. */
  readsWsgiFile: boolean;
  checks: RecipeChecks;
}

/** What a front server's launch differs in from an app server's (user, cwd, environment). */
type FrontLaunch = Pick<Launch, 'argv' | 'env' | 'runsAppCode'> &
  Partial<Pick<Launch, 'cwd' | 'user' | 'privateCopies'>>;

export interface ProxyRecipe {
  files: readonly RecipeFile[];
  /** How verify (and, where stackgen runs it, the unit) starts it; null for no proxy. */
  launch: ((plan: Plan) => FrontLaunch) | null;
  /** The error log its config writes, where a failed upstream hop is named (null: it logs to stderr). */
  errorLog: ((plan: Plan) => string) | null;
  checks: RecipeChecks;
  /**
   * The modules its config needs, by the distribution's name (a2enmod's: `proxy_http`): what
   * `stackgen install` enables and the top-level config verify runs loads. None when absent.
   */
  modules?: (plan: Plan) => string[];
  /**
   * Host-wide files the stack needs but does not own: every stack on the same address renders
   * the same one, `stackgen install` copies it into place (not a link into one stack's dir)
   * and the last stack that claims it takes it away. None when absent.
   */
  sharedFiles?: (plan: Plan) => SharedFile[];
}

/** A host-wide file (see ProxyRecipe.sharedFiles): the same bytes from every stack that needs it. */
export interface SharedFile {
  /** Artifact path, relative to the config dir (verify runs it from there). */
  path: string;
  template: string;
  view: object;
  what: string;
  /** Where install puts the copy on the host. */
  installPath: string;
}

const NO_CHECKS: RecipeChecks = { definitions: [], importsApp: false };

/** Leave time for idle connections to close inside the stop timeout. */
const drainSeconds = (plan: Plan) => Math.max(1, plan.appServer!.stopGraceSeconds - 5);

/** The script a CGI request runs: the user's CGI script or stackgen's WSGI adapter. */
export function cgiScriptPath(plan: Plan): string {
  if (plan.spec.app.interface === 'wsgi') return plan.files.cgiScript;
  return `${plan.app.root}/${plan.spec.app.entry}`;
}

/** A worker count as the config writes it: the server's own rule over its cores, or the number. */
function perCoreOr(sizing: Sizing, rule: (factor: number, plus: number) => string): string {
  return sizing.perCore ? rule(sizing.perCore.factor, sizing.perCore.plus) : String(sizing.count);
}

/** Who connects to the app server's socket, for its config's comments: the front's name, or clients. */
const reachedBy = (plan: Plan) => (plan.front.kind === 'none' ? 'clients' : PROXIES[plan.front.kind].title);

/** Words of `text` in lines of at most `width` characters (for generated comments). */
function wrapWords(text: string, width = 92): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line].join('\n');
}

/**
 * The comment above a server's serve.timeout setting: what it kills under this model (catalog
 * requestKill), or that it kills nothing, and how it stands to the proxy's read timeout.
 */
function timeoutComment(plan: Plan): string {
  const { serve, proxy } = plan.spec;
  const server = SERVERS[serve.server];
  const kill = server.requestKill[serve.concurrency];
  const read =
    plan.front.kind === 'none'
      ? null
      : `${PROXIES[plan.front.kind].title}'s read timeout (${proxy.timeouts.read})`;
  const text = kill
    ? `A request running longer than ${serve.timeout} s: ${kill}.${read ? ` ${serve.timeout} s is below ${read}, so the client gets this 502 and no worker runs on behind a 504.` : ''}`
    : `No per-request kill under ${serve.concurrency}: ${server.noRequestKill ?? 'the server has no request timeout'}${read ? `; the client gets a 504 at ${read}` : ''}.`;
  return wrapWords(text);
}

/** Why the front's read timeout is what it is, for the comment above it. */
function readTimeoutWhy(plan: Plan): string {
  const { serve } = plan.spec;
  const app = plan.appServer;
  if (!app) return 'A CGI script has no timeout of its own: this bounds the wait for its answer.';
  const title = SERVERS[app.server].title;
  return wrapWords(
    SERVERS[app.server].requestKill[app.concurrency]
      ? `Longer than serve.timeout (${serve.timeout} s): ${title} kills a request first (a 502), so no worker runs on behind a 504 from here.`
      : `${title} has no per-request kill under ${app.concurrency}: this 504 is the only bound on a request.`,
    84,
  );
}

/**
 * The app server's own mount mechanism when it must split the path itself: the app is
 * mounted (app.mount) and the proxy speaks HTTP, so no SCRIPT_NAME travels with the request.
 */
function httpMountOf(plan: Plan): (HttpMount & { prefix: string }) | null {
  const { mount, interface: iface } = plan.spec.app;
  if (mount === '/' || plan.spec.proxy.protocol !== 'http') return null;
  const how = SERVERS[plan.spec.serve.server].httpMount[iface];
  return how ? { ...how, prefix: mount } : null;
}

/** uWSGI's option that binds a socket speaking each protocol. */
const UWSGI_SOCKET_OPTIONS: Partial<Record<string, string>> = {
  uwsgi: 'socket',
  http: 'http-socket',
  fastcgi: 'fastcgi-socket',
  scgi: 'scgi-socket',
};

/** gunicorn's worker class for each concurrency model. */
const GUNICORN_WORKER_CLASSES: Partial<Record<Concurrency, string>> = {
  prefork: 'sync',
  threads: 'gthread',
  gevent: 'gevent',
  async: 'uvicorn.workers.UvicornWorker',
};

/**
 * Who may tell the app server the client's address and scheme: the proxy in front, which
 * connects from the loopback address the app server binds (on a unix socket the peer has no
 * address; only the proxy can reach the socket, mode 660). With no proxy, nobody.
 */
function proxyPeer(plan: Plan, unixPeerUnnamed = false): { behindProxy: boolean; forwardedAllowIps: string } {
  if (plan.front.kind === 'none') return { behindProxy: false, forwardedAllowIps: '' };
  const socket = plan.appServer!.bound[0]!;
  if (socket.kind === 'tcp') return { behindProxy: true, forwardedAllowIps: socket.host };
  // uvicorn's proxy-header middleware (also under gunicorn's uvicorn worker) and waitress
  // cannot name a unix-socket peer: '*', which the socket's mode restricts to the proxy.
  return { behindProxy: true, forwardedAllowIps: unixPeerUnnamed ? '*' : '127.0.0.1' };
}

/**
 * The socket of a script server's own status page (php-fpm pm.status_listen), beside the
 * pool's socket in the run directory; null for a server without one. verify reads it there.
 */
export function statusSocketPath(plan: Plan): string | null {
  if (!SERVERS[plan.spec.serve.server].scripts?.statusPath || !plan.appServer) return null;
  const socket = plan.appServer.bound[0]!;
  return socket.kind === 'unix'
    ? socket.path.replace(/\.sock$/, '-status.sock')
    : `${plan.site.runDir}/${plan.name}-status.sock`;
}

/** A runner script stackgen generates for a server that has no command line of its own. */
const runnerFile = (
  server: 'tornado' | 'wsgiref' | 'waitress' | 'hypercorn' | 'daphne' | 'uvicorn',
): RecipeFile => ({
  file: 'runner',
  template: `python/${server}_server.py.hbs`,
  what: 'app server runner script',
  mode: 0o755,
  view: (plan) => {
    const socket = plan.appServer!.bound[0]!;
    return {
      socketHost: socket.kind === 'tcp' ? socket.host : '127.0.0.1',
      ...proxyPeer(plan),
      maxBodyBytes: sizeToBytes(plan.spec.proxy.max_body) || 100 * 1024 ** 2,
      // Drain within the stop timeout, leaving time for the idle connections to close.
      drainSeconds: drainSeconds(plan),
    };
  },
});

/** A generated runner, told the one endpoint it binds (a unit template's port is %i). */
const runnerOnEndpoint = (p: Plan, ep: BoundEndpoint): string[] => [
  p.app.python,
  p.files.runner,
  ...(ep.kind === 'tcp' ? ['--host', ep.host, '--port', String(ep.port)] : ['--unix', ep.path]),
];

export const SERVER_RECIPES: Record<ServerName, ServerRecipe> = {
  uwsgi: {
    files: [
      {
        file: 'uwsgiIni',
        template: 'uwsgi/app.ini.hbs',
        what: 'uWSGI ini',
        view: (plan) => {
          const app = plan.appServer!;
          const server = SERVERS.uwsgi;
          const router = app.router && server.httpRouter ? server.httpRouter : null;
          const plugins = [
            ...server.plugins,
            ...(server.concurrencyPlugins[app.concurrency] ?? []),
            ...(router ? [router.plugin] : []),
          ];
          const clientSide = app.bound[0]!;
          return {
            socketOption: UWSGI_SOCKET_OPTIONS[app.protocol],
            // No proxy: the http router faces clients on the listen address and reaches the
            // workers on a unix socket (mode 660) of the run dir.
            router:
              router && app.router && clientSide.kind === 'tcp'
                ? {
                    option: router.option,
                    toOption: router.toOption,
                    innerOption: UWSGI_SOCKET_OPTIONS[router.innerProtocol],
                    address: nginxAddress(clientSide),
                    inner: bindEndpoint(app.router.inner, plan.site),
                    why: wrapWords(router.why),
                    innerWhy: wrapWords(router.innerWhy),
                    headerTimeout: Math.max(
                      1,
                      Math.round((parseDuration(plan.spec.proxy.timeouts.client_header) ?? 10_000) / 1000),
                    ),
                  }
                : null,
            plugins: plugins.map((p) => p.plugin).join(','),
            mercySeconds: drainSeconds(plan),
            masterFifo: server.reload?.masterFifo ? masterFifoPath(plan.site.runDir) : null,
            reachedBy: reachedBy(plan),
            // Over HTTP no SCRIPT_NAME comes with the request: uWSGI mounts the app itself.
            mountPoint: httpMountOf(plan)?.prefix ?? null,
            // Over SCGI from a front that names the whole path SCRIPT_NAME (Apache).
            scgiPathFix:
              app.protocol === 'scgi' ? (PROXIES[plan.front.kind].scgiPathInScriptName ?? null) : null,
            // Over HTTP uWSGI's REMOTE_ADDR is the proxy's; the proxy's X-Real-IP is the client's.
            clientAddress:
              app.protocol === 'http' && plan.front.kind !== 'none'
                ? { unix: app.bound[0]!.kind === 'unix', peer: proxyPeer(plan).forwardedAllowIps }
                : null,
            timeoutComment: timeoutComment(plan),
            workersWhy: wrapWords(app.workers.reason),
            // uWSGI placeholder math: %( … ) over %k, the CPUs online (Debian's 2.0.21 has it).
            processes: perCoreOr(
              app.workers,
              (f, n) => `%(%k${f === 1 ? '' : ` * ${f}`}${n ? ` + ${n}` : ''})`,
            ),
          };
        },
      },
    ],
    command: (p) => ['/usr/bin/uwsgi', '--ini', p.files.uwsgiIni],
    readsWsgiFile: true,
    checks: { definitions: [uwsgiStrictOptions], importsApp: false },
  },
  gunicorn: {
    files: [
      {
        file: 'gunicornConf',
        template: 'gunicorn/app.conf.py.hbs',
        what: 'gunicorn configuration',
        view: (plan) => {
          const app = plan.appServer!;
          return {
            workerClass: GUNICORN_WORKER_CLASSES[app.concurrency],
            // uvicorn's worker closes connections it has accepted but not read yet as it
            // stops: the config wraps its shutdown (templates/gunicorn/app.conf.py.hbs).
            readsBeforeClosing: app.concurrency === 'async',
            workers: perCoreOr(
              app.workers,
              (f, n) => `${f === 1 ? '' : `${f} * `}len(os.sched_getaffinity(0))${n ? ` + ${n}` : ''}`,
            ),
            reachedBy: reachedBy(plan),
            timeoutComment: timeoutComment(plan),
            workersWhy: wrapWords(app.workers.reason),
            jitter: Math.max(1, Math.round(plan.spec.serve.max_requests / 20)),
            ...proxyPeer(plan, app.concurrency === 'async'),
            // A WSGI worker takes REMOTE_ADDR from the proxy's X-Forwarded-For through a
            // wrapper in the config; uvicorn's worker does it itself (--proxy-headers).
            wsgiClientAddress: plan.front.kind !== 'none' && app.concurrency !== 'async',
            // gunicorn's own limit is at most 8190; behind a proxy the proxy's limit holds.
            limitRequestLine: plan.front.kind === 'none' ? 8190 : 0,
            mountEnv: (() => {
              const m = httpMountOf(plan);
              if (m?.kind !== 'env') return null;
              const why = `app.mount ${m.prefix}: ${m.why}. The proxy sends the whole path, and only paths below ${m.prefix}/.`;
              return { name: m.variable, value: m.prefix, comment: wrapWords(why) };
            })(),
          };
        },
      },
    ],
    // `python -m gunicorn` runs gunicorn under the stack's interpreter (venv or Debian's).
    command: (p) => [p.app.python, '-m', 'gunicorn', '--config', p.files.gunicornConf, p.app.entry],
    readsWsgiFile: false,
    checks: { definitions: [gunicornCheckConfig], importsApp: true },
  },
  uvicorn: {
    // uvicorn's own command line, run through a runner that makes its graceful stop read the
    // requests it accepted before it closes their connections (templates/partials/).
    files: [runnerFile('uvicorn')],
    command: (p, ep) => {
      const s = p.appServer!;
      const where = ep.kind === 'unix' ? ['--uds', ep.path] : ['--host', ep.host, '--port', String(ep.port)];
      return [
        p.app.python,
        p.files.runner,
        ...where,
        // The client's address and scheme from X-Forwarded-For/-Proto, trusted only from the
        // proxy: on TCP its loopback address; a unix-socket peer has no address (uvicorn 0.17
        // cannot name it), so '*' there — only the proxy can reach the socket (mode 660).
        // Facing clients directly, no forwarding header is believed at all.
        ...(p.front.kind === 'none'
          ? ['--no-proxy-headers']
          : ['--proxy-headers', '--forwarded-allow-ips', ep.kind === 'unix' ? '*' : ep.host]),
        '--timeout-keep-alive',
        '5',
        '--limit-concurrency',
        String(s.connections ?? 1000),
        '--app-dir',
        p.app.root,
        p.app.entry,
      ];
    },
    readsWsgiFile: false,
    checks: NO_CHECKS,
  },
  hypercorn: {
    // hypercorn.asyncio.serve with a SIGTERM trigger (its CLI has no per-peer proxy trust, so
    // the runner sets the client's address and scheme from the proxy's headers itself).
    files: [runnerFile('hypercorn')],
    command: runnerOnEndpoint,
    readsWsgiFile: false,
    checks: NO_CHECKS,
  },
  daphne: {
    // daphne's Server with a graceful SIGTERM, request heads to 64 KiB and per-peer proxy trust.
    files: [runnerFile('daphne')],
    command: runnerOnEndpoint,
    readsWsgiFile: false,
    checks: NO_CHECKS,
  },
  tornado: {
    files: [runnerFile('tornado')],
    command: (p, ep) => [p.app.python, p.files.runner, '--port', String(ep.kind === 'tcp' ? ep.port : 0)],
    readsWsgiFile: false,
    checks: NO_CHECKS,
  },
  waitress: {
    // waitress's own option parser and server, plus the graceful SIGTERM stop it lacks.
    files: [runnerFile('waitress')],
    command: (p, ep) => {
      const s = p.appServer!;
      // One process per port: the port is its own argument (a unit template's %i).
      const where = ep.kind === 'unix' ? [`--unix-socket=${ep.path}`, '--unix-socket-perms=660'] : [];
      return [
        p.app.python,
        p.files.runner,
        ...where,
        ...(ep.kind === 'tcp' ? ['--host', ep.host, '--port', String(ep.port)] : []),
        `--threads=${s.threads?.count ?? 4}`,
        // app.mount: waitress makes the prefix SCRIPT_NAME and the rest PATH_INFO.
        ...((m) => (m?.kind === 'flag' ? [`${m.option}=${m.prefix}`] : []))(httpMountOf(p)),
        // Behind a proxy: honour X-Forwarded-Proto/For/Host from it, and only from it (on TCP
        // its loopback address; a unix-socket peer has no address, so '*' there, which the
        // socket's mode restricts to the proxy). waitress clears them from anyone else.
        ...(p.front.kind === 'none'
          ? []
          : [
              `--trusted-proxy=${proxyPeer(p, true).forwardedAllowIps}`,
              '--trusted-proxy-headers=x-forwarded-for x-forwarded-proto x-forwarded-host',
            ]),
        p.app.entry,
      ];
    },
    readsWsgiFile: false,
    checks: NO_CHECKS,
  },
  wsgiref: {
    files: [runnerFile('wsgiref')],
    command: (p, ep) => [
      p.app.python,
      p.files.runner,
      ...(ep.kind === 'tcp' ? ['--port', String(ep.port), '--host', ep.host] : []),
    ],
    readsWsgiFile: false,
    checks: NO_CHECKS,
  },
  'php-fpm': {
    files: [
      {
        file: 'phpFpmConf',
        template: 'php-fpm/pool.conf.hbs',
        what: 'php-fpm global settings and pool',
        view: (plan) => {
          const app = plan.appServer!;
          const server = SERVERS['php-fpm'];
          return {
            stopGraceSeconds: app.stopGraceSeconds,
            drainSeconds: drainSeconds(plan),
            reachedBy: reachedBy(plan),
            workers: app.workers,
            workersWhy: app.workers.reason,
            minSpare: Math.max(1, Math.ceil(app.workers.count / 2)),
            maxRequests: plan.spec.serve.max_requests,
            statusPath: server.scripts!.statusPath,
            statusSocket: statusSocketPath(plan),
            extension: server.scripts!.extension,
            timeoutComment: timeoutComment(plan),
            // INI double quotes: unquoted, `;` starts a comment and `=` is a syntax error.
            env: plan.app.env.map(([k, v]) => [k, `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`]),
          };
        },
      },
    ],
    // -F: in the foreground, under its process manager; -O: every log line to stderr (the
    // pool file says why); -y: this stack's own file, not Debian's /etc/php/8.2/fpm/php-fpm.conf.
    command: (p) => ['/usr/sbin/php-fpm8.2', '-F', '-O', '-y', p.files.phpFpmConf],
    readsWsgiFile: false,
    // php -l stands in for the Python import check (app-import) the others get.
    checks: { definitions: [phpFpmTest, phpEntryLint], importsApp: true },
  },
  // In Apache's own processes (catalog inFront): the WSGI script WSGIScriptAlias names, and
  // nothing to launch — Apache's master forks the daemon processes (templates/apache/site.conf.hbs).
  mod_wsgi: {
    files: [
      {
        file: 'modWsgiScript',
        template: 'apache/app.wsgi.hbs',
        what: "mod_wsgi's WSGI script: app.env, the app root on sys.path, the app's callable as `application` (touch it to restart the daemons with new code)",
        view: (plan) => ({
          loaderDir: plan.app.wsgiFile ? dirname(plan.files.wsgiLoader) : null,
        }),
      },
    ],
    command: () => [],
    readsWsgiFile: false,
    checks: NO_CHECKS,
  },
  // A process per request: the proxy (or fcgiwrap) runs the script; nothing to launch.
  cgi: {
    files: [
      {
        file: 'cgiScript',
        template: 'cgi/wsgi.cgi.hbs',
        what: 'CGI adapter for the WSGI app',
        mode: 0o755,
        // A plain CGI script is the user's own; a WSGI app gets stackgen's CGI adapter.
        when: (plan) => plan.spec.app.interface === 'wsgi',
        view: (plan) => ({ loaderDir: dirname(plan.files.wsgiLoader) }),
      },
    ],
    command: () => [],
    readsWsgiFile: false,
    checks: NO_CHECKS,
  },
};

/**
 * The stack's server names the gateway answers for; none (every Host) for `_`, or when a
 * name is an nginx regular expression (`~…`), which the gateway does not match.
 */
function serverNames(plan: Plan): string[] {
  const names = plan.spec.proxy.server_name.split(/\s+/).filter((n) => n !== '' && n !== '_');
  return names.some((n) => n.startsWith('~')) ? [] : names;
}

/** How a location names the script a server that runs scripts by name (php-fpm) must run. */
type LocationScript = { split: false; filename: string; name: string } | { split: true; pattern: string };

/** A regular expression matching exactly `text` (app.mount allows `.` among its characters). */
const regexLiteral = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The nginx locations of a server that runs scripts by name (catalog `scripts`): every
 * prefix location runs the front controller (app.entry) with the path as PATH_INFO, and one
 * regular-expression location runs a script the path names, split off by
 * fastcgi_split_path_info. Without `scripts`, no script is named (the app server runs one app).
 */
function withScripts(
  plan: Plan,
  locations: Array<{ path: string; buffered: boolean; why: string }>,
): Array<{ path: string; buffered: boolean; why: string; script: LocationScript | null }> {
  const scripts = SERVERS[plan.spec.serve.server].scripts;
  if (!scripts) return locations.map((l) => ({ ...l, script: null }));
  const entry = plan.spec.app.entry.replace(/^\/+/, '');
  const front: LocationScript = { split: false, filename: `${plan.app.root}/${entry}`, name: `/${entry}` };
  const ext = regexLiteral(scripts.extension);
  const root = locations[0]!;
  return [
    ...locations.map((l) => ({ ...l, script: front })),
    {
      path: `~ [^/]${ext}(/|$)`,
      buffered: root.buffered,
      why: root.why,
      script: { split: true, pattern: `^(.+?${ext})(/.*)$` },
    },
  ];
}

/**
 * The locations that reach the app: `/`, buffered unless the interface streams or the user
 * listed it, and one unbuffered location per proxy.unbuffered prefix (longest prefix wins).
 */
function appLocations(plan: Plan): Array<{ path: string; buffered: boolean; why: string }> {
  const { spec } = plan;
  const marked = 'the path is listed in proxy.unbuffered';
  // Mounted at /hg: the app's location is /hg/ (nginx redirects /hg to it).
  const rootPath = spec.app.mount === '/' ? '/' : `${spec.app.mount}/`;
  const root = spec.proxy.unbuffered.includes(rootPath)
    ? { path: rootPath, buffered: false, why: marked }
    : {
        path: rootPath,
        buffered: buffersAppResponses(spec),
        why: INTERFACE_BUFFERING[spec.app.interface].why,
      };
  const marks = spec.proxy.unbuffered
    .filter((p) => p !== rootPath)
    .map((path) => ({ path, buffered: false, why: marked }));
  return [root, ...marks];
}

/**
 * The app's mount point for the nginx site (null at /): SCRIPT_NAME, the map that cuts
 * PATH_INFO out of $uri, and for HTTP what tells the app server the prefix (catalog httpMount).
 */
function nginxMount(plan: Plan) {
  const mount = plan.spec.app.mount;
  if (mount === '/') return null;
  const http = SERVERS[plan.spec.serve.server].httpMount[plan.spec.app.interface];
  return {
    scriptName: mount,
    // Over HTTP the app server splits the path itself: no PATH_INFO to compute.
    pathInfoVar: plan.spec.proxy.protocol === 'http' ? null : `${plan.name.replace(/-/g, '_')}_path_info`,
    pattern: `~^${regexLiteral(mount)}(?<stackgen_below_mount>/.*)?$`,
    httpWhy: wrapWords(
      `app.mount ${mount}: the whole path goes to the app server, which is told the prefix (${httpMountSetting(http)}): ${http?.why ?? 'no mechanism'}.`,
      84,
    ),
  };
}

/** The setting that tells an HTTP app server its mount point, as its config shows it. */
function httpMountSetting(http: HttpMount | undefined): string {
  if (!http) return 'none';
  return http.kind === 'env'
    ? `${http.variable} in its environment`
    : http.kind === 'flag'
      ? http.option
      : http.setting;
}

/** A URL query value with its path separators left readable. */
const queryValue = (v: string) => encodeURIComponent(v).replace(/%2F/g, '/');

/**
 * The gateway's `?root=…&front=…` for a server that runs scripts by name (catalog `scripts`):
 * SCRIPT_FILENAME below app.root, and app.entry as the front controller. '' otherwise.
 */
function scriptQuery(plan: Plan): string {
  if (!SERVERS[plan.spec.serve.server].scripts) return '';
  const entry = plan.spec.app.entry.replace(/^\/+/, '');
  return `?root=${queryValue(plan.app.root)}&front=${queryValue(entry)}`;
}

/** What the gateway config's comment says about a script root (null without one). */
function gatewayScripts(plan: Plan) {
  const scripts = SERVERS[plan.spec.serve.server].scripts;
  if (!scripts) return null;
  return {
    extension: scripts.extension,
    entry: plan.spec.app.entry.replace(/^\/+/, ''),
    statusPath: scripts.statusPath,
  };
}

/** The app's mount point for the gateway config (null at /): its location and SCRIPT_NAME. */
function gatewayMount(plan: Plan) {
  const mount = plan.spec.app.mount;
  if (mount === '/') return null;
  const http = httpMountOf(plan);
  const why = http
    ? `The whole path goes to the app server (as nginx's proxy_pass sends it), which is told the prefix (${httpMountSetting(http)}): ${http.why}.`
    : `SCRIPT_NAME is ${mount} and PATH_INFO the decoded path below it, as the nginx site sends them.`;
  return { path: `${mount}/`, scriptName: mount, why: wrapWords(why, 90) };
}

/** nginx's listen parameter for one address: a bare port listens on every IPv4 address. */
function nginxListen(l: { host: string; port: number }): string {
  return l.host === '0.0.0.0' ? String(l.port) : `${l.host}:${l.port}`;
}

/** The part of a file name that says which address a catch-all owns: `any-80`, `any6-80`, `127.0.0.1-8080`. */
function addressSlug(l: { host: string; port: number }): string {
  const bare = l.host.replace(/^\[|\]$/g, '');
  const host = bare === '0.0.0.0' ? 'any' : bare === '::' ? 'any6' : bare.replace(/[^\w.]/g, '_');
  return `${host}-${l.port}`;
}

/**
 * The 444 catch-all for each of the stack's addresses, when it has a real server_name. One
 * file per address, named by the address alone, with nothing of the stack in it: two stacks
 * with their own names on port 80 share one default_server there (two would fail `nginx -t`
 * with "duplicate default server"), and it stays while any stack on that address does.
 */
export function nginxCatchAlls(plan: Plan): SharedFile[] {
  if (plan.spec.proxy.server_name === '_') return [];
  const http = plan.front.listens.map((l) => ({ l, tls: false }));
  const tls = plan.front.tlsListens.map((l) => ({ l, tls: true }));
  return [...http, ...tls].map(({ l, tls }) => ({
    path: `nginx/catch-all/${addressSlug(l)}.conf`,
    template: 'nginx/catch-all.conf.hbs',
    view: { listen: nginxListen(l), address: `${l.host}:${l.port}`, tls },
    what: tls
      ? `nginx catch-all: a TLS handshake for any unknown name on ${l.host}:${l.port} refused`
      : `nginx catch-all: every unknown Host on ${l.host}:${l.port} closed (444)`,
    installPath: `/etc/nginx/sites-enabled/stackgen-catch-all-${addressSlug(l)}.conf`,
  }));
}

/** nginx's ssl_ciphers: Mozilla intermediate's TLS 1.2 suites (src/tls/mozilla.ts; TLS 1.3's are OpenSSL's own). */
export const MOZILLA_INTERMEDIATE_CIPHERS = MOZILLA_INTERMEDIATE.tls12Ciphers.join(':');

/** The Strict-Transport-Security value for proxy.tls.hsts, or null when off. Pure. */
export function hstsValue(hsts: NormalizedTls['hsts']): string | null {
  if (hsts === 'off') return null;
  return [
    `max-age=${hsts.max_age}`,
    ...(hsts.include_subdomains ? ['includeSubDomains'] : []),
    ...(hsts.preload ? ['preload'] : []),
  ].join('; ');
}

/** The nginx site's TLS view (null when proxy.tls is off): listeners, files, redirect, HSTS. */
function nginxTls(plan: Plan) {
  const tls = plan.spec.proxy.tls;
  const files = plan.site.tls;
  if (tls === 'off' || files === null || plan.front.tlsListens.length === 0) return null;
  const first = plan.front.tlsListens[0]!;
  return {
    // nginx 1.22 (Debian bookworm) takes HTTP/2 as a listen parameter; `http2 on;` is 1.25.1+.
    listens: plan.front.tlsListens.map((l) => `${nginxListen(l)} ssl${tls.http2 ? ' http2' : ''}`),
    http2: tls.http2,
    cert: files.cert,
    key: files.key,
    stapling: files.chain,
    sessionZone: `${plan.name.replace(/-/g, '_')}_tls`,
    ciphers: MOZILLA_INTERMEDIATE_CIPHERS,
    ecdhCurve: MOZILLA_INTERMEDIATE.ecdhCurve,
    hsts: hstsValue(tls.hsts),
    redirect: tls.redirect_http,
    // The https origin a redirect names: the port only when it is not 443 (a sandbox's free port).
    httpsOrigin: first.port === 443 ? 'https://$host' : `https://$host:${first.port}`,
    webroot: plan.site.acmeWebroot,
    acme: nginxAcmeView(plan),
  };
}

/** proxy.tls.acme as the templates print it (names joined); null for certificate files. */
function nginxAcmeView(plan: Plan) {
  const a = acmePlan(plan);
  return a ? { ...a, names: a.names.join(' ') } : null;
}

/** certbot's deploy hook, a file of every front whose catalog entry takes proxy.tls.acme. */
const CERTBOT_DEPLOY_HOOK: RecipeFile = {
  file: 'certbotDeployHook',
  template: 'certbot/deploy-hook.sh.hbs',
  what: "certbot's deploy hook: points the front at the new certificate and reloads it gracefully",
  install: 'run by certbot after each issuance and renewal (renew_hook in its renewal file)',
  mode: 0o755,
  when: (plan) => acmePlan(plan) !== null,
  view: (plan) => ({ acme: nginxAcmeView(plan) }),
};

export const PROXY_RECIPES: Record<ProxyKind, ProxyRecipe> = {
  nginx: {
    files: [
      {
        file: 'nginxConf',
        template: 'nginx/nginx.conf.hbs',
        what: 'nginx main configuration',
        view: (plan) => ({
          upstreamAddressList: (plan.upstream?.endpoints ?? []).map(nginxAddress).join(', '),
          catchAlls: nginxCatchAlls(plan).map((f) => `${plan.site.configDir}/${f.path}`),
        }),
      },
      {
        file: 'nginxSite',
        template: 'nginx/site.conf.hbs',
        what: 'nginx server block and upstream',
        install: 'included from nginx.conf (or /etc/nginx/sites-enabled)',
        view: (plan) => {
          const protocol = plan.upstream!.protocol;
          const upstreamName = `${plan.name.replace(/-/g, '_')}_app`;
          const trustedProxies = plan.spec.proxy.trusted_proxies;
          const tls = nginxTls(plan);
          const http = plan.front.listens.map(nginxListen);
          return {
            listen: [...http, ...(tls?.listens ?? [])].join(', '),
            // The app's server: the http listeners too unless they only redirect to https.
            listens: tls ? [...(tls.redirect ? [] : http), ...tls.listens] : http,
            httpListens: http,
            tls,
            trustedProxies,
            // The scheme the app is told: the connection's, or a trusted load balancer's.
            schemeVar: trustedProxies.length > 0 ? `$${upstreamName}_scheme` : '$scheme',
            httpsVar: trustedProxies.length > 0 ? `$${upstreamName}_https` : '$https',
            // server_name _: the stack's server is the default; a real name: a catch-all
            // server (its own file, nginxCatchAlls) refuses every other Host.
            defaultServer: plan.spec.proxy.server_name === '_',
            catchAlls: nginxCatchAlls(plan).map((f) => f.installPath),
            upstreamName,
            servers: (plan.upstream?.endpoints ?? []).map(nginxAddress),
            keepalive: protocol === 'http' ? 16 : 0,
            noKeepaliveWhy:
              SERVERS[plan.spec.serve.server].frontKeepaliveRefusal ??
              (protocol === 'uwsgi' || protocol === 'scgi'
                ? `${PROTOCOLS[protocol].title} closes the connection after every response.`
                : "uWSGI's fastcgi-socket and fcgiwrap close the connection after every response (no FCGI_KEEP_CONN)."),
            upstreamProtocolTitle: PROTOCOLS[protocol].title,
            prefix: PROTOCOLS[protocol].nginx!.prefix,
            schemeParam: PROTOCOLS[protocol].nginx!.schemeParam,
            concurrency: plan.appServer?.concurrency ?? 'CGI',
            scriptFilename: plan.bridge ? cgiScriptPath(plan) : null,
            readTimeoutWhy: readTimeoutWhy(plan),
            appLocations: withScripts(plan, appLocations(plan)),
            // A server that runs scripts by name runs any script below a static prefix too:
            // static prefixes take precedence over its regular-expression location (^~).
            staticModifier: SERVERS[plan.spec.serve.server].scripts ? '^~ ' : '',
            mount: nginxMount(plan),
          };
        },
      },
      CERTBOT_DEPLOY_HOOK,
    ],
    // nginx is run by the distribution's own service in production; verify runs this.
    launch: (plan) => ({
      argv: ['nginx', '-c', plan.files.nginxConf, '-g', 'daemon off;'],
      env: {},
      cwd: plan.site.configDir,
      user: 'root',
      runsAppCode: false,
    }),
    errorLog: (plan) => plan.site.nginx.errorLog,
    checks: { definitions: [nginxTest], importsApp: false },
    sharedFiles: nginxCatchAlls,
  },
  gateway: {
    files: [
      {
        file: 'gatewayConfig',
        template: 'gateway/gateway.yaml.hbs',
        what: 'stackgen gateway configuration',
        view: (plan) => {
          const protocol = plan.upstream!.protocol;
          return {
            listenAddress: plan.front.listens.map((l) => `${l.host}:${l.port}`).join(', '),
            listenAddresses: plan.front.listens.map((l) => `${l.host}:${l.port}`),
            severalListeners: plan.front.listens.length > 1,
            serverName: plan.spec.proxy.server_name === '_' ? 'localhost' : serverNames(plan)[0]!,
            hosts: serverNames(plan),
            // No ?interpreter=: the script runs by its own #! line (stackgen's WSGI adapter
            // names app.python there; a user's CGI program may be a binary, as cgit is).
            upstreamUrls:
              protocol === 'cgi'
                ? [`cgi:${cgiScriptPath(plan)}`]
                : plan.upstream!.endpoints.map((ep) => gatewayUpstreamUrl(protocol, ep) + scriptQuery(plan)),
            scripts: gatewayScripts(plan),
            // The gateway spawns the CGI script itself: app.env reaches it only through here.
            cgiEnv: protocol === 'cgi' ? plan.app.env : [],
            readTimeoutWhy: readTimeoutWhy(plan),
            mount: gatewayMount(plan),
            // stack.yaml proxy.tls as the gateway's tls: block, on the plan's TLS addresses; the
            // files are the private copies its manager makes, where it makes them.
            tls: gatewayTlsView(
              plan.spec.proxy.tls,
              gatewayTlsFiles(plan),
              plan.front.tlsListens,
              plan.site.acmeWebroot,
            ),
            tlsCopiedFrom: tlsCopiedFrom(plan),
            acme: nginxAcmeView(plan),
          };
        },
      },
      CERTBOT_DEPLOY_HOOK,
    ],
    launch: (plan) => ({
      argv: [...plan.site.stackgenCommand, 'gateway', '--config', plan.files.gatewayConfig],
      env: {},
      // The gateway spawns CGI scripts itself: they run under its unit.
      runsAppCode: plan.upstream?.protocol === 'cgi',
      privateCopies: gatewayTlsCopies(plan),
    }),
    errorLog: null,
    checks: { definitions: [gatewayConfig], importsApp: false },
  },
  lighttpd: {
    files: [
      {
        file: 'lighttpdConf',
        template: 'lighttpd/lighttpd.conf.hbs',
        what: 'lighttpd configuration (the whole server: its unit runs lighttpd -D -f it)',
        view: (plan) => lighttpdView(plan),
      },
    ],
    // stackgen's own unit in production too (catalog proxies.ts says why not Debian's service).
    launch: (plan) => ({
      argv: ['/usr/sbin/lighttpd', '-D', '-f', plan.files.lighttpdConf],
      env: {},
      // mod_cgi spawns the CGI script itself: the script runs under lighttpd's unit.
      runsAppCode: plan.upstream?.protocol === 'cgi',
    }),
    // With -D and no server.errorlog, lighttpd logs to stderr: the journal (or verify's log).
    errorLog: null,
    checks: { definitions: [lighttpdTest], importsApp: false },
  },
  apache: {
    files: [
      {
        file: 'apacheSite',
        template: 'apache/site.conf.hbs',
        what: 'Apache site (virtual hosts, limits, static files, the backend)',
        install: '/etc/apache2/sites-available (a2ensite)',
        view: (plan) => apacheView(plan),
      },
      {
        file: 'apacheConf',
        template: 'apache/apache2.conf.hbs',
        what: "Apache top-level config standing in for Debian's apache2.conf (stackgen verify and check run the site through it)",
        install: 'not used in production (Debian’s apache2.conf includes the site)',
        view: (plan) => ({
          modules: apacheModules(plan),
          portsConf: apacheAlreadyListening(plan).map((p) => String(p)),
        }),
      },
    ],
    // Debian's apache2.service runs it in production; verify runs the same site through the
    // top-level config above, in the foreground, as its own master.
    launch: (plan) => ({
      argv: ['/usr/sbin/apache2', '-D', 'FOREGROUND', '-f', plan.files.apacheConf],
      env: { LANG: 'C' },
      cwd: plan.site.configDir,
      user: 'root',
      runsAppCode: false,
    }),
    errorLog: (plan) => plan.site.apache.errorLog,
    checks: { definitions: [apacheTest], importsApp: false },
    modules: (plan) => apacheModules(plan),
  },
  none: { files: [], launch: null, errorLog: null, checks: NO_CHECKS },
};

/** lighttpd's module and directive for each protocol it speaks to the backend. */
const LIGHTTPD_BACKENDS: Partial<Record<string, { module: string; directive: string | null }>> = {
  http: { module: 'mod_proxy', directive: 'proxy.server' },
  fastcgi: { module: 'mod_fastcgi', directive: 'fastcgi.server' },
  scgi: { module: 'mod_scgi', directive: 'scgi.server' },
  // mod_cgi: no backend address, the script itself (alias.url + cgi.assign in the template).
  cgi: { module: 'mod_cgi', directive: null },
};

/** Seconds of a duration in stack.yaml (nginx syntax), at least 1, for lighttpd's integer settings. */
const seconds = (d: string) => Math.max(1, Math.ceil((parseDuration(d) ?? 0) / 1000));

/** A lighttpd listen socket: `0.0.0.0:80`, `[::]:80`. */
const lighttpdSocket = (l: { host: string; port: number }) => `${l.host}:${l.port}`;

/** The lighttpd config's values: listeners, limits, the backend and the static files. */
function lighttpdView(plan: Plan) {
  const { spec } = plan;
  const protocol = plan.upstream!.protocol;
  const backend = LIGHTTPD_BACKENDS[protocol]!;
  const [first, ...more] = plan.front.listens;
  const maxBody = sizeToBytes(spec.proxy.max_body);
  const names = serverNames(plan);
  return {
    module: backend.module,
    directive: backend.directive,
    protocolTitle: PROTOCOLS[protocol].title,
    bind: first!.host,
    port: first!.port,
    moreSockets: more.map(lighttpdSocket),
    // The backend's addresses: a unix socket, or loopback host:port (one per per-port process).
    hosts: plan.upstream!.endpoints.map((ep) =>
      ep.kind === 'unix' ? { socket: ep.path } : { host: ep.host, port: ep.port },
    ),
    // FastCGI and SCGI at "/": SCRIPT_NAME "" and PATH_INFO the whole path, as a WSGI app
    // mounted at the root expects (lighttpd would otherwise make the first segment SCRIPT_NAME).
    fixRootScriptName: protocol !== 'http',
    // server.max-request-size is in KiB; 0 is unlimited in both.
    maxRequestKib: Math.ceil(maxBody / 1024),
    readIdle: seconds(spec.proxy.timeouts.client_body),
    keepaliveIdle: seconds(spec.proxy.timeouts.keepalive),
    connectTimeout: seconds(spec.proxy.timeouts.connect),
    readTimeout: seconds(spec.proxy.timeouts.read),
    writeTimeout: seconds(spec.proxy.timeouts.send),
    readTimeoutWhy: readTimeoutWhy(plan),
    gracefulSeconds: Math.max(1, PROXIES.lighttpd.process!.stopGraceSeconds - 5),
    // CGI: the script every request runs (the user's, or stackgen's WSGI adapter), and the
    // app's environment, which a script gets from lighttpd only through setenv.
    cgi: protocol === 'cgi' ? { script: cgiScriptPath(plan), env: plan.app.env } : null,
    hostPattern: names.length > 0 ? `^(${names.map(regexLiteral).join('|')})(:[0-9]+)?$` : null,
    static: plan.app.static.map((s) => ({
      ...s,
      pattern: `^${regexLiteral(s.url)}`,
      dotPattern: `^${regexLiteral(s.url)}(.*/)?\\.`,
    })),
    // A path that is not a directory: nothing falls through to a file of the host.
    noDocumentRoot: `${plan.site.configDir}/lighttpd/no-document-root`,
    upstreamTitle: plan.appServer ? SERVERS[plan.appServer.server].title : 'the CGI bridge',
    websocket: protocol === 'http' && spec.app.websockets,
  };
}

/**
 * proxy.tls's certificate and key as the gateway gets them: copies its process manager makes
 * as root into `<run dir>-tls` (/run/NAME-tls: the unit's RuntimeDirectory=), because the
 * gateway runs as the proxy's user and the key stays root-only. null: tls off, or no manager
 * to copy them (processes.manager none: the gateway reads the files themselves). Pure.
 */
export function gatewayTlsCopies(plan: Plan): PrivateCopies | null {
  const tls = plan.site.tls;
  // proxy.tls {cert, key} or {acme}: either way root-only files (certbot keeps privkey.pem 600).
  if (tls === null || plan.spec.proxy.tls === 'off') return null;
  const manager = MANAGERS[plan.spec.processes.manager].privateCopies;
  if (manager === null || !('how' in manager)) return null;
  const dir = `${plan.site.runDir}-tls`;
  return {
    dir,
    files: [
      { from: tls.cert, to: `${dir}/fullchain.pem` },
      { from: tls.key, to: `${dir}/privkey.pem` },
    ],
  };
}

/** proxy.tls's own files when the gateway reads private copies of them; null otherwise. */
function tlsCopiedFrom(plan: Plan): { cert: string; key: string } | null {
  const copies = gatewayTlsCopies(plan);
  return copies ? { cert: copies.files[0]!.from, key: copies.files[1]!.from } : null;
}

/** The certificate and key files the gateway's config names (its private copies, or the site's). */
function gatewayTlsFiles(plan: Plan): { cert: string; key: string } | null {
  const copies = gatewayTlsCopies(plan);
  if (copies) return { cert: copies.files[0]!.to, key: copies.files[1]!.to };
  return plan.site.tls;
}

/** Apache's proxy module (a2enmod's name) for each protocol it speaks to the backend. */
const APACHE_BACKENDS: Partial<Record<string, { modules: string[]; scheme: string | null }>> = {
  http: { modules: ['proxy', 'proxy_http'], scheme: 'http' },
  uwsgi: { modules: ['proxy', 'proxy_uwsgi'], scheme: 'uwsgi' },
  fastcgi: { modules: ['proxy', 'proxy_fcgi'], scheme: 'fcgi' },
  scgi: { modules: ['proxy', 'proxy_scgi'], scheme: 'scgi' },
  // mod_cgid (the event MPM's CGI module: mod_cgi forks from a threaded child, cgid from a
  // daemon of its own): no backend address, the script itself (ScriptAlias in the site).
  cgi: { modules: ['cgid'], scheme: null },
  // mod_wsgi's daemon mode: the app in processes Apache forks (catalog servers.ts mod_wsgi).
  mod_wsgi: { modules: ['wsgi'], scheme: null },
};

/** The modules an Apache site needs (a2enmod's names), in load order. */
export function apacheModules(plan: Plan): string[] {
  const backend = APACHE_BACKENDS[plan.upstream!.protocol]!;
  // authz_core: Require · alias: Alias/Redirect · mime: static Content-Types · headers:
  // RequestHeader/Header · reqtimeout: RequestReadTimeout · env: SetEnv · proxy + its protocol
  // (or cgid).
  return ['authz_core', 'alias', 'mime', 'headers', 'reqtimeout', 'env', ...backend.modules];
}

/**
 * Apache's Listen arguments: `port` alone where proxy.listen has both wildcards of it (one
 * v4-mapped [::] socket takes both — catalog v6WildcardTakesV4 — and a second Listen for
 * 0.0.0.0 would fail to bind), `host:port` otherwise.
 */
function apacheListens(listens: Array<{ host: string; port: number }>): string[] {
  const both = (port: number) =>
    listens.some((l) => l.port === port && l.host === '0.0.0.0') &&
    listens.some((l) => l.port === port && l.host === '[::]');
  return [
    ...new Set(
      listens.map((l) =>
        both(l.port) && /^(0\.0\.0\.0|\[::\])$/.test(l.host) ? String(l.port) : `${l.host}:${l.port}`,
      ),
    ),
  ];
}

/**
 * A server that runs scripts by name (php-fpm; catalog `scripts`): the handler every location
 * sets, the front controller, and the regular expression that names a script (static prefixes
 * left out). null otherwise.
 */
function apacheScripts(plan: Plan, endpoint: BoundEndpoint, scheme: string) {
  const scripts = SERVERS[plan.spec.serve.server].scripts;
  if (!scripts) return null;
  const entry = plan.spec.app.entry.replace(/^\/+/, '');
  const ext = regexLiteral(scripts.extension);
  const statics = plan.app.static.map((s) => `(?!${regexLiteral(s.url)})`).join('');
  const at =
    endpoint.kind === 'unix'
      ? `unix:${endpoint.path}|${scheme}://localhost/`
      : `${scheme}://${endpoint.host}:${endpoint.port}/`;
  return {
    handler: `proxy:${at}`,
    worker: at,
    entry,
    extension: scripts.extension,
    frontFilename: `${plan.app.root}/${entry}`,
    frontName: `/${entry}`,
    pattern: `^${statics}(?<script>/.+?${ext})(?<path_info>/.*)?$`,
  };
}

/** The stack's ports Debian's ports.conf already listens on (every address). */
function apacheAlreadyListening(plan: Plan): number[] {
  const already = PROXIES.apache.distro!.listensAlready ?? [];
  return [...new Set(plan.front.listens.map((l) => l.port))].filter((p) => already.includes(p));
}

/** The Apache site's values: listeners, virtual hosts, limits, the backend and the static files. */
function apacheView(plan: Plan) {
  const { spec } = plan;
  const protocol = plan.upstream!.protocol;
  const backend = APACHE_BACKENDS[protocol]!;
  const already = apacheAlreadyListening(plan);
  const names = serverNames(plan);
  const endpoint = plan.upstream!.endpoints[0];
  const app = plan.appServer;
  return {
    modules: apacheModules(plan),
    protocolTitle: PROTOCOLS[protocol].title,
    upstreamTitle: app ? SERVERS[app.server].title : 'the CGI bridge',
    upstreamCapacity: app
      ? `${app.workers.count * (app.threads?.count ?? 1)} request(s)`
      : 'one request per process',
    listens: apacheListens(plan.front.listens.filter((l) => !already.includes(l.port))),
    listensAlready: already,
    vhostAddresses: [...new Set(plan.front.listens.map((l) => `*:${l.port}`))].join(' '),
    catchAll: names.length > 0,
    serverName: names[0] ?? null,
    serverAliases: names.slice(1),
    noDocumentRoot: `${plan.site.configDir}/apache/no-document-root`,
    maxBodyBytes: sizeToBytes(spec.proxy.max_body),
    clientHeader: seconds(spec.proxy.timeouts.client_header),
    clientBody: seconds(spec.proxy.timeouts.client_body),
    sendTimeout: seconds(spec.proxy.timeouts.send),
    keepaliveTimeout: seconds(spec.proxy.timeouts.keepalive),
    connectTimeout: seconds(spec.proxy.timeouts.connect),
    readTimeout: seconds(spec.proxy.timeouts.read),
    readTimeoutWhy: readTimeoutWhy(plan),
    // A unix socket is `unix:/path|scheme://localhost/` (mod_proxy's UDS form).
    websocket: protocol === 'http' && spec.app.websockets,
    scripts: endpoint && backend.scheme ? apacheScripts(plan, endpoint, backend.scheme) : null,
    backendUrl: !endpoint
      ? null
      : endpoint.kind === 'unix'
        ? `unix:${endpoint.path}|${backend.scheme}://localhost/`
        : `${backend.scheme}://${endpoint.host}:${endpoint.port}/`,
    // mod_wsgi's daemon group and its script (serve.server mod_wsgi).
    wsgiDaemon: protocol === 'mod_wsgi' ? modWsgiView(plan) : null,
    // A ProxyPass / is rendered (not a script handler, mod_cgid or mod_wsgi): static prefixes
    // are taken out of it (`ProxyPass /static/ !`).
    proxyPassed: endpoint !== undefined && backend.scheme !== null && !SERVERS[spec.serve.server].scripts,
    // CGI: the script every request runs (the user's, or stackgen's WSGI adapter), and the
    // app's environment, which a script gets from Apache only through SetEnv.
    cgi:
      protocol === 'cgi'
        ? {
            script: cgiScriptPath(plan),
            dir: dirname(cgiScriptPath(plan)),
            file: basename(cgiScriptPath(plan)),
            env: plan.app.env,
          }
        : null,
    static: plan.app.static.map((s) => ({
      ...s,
      dir: s.dir.replace(/\/+$/, ''),
      dotPattern: `^${regexLiteral(s.url)}(.*/)?\\.`,
    })),
  };
}

/**
 * mod_wsgi's daemon process group (WSGIDaemonProcess) and the script it runs: the app's
 * account, processes × threads as sized, the app root as home and on the path, the timeouts
 * of stack.yaml. Pure.
 */
function modWsgiView(plan: Plan) {
  const app = plan.appServer!;
  const { spec } = plan;
  const script = plan.files.modWsgiScript;
  const venv = spec.app.venv ? dirname(dirname(plan.app.python)) : null;
  return {
    group: plan.name,
    user: plan.site.users.app,
    unixGroup: plan.site.users.group,
    processes: app.workers.count,
    threads: app.threads?.count ?? 1,
    workersWhy: app.workers.reason,
    threadsWhy: app.threads?.reason ?? `${spec.serve.concurrency}: one request per process at a time`,
    home: plan.app.root,
    pythonPath: plan.app.root,
    pythonHome: venv,
    script,
    scriptDir: dirname(script),
    scriptFile: basename(script),
    requestTimeout: spec.serve.timeout,
    socketTimeout: seconds(spec.proxy.timeouts.read),
    connectTimeout: seconds(spec.proxy.timeouts.connect),
    shutdownTimeout: Math.max(1, app.stopGraceSeconds - 5),
    title: SERVERS.mod_wsgi.inFront!.processTitle.replace('{name}', plan.name),
  };
}

/** The checks that apply to a plan because of its front and its app server, in that order. */
export function recipeChecks(plan: Plan): RecipeChecks {
  const server = SERVER_RECIPES[plan.spec.serve.server].checks;
  const proxy = PROXY_RECIPES[plan.front.kind].checks;
  return {
    definitions: [...proxy.definitions, ...server.definitions],
    importsApp: server.importsApp || proxy.importsApp,
  };
}

/** The front's error log in this plan's site, if it keeps one. */
export function frontErrorLog(plan: Plan): string | null {
  return PROXY_RECIPES[plan.front.kind].errorLog?.(plan) ?? null;
}
