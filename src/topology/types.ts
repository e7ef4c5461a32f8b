// The resolved plan of a stack: which processes run, how a request travels between them,
// and which request paths verify must prove. Site-independent: addresses here are logical
// (a socket file name, a TCP port); render/plan.ts places them on a Site.

import type { NormalizedSpec } from '../stack/normalize.js';
import type { AppInterface, Concurrency, Protocol, ProxyKind, ServerName } from '../stack/schema.js';
import type { Diagnostic } from '../stack/diagnostics.js';
import type { TaskComponentId } from './catalog/tasks.js';
import type { SignalPlan } from './catalog/types.js';

/**
 * A listening address: a socket file in the Site's run dir (or in a run dir of its own next to
 * it, `<runDir><runDirSuffix>`: the broker's), or a TCP host:port.
 */
export type Endpoint =
  | { kind: 'unix'; file: string; runDirSuffix?: string }
  | { kind: 'tcp'; host: string; port: number };

/** A number chosen for the user, with the rule that produced it (written into the files). */
export interface Sizing {
  count: number;
  /** e.g. "prefork: 2 × cores + 1 = 2 × 2 + 1" or "set in stack.yaml". */
  reason: string;
  /**
   * `auto` as a rule over cores (count = factor × cores + plus), for a server that counts
   * its cores when it starts (catalog: countsCores); `count` is the rule for the cores
   * resolved for. null: a fixed number (set in stack.yaml, pinned by --cores, or one process).
   */
  perCore: { factor: number; plus: number } | null;
}

/** A front server's kind (never 'none': no proxy has no component). */
export type FrontProgram = Exclude<ProxyKind, 'none'>;

export type ComponentProgram = FrontProgram | 'fcgiwrap' | ServerName | 'redis-server' | 'celery';

interface ComponentBase {
  /** Stable id: the proxy's kind (nginx, gateway), 'app' or 'fcgiwrap'. */
  id: string;
  program: ComponentProgram;
  title: string;
  /** Ids of components that must be ready before this one starts. */
  dependsOn: string[];
  /** Where it listens; tornado has one endpoint per process. */
  listen: Endpoint[];
  /** stackgen renders a unit/program for it (nginx is run by the distribution's own service). */
  managed: boolean;
  stop: SignalPlan;
  reload: SignalPlan | null;
  systemdType: 'notify' | 'exec';
  stopGraceSeconds: number;
  why: string;
}

export interface ProxyComponent extends ComponentBase {
  role: 'proxy';
  program: FrontProgram;
  /** Where it listens with TLS (proxy.tls.listen); empty when proxy.tls is off. */
  tlsListen: Endpoint[];
}

/** Every address a component listens on, TLS ones included: what a site maps to its ports. */
export function allListens(c: Component): Endpoint[] {
  return c.role === 'proxy' ? [...c.listen, ...c.tlsListen] : c.listen;
}

/** fcgiwrap: nginx's bridge to CGI scripts. */
export interface BridgeComponent extends ComponentBase {
  role: 'cgi-bridge';
  program: 'fcgiwrap';
}

export interface AppServerComponent extends ComponentBase {
  role: 'app-server';
  program: ServerName;
  server: ServerName;
  interface: AppInterface;
  concurrency: Concurrency;
  /** Protocol it speaks to its client (the proxy, or clients directly). */
  protocol: Protocol;
  workers: Sizing;
  threads: Sizing | null;
  /** Greenlets / connections per worker for gevent and async. */
  connections: number | null;
  /** Processes with their own unit instance (tornado: one per port). */
  instances: number;
  /** One process per listen port, each its own unit instance (catalog processModel). */
  perPort: boolean;
  /**
   * No proxy and the server has a router of its own (catalog httpRouter): the router binds
   * `listen` for clients and reaches the workers on `inner`. null: the workers' listener is `listen`.
   */
  router: { title: string; inner: Endpoint; protocol: Protocol; why: string; innerWhy: string } | null;
}

/** `tasks:`: the stack's broker (Redis), the Celery worker, Celery beat. */
export interface TaskComponent extends ComponentBase {
  role: 'broker' | 'task-worker' | 'task-beat';
  id: TaskComponentId;
  program: 'redis-server' | 'celery';
  /** Worker processes of the prefork pool, with the reason (null for broker and beat). */
  workers: Sizing | null;
  /** supervisor signals the process group (false: the main process only, see the catalog). */
  stopAsGroup: boolean;
  stopAsGroupWhy: string;
  /** It keeps files across restarts (broker's append-only file, beat's schedule): a state directory. */
  keepsState: boolean;
}

export type Component = ProxyComponent | BridgeComponent | AppServerComponent | TaskComponent;

/** One leg of a request's journey. */
export interface Hop {
  id: string;
  from: string;
  to: string;
  /** The wire (or call) between them. */
  protocol:
    | Protocol
    | 'wsgi'
    | 'asgi'
    | 'tornado'
    | 'php'
    | 'file'
    | 'fastcgi'
    | 'redis'
    | 'amqp'
    | 'sqs'
    | 'broker'
    | 'celery';
  via: Endpoint | null;
  why: string;
}

/** A route a request can take end to end; verify proves each one. */
export interface RequestPath {
  name: string;
  /** `schedule`: beat's periodic tasks, drawn by explain; no request selects it, no probe runs on it. */
  kind: 'app' | 'static' | 'websocket' | 'task' | 'schedule';
  /** URL prefix that selects this path. */
  urlPrefix: string;
  /** For static paths: the directory (relative to the app root). */
  directory?: string | undefined;
  hops: string[];
}

export interface Topology {
  name: string;
  spec: NormalizedSpec;
  /** CPU cores the `auto` sizes were computed for. */
  cores: number;
  /** The cores were given (--cores): `auto` sizes are rendered as numbers, not counted on the server. */
  coresPinned: boolean;
  components: Component[];
  hops: Hop[];
  paths: RequestPath[];
  /** Debian packages the stack needs on the target machine. */
  packages: string[];
  warnings: Diagnostic[];
}
