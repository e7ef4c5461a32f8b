// Topology + Site → Plan: every concrete value the templates print and verify launches —
// socket paths, ports, command lines, users. Commands are built here once, so the systemd
// unit, the supervisor program and verify's launcher run the very same argv.

import { dirname, isAbsolute, join } from 'node:path';
import type { NormalizedSpec } from '../stack/normalize.js';
import type { ProxyKind } from '../stack/schema.js';
import { staticEntries } from '../stack/static-dirs.js';
import { type FileKey, relativeFiles, WSGI_LOADER_MODULE } from '../topology/catalog/files.js';
import { PROXY_RECIPES, SERVER_RECIPES } from '../topology/catalog/recipes.js';
import type { Site } from '../topology/site.js';
import type { AppServerComponent, Component, Endpoint, Topology } from '../topology/types.js';
import { type BoundEndpoint, nginxAddress } from './address.js';
import { brokerEnv, taskCommand } from '../topology/catalog/task-recipes.js';

export { type BoundEndpoint, nginxAddress } from './address.js';

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
  /** The directory its sockets are in (the site's run dir; the broker's own next to it). */
  runDir: string;
  /** Its state directory (systemd StateDirectory=), kept across restarts; null: it keeps no files. */
  stateDir: string | null;
  /**
   * supervisor sends the stop signal to its whole process group (stopasgroup); false: to the
   * main process only (Celery's worker), with why.
   */
  stopAsGroup: { value: boolean; why: string } | null;
  /** The app's code runs in this process (app server, fcgiwrap's CGI, the gateway's CGI): it gets app.writable. */
  runsAppCode: boolean;
  /** stackgen renders its unit/program (false: the distribution's own service runs it, as Debian's nginx). */
  managed: boolean;
  /** Root-only files its manager hands it as private copies (the gateway's TLS key); null: none. */
  privateCopies: PrivateCopies | null;
}

/**
 * Files a process must read that its own user cannot (a TLS key kept root-only, mode 600):
 * its manager, as root, copies each into `dir` — created for the process's user, mode 0700,
 * the copies 0400 — before it starts and again before every reload, so a renewed file
 * reaches it on SIGHUP. Nobody else (the app's own account included) can read the copies.
 */
export interface PrivateCopies {
  dir: string;
  files: Array<{ from: string; to: string }>;
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
    /** immutable: hashed file names, cached for a year (app.static `{dir, immutable: true}`). */
    static: Array<{ url: string; dir: string; immutable: boolean }>;
    /** Directories the app writes (app.writable), absolute. */
    writable: string[];
  };
  front: {
    kind: ProxyKind;
    /** The first listen address: where probes and readiness checks connect. */
    listen: BoundEndpoint & { kind: 'tcp' };
    /** Every listen address (proxy.listen), as bound on this site; the first is `listen`. */
    listens: Array<BoundEndpoint & { kind: 'tcp' }>;
    /** The TLS listen addresses (proxy.tls.listen) as bound on this site; empty when tls is off. */
    tlsListens: Array<BoundEndpoint & { kind: 'tcp' }>;
  };
  upstream: {
    protocol: NormalizedSpec['proxy']['protocol'];
    endpoints: BoundEndpoint[];
  } | null;
  appServer: (AppServerComponent & { bound: BoundEndpoint[] }) | null;
  bridge: { bound: BoundEndpoint } | null;
  /** Absolute paths of every file a stack can have (catalog/files.ts). */
  files: Record<FileKey, string>;
  launches: Launch[];
}

/**
 * The component that runs the app's code behind the front: the app server, or the CGI
 * bridge (fcgiwrap). null: the front runs CGI scripts itself (the gateway), or none at all.
 */
export function backendComponent(plan: Pick<Plan, 'topology'>): string | null {
  return plan.topology.components.find((c) => c.role === 'app-server' || c.role === 'cgi-bridge')?.id ?? null;
}

/** Is this component the stack's front server (nginx, the gateway)? */
export function isFrontComponent(plan: Pick<Plan, 'topology'>, component: string): boolean {
  return plan.topology.components.find((c) => c.id === component)?.role === 'proxy';
}

/** Is this component one of `tasks:` (the broker, a Celery worker, beat)? */
export function isTaskComponent(plan: Pick<Plan, 'topology'>, component: string): boolean {
  const role = plan.topology.components.find((c) => c.id === component)?.role;
  return role === 'broker' || role === 'task-worker' || role === 'task-beat';
}

/**
 * The name of a component's unit or program: the stack's name for the app server, the
 * stack's name and the component for the others (`shop`, `shop-gateway`, `shop-fcgiwrap`).
 */
export function unitBaseName(plan: Pick<Plan, 'name'>, component: string): string {
  return component === 'app' ? plan.name : `${plan.name}-${component}`;
}

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

/** Where a logical endpoint lands on a site (an IPv6 address on a sandbox: its IPv6 loopback). */
export function bindEndpoint(ep: Endpoint, site: Site): BoundEndpoint {
  if (ep.kind === 'unix')
    return { kind: 'unix', path: join(`${site.runDir}${ep.runDirSuffix ?? ''}`, ep.file) };
  const host = site.listenHost === null ? ep.host : isIpv6Host(ep.host) ? site.listenHost6 : site.listenHost;
  return { kind: 'tcp', host: host ?? site.listenHost!, port: site.ports[ep.port] ?? ep.port };
}

/** `[::]`, `[::1]`, `::` — an IPv6 literal, bracketed or not. Pure. */
export function isIpv6Host(host: string): boolean {
  return host.includes(':');
}

/**
 * The front's listen addresses as bound on a site. A sandbox whose loopback has no IPv6
 * leaves the IPv6 ones out (and would otherwise bind 127.0.0.1 twice).
 */
function frontListens(eps: Endpoint[], site: Site): Array<BoundEndpoint & { kind: 'tcp' }> {
  const kept = eps.filter(
    (ep) =>
      !(ep.kind === 'tcp' && site.listenHost !== null && site.listenHost6 === null && isIpv6Host(ep.host)),
  );
  const bound = (kept.length > 0 ? kept : eps.slice(0, 1)).map((ep) => bindEndpoint(ep, site));
  // Two addresses landing on the same loopback address and port are one listener.
  const seen = new Set<string>();
  return bound.filter(
    (b): b is BoundEndpoint & { kind: 'tcp' } =>
      b.kind === 'tcp' && !seen.has(`${b.host}:${b.port}`) && Boolean(seen.add(`${b.host}:${b.port}`)),
  );
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
  const frontEndpoints = (frontComponent ?? appComponent)?.listen ?? [];
  const listens = frontListens(
    frontEndpoints.length > 0 ? frontEndpoints : [{ kind: 'tcp', host: '0.0.0.0', port: 80 }],
    site,
  );
  const frontListen = listens[0]!;
  const tlsEndpoints = frontComponent?.role === 'proxy' ? frontComponent.tlsListen : [];
  const tlsListens = tlsEndpoints.length > 0 ? frontListens(tlsEndpoints, site) : [];

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
      static: staticEntries(spec).map(({ url, dir, immutable }) => ({
        url,
        dir: resolvePath(site.appRoot, dir),
        immutable,
      })),
      writable: spec.app.writable.map((dir) => resolvePath(site.appRoot, dir)),
    },
    front: { kind: spec.proxy.kind, listen: frontListen, listens, tlsListens },
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

function buildLaunches(plan: Plan, components: Component[]): Launch[] {
  const { site } = plan;
  const out: Launch[] = [];
  const env: Record<string, string> = { ...Object.fromEntries(plan.app.env), PYTHONUNBUFFERED: '1' };
  // The WSGI-file loader sits in the config dir; uWSGI reads the file itself (wsgi-file).
  if (plan.app.wsgiFile && !SERVER_RECIPES[plan.spec.serve.server].readsWsgiFile)
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
      managed: c.managed,
      privateCopies: null,
      runDir: site.runDir,
      stateDir: null,
      stopAsGroup: null,
    };
    if (c.role === 'broker' || c.role === 'task-worker' || c.role === 'task-beat') {
      const ready = c.listen[0] ? bindEndpoint(c.listen[0], site) : null;
      out.push({
        ...base,
        id: c.id,
        argv: taskCommand(plan, c),
        env: c.role === 'broker' ? {} : { ...env, ...brokerEnv(plan) },
        ready,
        instance: null,
        ownsRunDir: ready?.kind === 'unix',
        runDir: ready?.kind === 'unix' ? dirname(ready.path) : site.runDir,
        stateDir: c.keepsState ? `${site.stateDir}-${c.id}` : null,
        stopAsGroup: { value: c.stopAsGroup, why: c.stopAsGroupWhy },
        // The worker and beat import the app's code; the broker is Redis alone.
        runsAppCode: c.role !== 'broker',
      });
      continue;
    }
    if (c.role === 'app-server') {
      const bound = plan.appServer!.bound;
      const { perPort } = c;
      bound.forEach((ep, i) => {
        if (i > 0 && !perPort) return;
        out.push({
          ...base,
          id: perPort ? `${c.id}@${ep.kind === 'tcp' ? ep.port : i}` : c.id,
          argv: SERVER_RECIPES[c.server].command(plan, ep),
          // The web app sends tasks: it gets the broker's URL as the workers do.
          env: { ...env, ...brokerEnv(plan) },
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
    } else {
      const front = PROXY_RECIPES[plan.front.kind].launch!(plan);
      out.push({
        ...base,
        id: c.id,
        ready: plan.front.listen,
        instance: null,
        ownsRunDir: false,
        ...front,
        // A front that runs the app's code itself (the gateway spawning CGI scripts) is the
        // app's process: it runs as the app's account, which owns app.writable, and shares
        // no user with another service.
        ...(front.runsAppCode && front.user === undefined ? { user: site.users.app } : {}),
      });
    }
  }
  return out;
}
