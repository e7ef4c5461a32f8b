// Shapes of the catalog: what each server, framework, proxy, protocol and process manager
// can do, as data. Compatibility rules (src/stack/rules.ts) and renderers read these tables;
// adding a server means adding an entry, its templates and an example — not new branches.

import type {
  AppInterface,
  Concurrency,
  Framework,
  Manager,
  Protocol,
  ProxyKind,
  ServerName,
} from '../../stack/schema.js';
import type { FileKey } from './files.js';

/** Where the deploy hook reloads the front: the production host's service, or verify's own master. */
export interface AcmeReloadSite {
  production: boolean;
  /** The front's main config (a sandbox's nginx -c). */
  mainConfig: string;
  /** The distribution front's pid file (nginx's master). */
  pidFile: string;
  /** The front's own unit when stackgen renders it (`NAME-gateway.service`); null: the distribution's service. */
  unit: string | null;
  /** A sandbox's record of that unit's main pid (systemd's MAINPID, which `systemctl reload` signals). */
  mainPidFile: string | null;
  /** The root lines its unit runs before every reload (ExecReload=+: the private copies), shell-quoted. */
  beforeReload: string[];
}

/** A system program stackgen or the stack needs, and how to learn its version. */
export interface ProgramRequirement {
  program: string;
  /** Debian package that provides it (for `doctor`'s install command). */
  package: string;
  /** Arguments that print a version; the first x.y[.z] in stdout+stderr is taken. */
  versionArgs: string[];
  minVersion: string;
  /** Why that minimum (shown by doctor when the installed version is older). */
  why: string;
  /**
   * Not an apt package (or Debian's is too old): how to get it instead. doctor prints this
   * rather than an apt-get line; install, CI and the README do not ask apt for it.
   */
  obtain?: string;
}

/** A Python module the app server's interpreter must be able to import. */
export interface PythonRequirement {
  module: string;
  package: string;
}

/** A server plugin shipped in its own Debian package (uWSGI loads Python as a plugin). */
export interface PluginRequirement {
  plugin: string;
  package: string;
}

export interface SignalPlan {
  signal: 'SIGTERM' | 'SIGQUIT' | 'SIGINT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2' | 'SIGWINCH';
  why: string;
  /**
   * The reload is a command written to the server's master FIFO (a file in the stack's run
   * directory) instead of the signal: the signal stays the fallback for what has no FIFO.
   */
  masterFifo?: { command: string; why: string };
}

export interface ServerEntry {
  name: ServerName;
  title: string;
  interfaces: readonly AppInterface[];
  /** Named in hints as a production server for its interfaces (not dev servers, not special cases). */
  suggested: boolean;
  /**
   * Per app interface, the concurrency models it runs that interface under, when narrower
   * than `concurrency` (gunicorn runs ASGI only in uvicorn workers); the first is the default.
   * The messages explain a refusal ({model} is the refused model).
   */
  interfaceModels: Partial<
    Record<AppInterface, { models: readonly Concurrency[]; refusal: string; hint: string }>
  >;
  /** Extra advice when an interface it does not serve is asked of it. */
  interfaceHints: Partial<Record<AppInterface, string>>;
  /** A warning when it speaks this protocol to the proxy (it works, with a caveat). */
  protocolWarnings: Partial<Record<Protocol, { message: string; hint: string }>>;
  /** A warning when it serves this interface (it works, with a caveat). */
  interfaceWarnings: Partial<Record<AppInterface, { message: string; hint: string }>>;
  protocols: readonly Protocol[];
  defaultProtocol: Protocol;
  concurrency: readonly Concurrency[];
  defaultConcurrency: Concurrency;
  /** Concurrency models under which this server can hold WebSocket connections. */
  websocketConcurrency: readonly Concurrency[];
  /** How processes are laid out: one master with workers, one process per port, or none. */
  processModel: 'master-workers' | 'single-process' | 'process-per-port' | 'process-per-request';
  defaultSocket: 'unix' | 'tcp';
  /**
   * Its config can count the cores when the server starts, so `auto` workers are a rule in
   * the config rather than the rendering machine's count (null: a number is rendered).
   */
  countsCores: { how: string } | null;
  /**
   * Under which concurrency models serve.timeout kills a request that runs too long, and
   * how (written into the server's config comment). A model missing here has no
   * per-request kill: serve.timeout bounds no request there, and the proxy's read timeout
   * is the only limit a client sees.
   */
  requestKill: Partial<Record<Concurrency, string>>;
  /** Why a model has no per-request kill, for that comment (null: the server has no timeout setting). */
  noRequestKill: string | null;
  /**
   * A warning when it runs more than one worker process: its own supervisor lacks what a
   * master should do (respawn a dead worker, reload on a signal). null: nothing to say.
   */
  workersWarning: { message: string; hint: string } | null;
  /**
   * How it learns the URL prefix the app is mounted under (app.mount) when the proxy speaks
   * HTTP to it, per app interface: from its environment (`env`), a command-line option
   * (`flag`), or not at all (missing: `mountRefusal` says why). Over uwsgi/FastCGI/SCGI/CGI
   * the proxy sends SCRIPT_NAME and PATH_INFO itself and every server takes them.
   */
  httpMount: Partial<Record<AppInterface, HttpMount>>;
  /** Why an HTTP-speaking mount is refused for an interface missing from httpMount. */
  mountRefusal: string;
  /** Dev servers work but are not production servers: a warning, not an error. */
  devServer: boolean;
  /**
   * A router process of its own that faces clients when there is no proxy (uWSGI's `http =`):
   * it accepts the connections and hands each request to the workers over an internal socket.
   * Absent: the server's HTTP listener faces clients itself.
   */
  httpRouter?: HttpRouter;
  programs: readonly ProgramRequirement[];
  pythonModules: readonly PythonRequirement[];
  /** Extra Python modules per concurrency model (gevent, uvicorn worker…). */
  concurrencyModules: Partial<Record<Concurrency, readonly PythonRequirement[]>>;
  /** Plugins the server loads (rendered into its config, checked by doctor). */
  plugins: readonly PluginRequirement[];
  concurrencyPlugins: Partial<Record<Concurrency, readonly PluginRequirement[]>>;
  /** The server never runs the stack's Python interpreter: uWSGI embeds Python, php-fpm runs PHP. */
  ownInterpreter: boolean;
  stop: SignalPlan;
  /** null: the server has no graceful in-place reload; a reload is a restart. */
  reload: SignalPlan | null;
  systemdType: 'notify' | 'exec';
  systemdTypeWhy: string;
  /**
   * System calls the server makes that the unit's filter (@system-service minus
   * @privileged @resources) would refuse, re-allowed by name, with why that is safe.
   */
  extraSystemCalls: { groups: string[]; why: string } | null;
  /** Seconds to wait after the stop signal before SIGKILL (systemd TimeoutStopSec, supervisor stopwaitsecs). */
  stopGraceSeconds: number;
  /**
   * It runs script files by name (php-fpm): the front sends a request for a script
   * (`/x.php/rest`) as SCRIPT_FILENAME + SCRIPT_NAME `/x.php` + PATH_INFO `/rest`, refuses a
   * script that is not on disk itself (404) and sends every other path to the front
   * controller, app.entry, with the whole path as PATH_INFO. Absent: it runs one app.
   */
  scripts?: ScriptRunner;
  /**
   * Why the front keeps no idle connection to it although the protocol could (nginx
   * upstream keepalive). Absent: the protocol's own rule.
   */
  frontKeepaliveRefusal?: string;
  /**
   * Probes (by id) that ask what its interface cannot show, each with why: the report names
   * them as not applying instead of running them. Absent: every probe applies.
   */
  notApplicable?: Readonly<Record<string, string>>;
  /**
   * It runs inside the front server's own processes (mod_wsgi's daemon mode in Apache): no
   * unit or program of the stack's, no socket stackgen names. Absent: a process of its own.
   */
  inFront?: InFrontServer;
}

/** A server that is a module of the front (ServerEntry.inFront). */
export interface InFrontServer {
  /** The only front it runs in, and why another is refused. */
  proxy: ProxyKind;
  refusal: string;
  /** The front's module (a2enmod's name), its file and the Debian package that ships it. */
  module: { module: string; file: string; package: string };
  /**
   * What its processes show as their command line (`{name}`: the stack's name), cut to the
   * length of the front's own argv[0], as the kernel keeps it (mod_wsgi's display-name).
   */
  processTitle: string;
  /**
   * The Python it embeds (Debian's python3, which the module is built against): app.python
   * cannot name another (a virtualenv of that Python is its python-home), and why.
   */
  embedsPython: { python: string; refusal: string };
  /** Why app.env_file is refused (the front's service, not a unit of the stack's, starts it). */
  envFileRefusal: string;
  /** Why a process manager other than systemd (the front's own service) is refused. */
  managerRefusal: string;
  /**
   * A graceful reload of the front restarts the app's processes too, and what that costs:
   * at most `requests` failed requests under load (measured), the warning and its hint.
   */
  frontReloadLoss: { requests: number; message: string; hint: string };
  /**
   * How new code goes live without reloading the front (a command on the file it names:
   * `touch` the WSGI script), why, and the window without an answer it leaves (measured).
   */
  codeUpdate: { why: string; acceptGap: { ms: number; why: string } };
}

/** A server that runs script files by name (ServerEntry.scripts). */
export interface ScriptRunner {
  /** The only file name ending it runs (php-fpm security.limit_extensions), with its dot. */
  extension: string;
  /** The path of its own status page (php-fpm pm.status_path), never reachable through the front. */
  statusPath: string | null;
  /** Why app.mount is refused for it (its locations are rendered at / only). */
  mountRefusal: string;
  /** Why app.env_file is refused for it (its children do not inherit the unit's environment). */
  envFileRefusal: string;
  /** Why the front → server hop is what it is, for explain ({front} is the front's title). */
  hopWhy: string;
}

/** A server's client-facing router (ServerEntry.httpRouter), and why its plain HTTP listener is not one. */
export interface HttpRouter {
  title: string;
  /** The config option that starts the router on the client address (`http`). */
  option: string;
  /** The option that points it at the workers' socket (`http-to`). */
  toOption: string;
  /** The plugin that holds the router (Debian's uWSGI builds it as one). */
  plugin: PluginRequirement;
  /** What the router speaks to the workers, over a unix socket in the run dir. */
  innerProtocol: Protocol;
  /** Why the router faces clients (the client hop's why, the config's comment). */
  why: string;
  /** Why the internal hop is what it is. */
  innerWhy: string;
  /** The warning where the server's HTTP listener (not the router) would face clients. */
  listenerFacingClients: { message: string; hint: string };
}

/** A server's own mechanism for a URL prefix over HTTP: it splits SCRIPT_NAME off the path itself. */
export type HttpMount =
  | { kind: 'env'; variable: string; why: string }
  | { kind: 'flag'; option: string; why: string }
  /** A setting of the server's own config file (the template renders it). */
  | { kind: 'config'; setting: string; why: string };

export interface FrameworkEntry {
  name: Framework;
  title: string;
  interfaces: readonly AppInterface[];
  defaultInterface: AppInterface;
  /** Default entry point per interface. */
  defaultEntry: Partial<Record<AppInterface, string>>;
  defaultServer: Partial<Record<AppInterface, ServerName>>;
  pythonModules: readonly PythonRequirement[];
}

/** How a process is stopped, reloaded and supervised (for components the catalog describes). */
export interface ProcessEntry {
  stop: SignalPlan;
  reload: SignalPlan | null;
  systemdType: 'notify' | 'exec';
  stopGraceSeconds: number;
  /** stackgen renders its unit/program (false: the distribution's own service runs it in production). */
  managed: boolean;
  /**
   * Its graceful reload leaves a window in which no process accepts (measured), at most this
   * long, and why: reload-under-load allows that gap for it (still no failed request) instead
   * of its default stall bound. Absent: a reload answers on without a gap (nginx).
   */
  reloadAcceptGap?: { ms: number; why: string };
  why: string;
}

export interface ProxyEntry {
  name: ProxyKind;
  title: string;
  /** Caveats of this proxy on one wire protocol, shown as warnings when a stack uses it. */
  protocolWarnings: Partial<Record<Protocol, { message: string; hint: string }>>;
  /** Its process (null: no proxy, the app server faces clients). */
  process: ProcessEntry | null;
  /**
   * It cannot run CGI scripts itself: a bridge (fcgiwrap) is added, reached over FastCGI,
   * with this warning at render. null: it runs them itself (or there is no proxy).
   */
  cgiBridge: { why: string } | null;
  /**
   * It runs CGI scripts itself, but as its own worker user, not the app's account (Apache's
   * mod_cgid): a warning with the hint, and app.writable / app.env_file refused with these reasons.
   */
  cgiAsProxyUser?: { message: string; hint: string; writableRefusal: string; envFileRefusal: string };
  /**
   * After an app server it could not reach answers again, how long before the proxy sends it
   * requests (null: at once). A rolling restart waits this long before it stops the next one:
   * with all of them out of rotation, the proxy has nowhere to send a request.
   */
  backendReadmit: { seconds: number; why: string } | null;
  protocols: readonly Protocol[];
  /** Buffers whole requests and responses, so slow clients never hold a sync worker. */
  buffering: boolean;
  /**
   * Holds a response back until it is complete (or its buffers are full) unless told not to
   * (nginx proxy_buffering). false: it passes each chunk on as it comes (the gateway).
   */
  buffersResponses: boolean;
  /** Compresses text answers on the fly for clients that accept gzip (nginx gzip on). */
  compresses: boolean;
  /**
   * Compresses static files on the fly too (nginx gzip applies to every answer). false: only
   * a precompressed `.gz` sibling of a file goes out compressed (gzip_static).
   */
  compressesStatic: boolean;
  websockets: boolean;
  /**
   * It terminates TLS with proxy.tls's certificate (null: it cannot yet, and why — validation
   * refuses proxy.tls with it).
   */
  tlsRefusal: string | null;
  /**
   * proxy.tls.acme with this front: the ACME client stackgen installs for it (certbot's
   * webroot plugin, Debian's certbot.timer renewing) and the command its deploy hook runs to
   * load a renewed certificate gracefully — or why it is refused (validation says so).
   */
  acme:
    | {
        client: 'certbot';
        reloadCommand: (where: AcmeReloadSite) => string;
        /** Why that reload loses no connection (the deploy hook's comment). */
        reloadWhy: string;
        /** Why proxy.tls.acme is refused with processes.manager none (null: the distribution's service runs it). */
        unmanagedRefusal: string | null;
      }
    | { refusal: string };
  /**
   * Who reads proxy.tls's key: `root` (nginx's master, before its workers drop to the proxy's
   * user) or `proxy-user` (the gateway itself, as the proxy's user: its process manager hands
   * it private copies, MANAGERS[…].privateCopies, and nothing else may run as that user).
   */
  tlsKeyReader: 'root' | 'proxy-user';
  /**
   * It sets X-Forwarded-For/-Proto (and their CGI variables) from the connection, replacing
   * what a client sent: the app may trust them (the deploy README's app contract).
   */
  forwardedFromConnection: boolean;
  /**
   * proxy.security_headers reach the app's answers only where the app set none (nginx's
   * map on $upstream_http_*, the gateway). A string: it cannot add a header only when absent,
   * so the app's answers get none from the front (static files still do), and why.
   */
  appSecurityHeadersGap?: string;
  /**
   * Its answer when the app server is down (connection refused), when not 502 (nginx's and
   * the gateway's), and why: the backend-down probe expects it.
   */
  backendDownStatus?: { statuses: readonly number[]; why: string };
  /**
   * Its answer to a Host other than proxy.server_name, when not nginx's 444 (closed) or the
   * gateway's 421, and why: the unknown-host probe takes it as the front's refusal.
   */
  unknownHostStatus?: { status: number; why: string };
  /** Why it speaks a protocol to the app server, where it says more than the protocol's own why (explain's hop). */
  upstreamWhy?: Partial<Record<Protocol, string>>;
  /** It cannot serve the app under a prefix yet (app.mount is refused), and why. */
  mountRefusal?: string;
  /**
   * Its listener on the IPv6 wildcard (`[::]:port`) takes IPv4 connections too (v4-mapped,
   * no IPV6_V6ONLY), so with both wildcards in proxy.listen it holds one socket, and why: the
   * listeners probe takes `[::]:port` for `0.0.0.0:port` as well. Absent: one socket each.
   */
  v6WildcardTakesV4?: string;
  /**
   * Protocols it speaks only to a server that runs scripts by name (catalog `scripts`:
   * php-fpm), and why: any other server over them is refused.
   */
  scriptRunnerOnly?: { protocols: readonly Protocol[]; why: string };
  /**
   * It cannot spread requests over one process per port yet (a server whose processModel is
   * process-per-port is refused with it), and why. Absent: it balances over them (nginx upstream).
   */
  perPortRefusal?: string;
  /** What balancing over one process per port costs with it (a warning, with the hint). */
  perPortWarning?: { message: string; hint: string };
  /**
   * Over SCGI it sends the request's whole (decoded) path as SCRIPT_NAME and no PATH_INFO
   * (Apache's mod_proxy_scgi): the app server must move it to PATH_INFO, and why.
   */
  scgiPathInScriptName?: string;
  /** It cannot take the client from a load balancer yet (proxy.trusted_proxies is refused), and why. */
  trustedProxiesRefusal?: string;
  programs: readonly ProgramRequirement[];
  /** How the distribution runs it, for `stackgen install` (null: stackgen starts it itself). */
  distro: ProxyDistro | null;
}

/** A proxy as Debian packages it: its service, where sites go, its own default site. */
export interface ProxyDistro {
  service: string;
  /** Directory whose files the distribution's main config includes. */
  sitesEnabled: string;
  /** The site the package enables on install (it answers every Host on port 80). */
  defaultSite: string;
  /** The main config (it names the worker user). */
  mainConfig: string;
  /** Test the whole configuration (argv). */
  configTest: string[];
  /** The master's pid file: a reload is done when the master's old workers are gone. */
  pidFile: string;
  /** Where the distribution's configuration logs errors (a failed upstream hop is named there). */
  errorLog: string;
  /** The generated file that is the stack's site (linked into sitesEnabled). */
  siteFile: FileKey;
  /** The worker user a main config names (null: none named). */
  workerUserOf: (mainConfig: string) => string | null;
  /** Does a site's text claim the default server on this port (answer every unknown Host)? */
  claimsDefaultServer: (site: string, port: number) => boolean;
  /**
   * Sites are files in this directory, enabled and disabled by the distribution's own tools
   * (Debian's a2ensite/a2dissite): the stack's site is linked here, then enabled. Absent: the
   * site is linked into sitesEnabled directly (Debian's nginx).
   */
  sitesAvailable?: { dir: string; enable: readonly string[]; disable: readonly string[] };
  /**
   * Modules are enabled one by one with the distribution's tools (a2enmod): a module is
   * enabled when `<enabledDir>/<module>.load` exists. The modules a stack needs come from its
   * recipe (ProxyRecipe.modules). Absent: nothing to enable.
   */
  modules?: {
    enabledDir: string;
    enable: readonly string[];
    disable: readonly string[];
    /** Modules that take effect only when the master restarts (not on a reload), and why. */
    restartWhenEnabled?: { modules: readonly string[]; why: string };
  };
  /** Ports the distribution's main config already listens on (every address): the site must not say them again. */
  listensAlready?: readonly number[];
  /**
   * The distribution's unit, when a throwaway machine keeps it masked for other stacks
   * (src/runtime/machine.ts MASKED_UNITS): a stack with this front needs it unmasked.
   */
  unit?: string;
}

/** A process manager as Debian packages it (null for systemd itself and for none). */
export interface ManagerDistro {
  service: string;
  /** Directory of program files the distribution's main config includes. */
  includeDir: string;
}

export interface ProtocolEntry {
  name: Protocol;
  title: string;
  /** The proxy can reuse connections to the app server (nginx upstream keepalive). */
  keepalive: boolean;
  /** The request reaches the app as CGI meta-variables (the httpoxy-relevant protocols). */
  cgiStyle: boolean;
  /** nginx directive and its params include file, where nginx speaks it directly. */
  /**
   * `schemeParam`: a variable of the protocol's own that names the scheme, sent next to
   * HTTPS/REQUEST_SCHEME (uWSGI sets wsgi.url_scheme from UWSGI_SCHEME); null: none.
   */
  nginx: { pass: string; params: string | null; prefix: string; schemeParam: string | null } | null;
  why: string;
}

export interface ManagerEntry {
  name: Manager;
  title: string;
  programs: readonly ProgramRequirement[];
  distro: ManagerDistro | null;
  /**
   * How it hands a process private copies of root-only files (plan.ts PrivateCopies: the
   * gateway's TLS key) as root, at start and again at reload; `refusal`: it cannot, and why
   * (validation refuses what needs it); null: there is no manager, the process reads the files
   * as they are, as whoever starts it.
   */
  privateCopies: { how: string } | { refusal: string } | null;
}

export type { Concurrency, Framework, Manager, Protocol, ProxyKind, ServerName };
