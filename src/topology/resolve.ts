// StackSpec → Topology: decide the processes, the hops between them and the request paths
// verify must prove. Pure: the same spec and core count always give the same topology.

import { staticEntries } from '../stack/static-dirs.js';
import type { NormalizedSpec } from '../stack/normalize.js';
import { FRAMEWORKS } from './catalog/frameworks.js';
import { FCGIWRAP, FCGIWRAP_PROCESS, needsCgiBridge, PROTOCOLS, PROXIES } from './catalog/proxies.js';
import { requiredPackages } from './requirements.js';
import { SERVERS } from './catalog/servers.js';
import type {
  AppServerComponent,
  BridgeComponent,
  Component,
  Endpoint,
  Hop,
  ProxyComponent,
  RequestPath,
  Sizing,
  TaskComponent,
  Topology,
} from './types.js';
import { sizeWorkers } from './workers.js';
import {
  BROKER_SOCKET,
  TASK_PROCESSES,
  TASK_STOP_MARGIN_SECONDS,
  type TaskComponentId,
} from './catalog/tasks.js';
import type { TasksSpec } from '../stack/schema.js';

export interface ResolveOptions {
  /** CPU cores to size `auto` for (the CLI passes the machine's; tests pass a constant). */
  cores: number;
  /**
   * The user gave the cores (--cores): render `auto` as fixed numbers for them. Otherwise a
   * server that can count its cores at start (gunicorn, uWSGI) gets the rule, not this
   * machine's count.
   */
  coresPinned?: boolean;
}

/** Resolve a normalized spec into its topology. */
export function resolveTopology(spec: NormalizedSpec, options: ResolveOptions): Topology {
  const components: Component[] = [];
  const hops: Hop[] = [];
  const front = resolveFront(spec);
  const coresPinned = options.coresPinned ?? false;
  const app = resolveAppServer(spec, options.cores, coresPinned, front);
  const bridge = needsCgiBridge(spec.serve.server, spec.proxy.kind) ? resolveFcgiwrap(spec) : null;

  if (app) components.push(app);
  if (bridge) components.push(bridge);
  if (front) {
    front.dependsOn = [app?.id, bridge?.id].filter((x): x is string => x !== undefined);
    components.push(front);
  }
  const tasks = resolveTasks(spec, options.cores);
  components.push(...tasks);
  // The web app sends tasks from its first request: the broker is up before the app server.
  if (app && tasks.some((t) => t.role === 'broker')) app.dependsOn.push(BROKER);

  const clientTarget = front ?? app!;
  const router = front ? null : (app?.router ?? null);
  hops.push({
    id: 'client',
    from: 'client',
    to: router ? ROUTER_NODE : clientTarget.id,
    protocol: 'http',
    via: clientTarget.listen[0] ?? null,
    why: front
      ? PROXIES[spec.proxy.kind].buffering
        ? `${front.title} faces clients: it buffers slow uploads and downloads and enforces limits`
        : `${front.title} faces clients and enforces limits, but streams uploads and downloads through: a slow client holds an app worker`
      : router
        ? `no proxy: ${router.why}`
        : 'no proxy: the app server faces clients itself',
  });
  if (router && app)
    hops.push({
      id: 'router',
      from: ROUTER_NODE,
      to: app.id,
      protocol: router.protocol,
      via: router.inner,
      why: router.innerWhy,
    });

  const iface = spec.app.interface;
  if (front && app) {
    hops.push({
      id: 'upstream',
      from: front.id,
      to: app.id,
      protocol: spec.proxy.protocol,
      via: app.listen[0] ?? null,
      why:
        SERVERS[spec.serve.server].scripts?.hopWhy.replace('{front}', front.title) ??
        PROXIES[spec.proxy.kind].upstreamWhy?.[spec.proxy.protocol] ??
        PROTOCOLS[spec.proxy.protocol].why,
    });
  }
  if (front && bridge) {
    hops.push({
      id: 'upstream',
      from: front.id,
      to: bridge.id,
      protocol: 'fastcgi',
      via: bridge.listen[0] ?? null,
      why: `${front.title} has no CGI: it speaks FastCGI to fcgiwrap, which spawns the script`,
    });
  }
  const caller = app ?? bridge ?? front!;
  hops.push({
    id: 'app',
    from: caller.id,
    to: 'python',
    protocol: SERVERS[spec.serve.server].processModel === 'process-per-request' ? 'cgi' : iface,
    via: null,
    why: appCallWhy(spec),
  });

  // Mounted (app.mount /hg): the app's requests are /hg/… (the proxy's 404 answers the rest).
  const appPrefix = spec.app.mount === '/' ? '/' : `${spec.app.mount}/`;
  const paths: RequestPath[] = [
    {
      name: 'app',
      kind: 'app',
      urlPrefix: appPrefix,
      hops: hops.map((h) => h.id),
    },
  ];
  if (spec.app.websockets) {
    paths.push({ name: 'websocket', kind: 'websocket', urlPrefix: appPrefix, hops: hops.map((h) => h.id) });
  }
  if (front) {
    for (const { url, dir } of staticEntries(spec)) {
      const id = `static:${url}`;
      hops.push({
        id,
        from: front.id,
        to: 'files',
        protocol: 'file',
        via: null,
        why: `${front.title} reads ${dir} itself (sendfile), so no app worker is spent on files`,
      });
      paths.push({
        name: `static ${url}`,
        kind: 'static',
        urlPrefix: url,
        directory: dir,
        hops: ['client', id],
      });
    }
  }

  if (spec.tasks && app) {
    const broker = tasks.find((t) => t.role === 'broker') ?? null;
    const protocol = brokerProtocol(spec.tasks.broker);
    const where = broker
      ? "the stack's Redis"
      : spec.tasks.broker === 'env'
        ? 'the broker app.env_file names'
        : 'the broker';
    hops.push(
      {
        id: 'enqueue',
        from: app.id,
        to: broker ? broker.id : 'broker',
        protocol,
        via: broker?.listen[0] ?? null,
        why: `the web app sends the task (\`.delay()\`) to ${where} and answers without running it; with a result it waits on the result backend`,
      },
      {
        id: 'consume',
        from: broker ? broker.id : 'broker',
        to: 'worker',
        protocol,
        via: broker?.listen[0] ?? null,
        why: `a Celery worker takes the task from ${where}, runs it, and stores its result there`,
      },
      {
        id: 'task',
        from: 'worker',
        to: 'tasks',
        protocol: 'celery',
        via: null,
        why: `the worker's prefork pool calls the task function of ${spec.tasks.app}`,
      },
    );
    paths.push({
      name: 'tasks',
      kind: 'task',
      urlPrefix: appPrefix,
      hops: [
        ...hops.filter((h) => h.id === 'client' || h.id === 'upstream').map((h) => h.id),
        'enqueue',
        'consume',
        'task',
      ],
    });
    if (tasks.some((t) => t.role === 'task-beat')) {
      hops.push({
        id: 'schedule',
        from: 'beat',
        to: broker ? broker.id : 'broker',
        protocol,
        via: broker?.listen[0] ?? null,
        why: `Celery beat sends each periodic task to ${where} when it is due; a worker runs it as any other`,
      });
      paths.push({
        name: 'periodic tasks',
        kind: 'schedule',
        urlPrefix: '',
        hops: ['schedule', 'consume', 'task'],
      });
    }
  }

  return {
    name: spec.name,
    spec,
    cores: options.cores,
    coresPinned,
    components,
    hops,
    paths,
    packages: requiredPackages(spec),
    warnings: [],
  };
}

/** The node id of a server's own client-facing router in hops (it is a process of the app server). */
export const ROUTER_NODE = 'router';

function resolveFront(spec: NormalizedSpec): ProxyComponent | null {
  const kind = spec.proxy.kind;
  if (kind === 'none') return null;
  const entry = PROXIES[kind];
  const { why, ...process } = entry.process!;
  return {
    id: kind,
    role: 'proxy',
    program: kind,
    title: entry.title,
    dependsOn: [],
    listen: spec.proxy.listen.map(parseListen),
    tlsListen: spec.proxy.tls === 'off' ? [] : spec.proxy.tls.listen.map(parseListen),
    ...process,
    why,
  };
}

function resolveAppServer(
  spec: NormalizedSpec,
  cores: number,
  coresPinned: boolean,
  front: ProxyComponent | null,
): AppServerComponent | null {
  const server = SERVERS[spec.serve.server];
  if (server.processModel === 'process-per-request') return null;
  const perPort = server.processModel === 'process-per-port';
  let sizing = sizeWorkers(spec, cores, coresPinned);
  // One process per port needs a proxy to spread requests over the ports: facing clients on
  // one address, it is one process.
  if (perPort && !front)
    sizing = {
      ...sizing,
      workers: {
        count: 1,
        reason: `${server.title} runs one process per port, and with no proxy to spread requests there is one port`,
        perCore: null,
      },
    };
  const instances = perPort ? sizing.workers.count : 1;

  let listen: Endpoint[];
  if (server.inFront) {
    // A module of the front (mod_wsgi): the front makes and names its socket itself.
    listen = [];
  } else if (!front) {
    // No proxy: the app server binds the first address only (one bind per server).
    listen = [parseListen(spec.proxy.listen[0]!)];
  } else if (spec.serve.socket === 'unix' && !perPort) {
    listen = [{ kind: 'unix', file: `${spec.name}.sock` }];
  } else {
    listen = Array.from({ length: instances }, (_, i) => ({
      kind: 'tcp' as const,
      host: spec.serve.host,
      port: spec.serve.port + i,
    }));
  }
  // No proxy: a server with a router of its own (uWSGI's `http =`) puts it in front of the
  // workers, which then listen on a unix socket of the run dir only the router reaches.
  const routerEntry = front ? undefined : server.httpRouter;
  const router = routerEntry
    ? {
        title: routerEntry.title,
        inner: { kind: 'unix' as const, file: `${spec.name}.sock` },
        protocol: routerEntry.innerProtocol,
        why: routerEntry.why,
        innerWhy: routerEntry.innerWhy,
      }
    : null;
  const concurrencyNeedsConnections =
    spec.serve.concurrency === 'gevent' || spec.serve.concurrency === 'async';
  return {
    id: 'app',
    role: 'app-server',
    program: server.name,
    server: server.name,
    title: server.title,
    interface: spec.app.interface,
    concurrency: spec.serve.concurrency,
    protocol: front ? spec.proxy.protocol : 'http',
    workers: sizing.workers,
    threads: sizing.threads,
    connections: concurrencyNeedsConnections ? spec.serve.connections : null,
    instances,
    perPort,
    router,
    dependsOn: [],
    listen,
    // A module of the front runs in the front's own service: no unit of the stack's.
    managed: server.inFront === undefined,
    stop: server.stop,
    reload: server.reload,
    systemdType: server.systemdType,
    stopGraceSeconds: server.stopGraceSeconds,
    why: perPort
      ? `${server.title} serves itself: ${instances} processes, one per port, load-balanced by the proxy`
      : `${server.title} runs the ${spec.app.interface.toUpperCase()} app under the ${spec.serve.concurrency} model`,
  };
}

/** The broker component's id (the hops name it when the broker is someone else's). */
const BROKER = 'broker';

/** The hop's protocol: what the broker URL's scheme says (stackgen's own broker is Redis). */
function brokerProtocol(broker: TasksSpec['broker']): 'redis' | 'amqp' | 'sqs' | 'broker' {
  if (broker === 'redis') return 'redis';
  if (broker === 'env') return 'broker';
  const scheme = broker.slice(0, broker.indexOf(':'));
  return scheme.startsWith('amqp') ? 'amqp' : scheme === 'sqs' ? 'sqs' : 'redis';
}

/** tasks: its broker (when the stack owns one), the worker, and beat when asked. */
function resolveTasks(spec: NormalizedSpec, cores: number): TaskComponent[] {
  const tasks = spec.tasks;
  if (!tasks) return [];
  const out: TaskComponent[] = [];
  const component = (
    id: TaskComponentId,
    role: TaskComponent['role'],
    program: TaskComponent['program'],
    extra: Partial<TaskComponent> = {},
  ): TaskComponent => {
    const { title, stopAsGroup, stopAsGroupWhy, ...process } = TASK_PROCESSES[id];
    return {
      id,
      role,
      program,
      title,
      dependsOn: [],
      listen: [],
      workers: null,
      stopAsGroup,
      stopAsGroupWhy,
      keepsState: false,
      ...process,
      ...extra,
    };
  };
  const owned = tasks.broker === 'redis';
  if (owned)
    out.push(
      component(BROKER, 'broker', 'redis-server', {
        listen: [{ kind: 'unix', file: BROKER_SOCKET, runDirSuffix: '-broker' }],
        keepsState: true,
      }),
    );
  const dependsOn = owned ? [BROKER] : [];
  const workers: Sizing =
    tasks.concurrency === 'auto'
      ? {
          count: cores,
          reason: `prefork: one pool process per core = ${cores} (a task is CPU or blocking work taken out of the request; Celery's own default is the CPU count)`,
          perCore: null,
        }
      : { count: tasks.concurrency, reason: 'set in stack.yaml (tasks.concurrency)', perCore: null };
  out.push(
    component('worker', 'task-worker', 'celery', {
      dependsOn,
      workers,
      stopGraceSeconds: tasks.time_limit + TASK_STOP_MARGIN_SECONDS,
    }),
  );
  if (tasks.beat) out.push(component('beat', 'task-beat', 'celery', { dependsOn, keepsState: true }));
  return out;
}

function resolveFcgiwrap(spec: NormalizedSpec): BridgeComponent {
  return {
    id: FCGIWRAP.program,
    role: 'cgi-bridge',
    program: FCGIWRAP.program,
    title: FCGIWRAP.program,
    dependsOn: [],
    listen: [{ kind: 'unix', file: `${spec.name}-${FCGIWRAP.program}.sock` }],
    ...FCGIWRAP_PROCESS,
  };
}

function appCallWhy(spec: NormalizedSpec): string {
  const fw = FRAMEWORKS[spec.app.framework].title;
  const perRequest = SERVERS[spec.serve.server].processModel === 'process-per-request';
  switch (perRequest ? 'cgi' : spec.app.interface) {
    case 'cgi': {
      // Who forks it, where the front says (Apache's mod_cgid: as www-data).
      const runner = PROXIES[spec.proxy.kind].upstreamWhy?.cgi;
      const call =
        spec.app.interface === 'wsgi'
          ? `the script runs ${fw}'s WSGI app through wsgiref's CGIHandler, once per request`
          : 'RFC 3875: the script reads its environment and stdin, writes headers and body to stdout';
      return runner ? `${runner}; ${call}` : call;
    }
    case 'wsgi':
      // A framework is "the Flask app"; a plain callable's title already says what it is.
      return `PEP 3333: the server calls ${spec.app.entry}(environ, start_response)${fw.startsWith('a ') ? `, ${fw}` : ` of the ${fw} app`}`;
    case 'asgi':
      return `ASGI: the server awaits ${spec.app.entry}(scope, receive, send) on its event loop`;
    case 'php':
      return `a PHP-FPM child runs the script ${PROXIES[spec.proxy.kind].title} names in SCRIPT_FILENAME (${spec.app.entry}, the front controller, for every path that names no script) and is free for the next request when it ends`;
    default:
      return `Tornado runs ${spec.app.entry}() on its own IOLoop`;
  }
}

/** `80`, `0.0.0.0:80`, `[::1]:8080` → a TCP endpoint (a bare port listens on all addresses). */
export function parseListen(listen: string): Endpoint {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(listen);
  if (!m) return { kind: 'tcp', host: '0.0.0.0', port: 80 };
  return { kind: 'tcp', host: m[1] ?? '0.0.0.0', port: Number(m[2]) };
}
