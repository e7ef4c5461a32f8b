// Topology + Site → Plan: every concrete value the templates print and verify launches —
// socket paths, ports, command lines, users. Commands are built here once, so the systemd
// unit, the supervisor program and verify's launcher run the very same argv.

import { dirname, isAbsolute, join } from 'node:path';
import type { NormalizedSpec } from '../stack/normalize.js';
import type { ServerName } from '../stack/schema.js';
import type { Site } from '../topology/site.js';
import type { AppServerComponent, Component, Endpoint, Topology } from '../topology/types.js';

export type BoundEndpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** One process to start, exactly as its process manager would start it. */
export interface Launch {
  /** Component id, plus `@port` for per-port instances. */
  id: string;
  component: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  user: string;
  group: string;
  stopSignal: string;
  stopGraceSeconds: number;
  /** What answering means: the endpoint becomes connectable. */
  ready: BoundEndpoint | null;
  /** Instance name for systemd template units (tornado's port). */
  instance: string | null;
  /**
   * This process creates its sockets in the site's run dir: under systemd its unit owns
   * that directory (RuntimeDirectory=, created for User:Group at start, removed at stop).
   */
  ownsRunDir: boolean;
  /** The app's code runs in this process (app server, fcgiwrap's CGI, the gateway's CGI): it gets app.writable. */
  runsAppCode: boolean;
}

export interface Plan {
  name: string;
  spec: NormalizedSpec;
  topology: Topology;
  site: Site;
  /** The stack.yaml the files came from, for headers ("edit stack.yaml, not this file"). */
  source: string;
  app: {
    root: string;
    python: string;
    /** What servers import: `module:callable` (the loader's, for a WSGI file). */
    entry: string;
    module: string;
    callable: string;
    /** A WSGI file (`hgweb.wsgi`) the entry names, absolute; null for a module entry. */
    wsgiFile: string | null;
    env: Array<[string, string]>;
    static: Array<{ url: string; dir: string }>;
    /** Directories the app writes (app.writable), absolute. */
    writable: string[];
  };
  front: {
    kind: 'nginx' | 'gateway' | 'none';
    listen: BoundEndpoint & { kind: 'tcp' };
  };
  upstream: {
    protocol: NormalizedSpec['proxy']['protocol'];
    endpoints: BoundEndpoint[];
  } | null;
  appServer: (AppServerComponent & { bound: BoundEndpoint[] }) | null;
  bridge: { bound: BoundEndpoint } | null;
  files: {
    nginxConf: string;
    nginxSite: string;
    uwsgiIni: string;
    gunicornConf: string;
    gatewayConfig: string;
    supervisorPrograms: string;
    supervisordConf: string;
    tmpfiles: string;
    runner: string;
    cgiScript: string;
    wsgiLoader: string;
  };
  launches: Launch[];
}

/** The module of the loader a WSGI-file entry is served through (python/<it>.py in the config dir). */
export const WSGI_LOADER_MODULE = 'stackgen_wsgi_file';

/** Does the entry name a WSGI file (`hgweb.wsgi`, `app.py`) rather than `module:callable`? Pure. */
export function wsgiFileOf(spec: NormalizedSpec): boolean {
  const e = spec.app.entry;
  return (
    spec.app.interface === 'wsgi' &&
    spec.app.framework !== 'cgi' &&
    !e.includes(':') &&
    /\.(wsgi|py)$/.test(e)
  );
}

const resolvePath = (root: string, p: string) => (isAbsolute(p) ? p : join(root, p));

/** Where a logical endpoint lands on a site. */
export function bindEndpoint(ep: Endpoint, site: Site): BoundEndpoint {
  if (ep.kind === 'unix') return { kind: 'unix', path: join(site.runDir, ep.file) };
  return { kind: 'tcp', host: site.listenHost ?? ep.host, port: site.ports[ep.port] ?? ep.port };
}

/** Paths of generated files inside the config dir, relative — the artifact paths. */
export function relativeFiles(name: string) {
  return {
    nginxConf: 'nginx/nginx.conf',
    nginxSite: `nginx/${name}.conf`,
    uwsgiIni: `uwsgi/${name}.ini`,
    gunicornConf: `gunicorn/${name}.conf.py`,
    gatewayConfig: `gateway/${name}.yaml`,
    supervisorPrograms: `supervisor/${name}.conf`,
    supervisordConf: 'supervisor/supervisord.conf',
    tmpfiles: `tmpfiles/${name}.conf`,
    runner: `python/${name}_server.py`,
    cgiScript: `cgi/${name}.cgi`,
    wsgiLoader: `python/${WSGI_LOADER_MODULE}.py`,
  };
}

export function buildPlan(topology: Topology, site: Site, source: string): Plan {
  const spec = topology.spec;
  const rel = relativeFiles(spec.name);
  const files = Object.fromEntries(
    Object.entries(rel).map(([k, v]) => [k, join(site.configDir, v)]),
  ) as Plan['files'];
  const wsgiFile = wsgiFileOf(spec) ? resolvePath(site.appRoot, spec.app.entry) : null;
  // A WSGI file is not a module: servers import a generated loader that executes it.
  const entry = wsgiFile ? `${WSGI_LOADER_MODULE}:application` : spec.app.entry;
  const [module = '', callable = ''] = entry.includes(':') ? entry.split(':') : [entry, ''];

  const appComponent =
    topology.components.find((c): c is AppServerComponent => c.role === 'app-server') ?? null;
  const bridgeComponent = topology.components.find((c) => c.role === 'cgi-bridge') ?? null;
  const frontComponent = topology.components.find((c) => c.role === 'proxy') ?? null;

  const appServer = appComponent
    ? { ...appComponent, bound: appComponent.listen.map((ep) => bindEndpoint(ep, site)) }
    : null;
  const bridge = bridgeComponent ? { bound: bindEndpoint(bridgeComponent.listen[0]!, site) } : null;
  const frontListen = bindEndpoint(
    (frontComponent ?? appComponent)?.listen[0] ?? { kind: 'tcp', host: '0.0.0.0', port: 80 },
    site,
  ) as BoundEndpoint & { kind: 'tcp' };

  const plan: Plan = {
    name: spec.name,
    spec,
    topology,
    site,
    source,
    app: {
      root: site.appRoot,
      python: site.python,
      entry,
      module,
      callable,
      wsgiFile,
      env: Object.entries(spec.app.env),
      static: Object.entries(spec.app.static).map(([url, dir]) => ({
        url,
        dir: resolvePath(site.appRoot, dir),
      })),
      writable: spec.app.writable.map((dir) => resolvePath(site.appRoot, dir)),
    },
    front: { kind: spec.proxy.kind, listen: frontListen },
    upstream: frontComponent
      ? {
          protocol: spec.proxy.protocol,
          endpoints: appServer?.bound ?? (bridge ? [bridge.bound] : []),
        }
      : null,
    appServer,
    bridge,
    files,
    launches: [],
  };
  plan.launches = buildLaunches(plan, topology.components);
  return plan;
}

/** nginx's form of an address: `unix:/path` or `host:port`. */
export function nginxAddress(ep: BoundEndpoint): string {
  return ep.kind === 'unix' ? `unix:${ep.path}` : `${ep.host}:${ep.port}`;
}

/** The gateway's upstream URL for an endpoint (`uwsgi://unix:/run/x.sock`, `cgi:/path`). */
export function gatewayUpstreamUrl(protocol: string, ep: BoundEndpoint): string {
  return ep.kind === 'unix' ? `${protocol}://unix:${ep.path}` : `${protocol}://${ep.host}:${ep.port}`;
}

type CommandBuilder = (plan: Plan, ep: BoundEndpoint) => string[];

/** The command line of each app server (its config file holds the rest). */
const SERVER_COMMANDS: Record<ServerName, CommandBuilder> = {
  uwsgi: (p) => ['/usr/bin/uwsgi', '--ini', p.files.uwsgiIni],
  // `python -m gunicorn` runs gunicorn under the stack's interpreter (venv or Debian's).
  gunicorn: (p) => [p.app.python, '-m', 'gunicorn', '--config', p.files.gunicornConf, p.app.entry],
  uvicorn: (p, ep) => {
    const s = p.appServer!;
    const where = ep.kind === 'unix' ? ['--uds', ep.path] : ['--host', ep.host, '--port', String(ep.port)];
    return [
      p.app.python,
      '-m',
      'uvicorn',
      ...where,
      '--workers',
      String(s.workers.count),
      // Trust X-Forwarded-* only from the local proxy (uvicorn's default is 127.0.0.1 too,
      // but a unix-socket peer has no address, so name it).
      '--proxy-headers',
      '--forwarded-allow-ips',
      p.front.kind === 'none' ? '' : '*',
      '--timeout-keep-alive',
      '5',
      '--limit-concurrency',
      String((s.connections ?? 1000) * s.workers.count),
      '--app-dir',
      p.app.root,
      p.app.entry,
    ].filter((a) => a !== '');
  },
  tornado: (p, ep) => [p.app.python, p.files.runner, '--port', String(ep.kind === 'tcp' ? ep.port : 0)],
  waitress: (p, ep) => {
    const s = p.appServer!;
    const where =
      ep.kind === 'unix'
        ? [`--unix-socket=${ep.path}`, '--unix-socket-perms=660']
        : [`--listen=${ep.host}:${ep.port}`];
    return [
      p.app.python,
      '-m',
      'waitress',
      ...where,
      `--threads=${s.threads?.count ?? 4}`,
      // Behind a proxy: honour X-Forwarded-Proto/For from it (waitress trusts only these).
      ...(p.front.kind === 'none'
        ? []
        : [
            '--trusted-proxy=*',
            '--trusted-proxy-headers=x-forwarded-for x-forwarded-proto x-forwarded-host',
          ]),
      p.app.entry,
    ];
  },
  wsgiref: (p, ep) => [
    p.app.python,
    p.files.runner,
    ...(ep.kind === 'tcp' ? ['--port', String(ep.port), '--host', ep.host] : []),
  ],
  cgi: () => [],
};

function buildLaunches(plan: Plan, components: Component[]): Launch[] {
  const { site } = plan;
  const out: Launch[] = [];
  const env: Record<string, string> = { ...Object.fromEntries(plan.app.env), PYTHONUNBUFFERED: '1' };
  // The WSGI-file loader sits in the config dir; uWSGI reads the file itself (wsgi-file).
  if (plan.app.wsgiFile && plan.appServer?.server !== 'uwsgi')
    env['PYTHONPATH'] = dirname(plan.files.wsgiLoader);
  for (const c of components) {
    const base = {
      component: c.id,
      env,
      cwd: plan.app.root,
      user: c.role === 'proxy' ? site.users.proxy : site.users.app,
      group: site.users.group,
      stopSignal: c.stop.signal,
      stopGraceSeconds: c.stopGraceSeconds,
    };
    if (c.role === 'app-server') {
      const bound = plan.appServer!.bound;
      const { perPort } = c;
      bound.forEach((ep, i) => {
        if (i > 0 && !perPort) return;
        out.push({
          ...base,
          id: perPort ? `${c.id}@${ep.kind === 'tcp' ? ep.port : i}` : c.id,
          argv: SERVER_COMMANDS[c.server](plan, ep),
          ready: ep,
          instance: perPort && ep.kind === 'tcp' ? String(ep.port) : null,
          ownsRunDir: true,
          runsAppCode: true,
        });
      });
    } else if (c.role === 'cgi-bridge') {
      out.push({
        ...base,
        id: c.id,
        // -c: prefork this many fcgiwrap children (each runs one CGI at a time).
        argv: [
          '/usr/sbin/fcgiwrap',
          '-c',
          String(Math.max(2, plan.topology.cores * 2)),
          '-s',
          nginxAddress(plan.bridge!.bound),
        ],
        ready: plan.bridge!.bound,
        instance: null,
        ownsRunDir: plan.bridge!.bound.kind === 'unix',
        runsAppCode: true,
      });
    } else if (c.program === 'gateway') {
      out.push({
        ...base,
        id: c.id,
        argv: [...site.stackgenCommand, 'gateway', '--config', plan.files.gatewayConfig],
        env: {},
        ready: plan.front.listen,
        instance: null,
        ownsRunDir: false,
        // The gateway spawns CGI scripts itself: they run under its unit.
        runsAppCode: plan.upstream?.protocol === 'cgi',
      });
    } else {
      out.push({
        ...base,
        id: c.id,
        // nginx is run by the distribution's own service in production; verify runs this.
        argv: ['nginx', '-c', plan.files.nginxConf, '-g', 'daemon off;'],
        env: {},
        cwd: site.configDir,
        user: 'root',
        ready: plan.front.listen,
        instance: null,
        ownsRunDir: false,
        runsAppCode: false,
      });
    }
  }
  return out;
}
