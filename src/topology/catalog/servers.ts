// App servers as data. Signals and systemd types come from each server's documentation:
// uWSGI "Managing the uWSGI server" (SIGTERM reloads unless die-on-term), gunicorn
// "Signal Handling" (TERM = graceful, HUP = reload), uvicorn/tornado/waitress (TERM = stop).

import type { PythonRequirement, ServerEntry } from './types.js';
import type { ServerName } from '../../stack/schema.js';

const PY_GUNICORN: PythonRequirement = { module: 'gunicorn', package: 'gunicorn' };
const PY_UVICORN: PythonRequirement = { module: 'uvicorn', package: 'uvicorn' };
const PY_WEBSOCKETS: PythonRequirement = { module: 'websockets', package: 'python3-websockets' };
const PY_GEVENT: PythonRequirement = { module: 'gevent', package: 'python3-gevent' };

export const SERVERS: Record<ServerName, ServerEntry> = {
  uwsgi: {
    name: 'uwsgi',
    title: 'uWSGI',
    interfaces: ['wsgi'],
    suggested: true,
    interfaceModels: {},
    interfaceHints: {},
    interfaceWarnings: {},
    // Measured (test/integration/fastcgi-readline.test.ts): 6 MiB bodies over fastcgi-socket
    // fail intermittently with "[uwsgi-body-read] Error reading … Resource temporarily
    // unavailable", read with readline() or read(); post-buffering fails the same way (its
    // own reader hits the EAGAIN), so there is no setting to render — only this warning.
    protocolWarnings: {
      fastcgi: {
        message:
          "uWSGI 2.0.21's fastcgi-socket takes an EAGAIN inside a partly received record for an error: large request bodies (uploads of a few MB) intermittently reach the app broken and the client gets a 502; post-buffering does not help",
        hint: 'use proxy.protocol: uwsgi (nginx and the gateway both speak it) or http for an app that takes uploads',
      },
    },
    protocols: ['uwsgi', 'http', 'fastcgi', 'scgi'],
    defaultProtocol: 'uwsgi',
    concurrency: ['prefork', 'threads', 'gevent'],
    defaultConcurrency: 'prefork',
    websocketConcurrency: [],
    processModel: 'master-workers',
    defaultSocket: 'unix',
    // uWSGI's %k placeholder and %( … ) math (tried on Debian's 2.0.21: `%(%k * 2 + 1)` is 5
    // on 2 CPUs). %k is sysconf(_SC_NPROCESSORS_ONLN): under taskset it still said 2.
    countsCores: {
      how: 'counted when uWSGI starts: %k, the CPUs online (not the affinity mask: under a cpuset or CPUAffinity=, pin it with --cores)',
    },
    // harakiri: the master SIGKILLs the worker and respawns it; the proxy sees the connection close.
    requestKill: {
      prefork:
        'harakiri: the master kills the worker running it and respawns it; the proxy sees the connection close and answers 502',
      threads:
        'harakiri: the master kills the whole worker (the requests in its other threads with it) and respawns it; the proxy sees the connection close and answers 502',
      gevent:
        "harakiri: the master kills the whole worker (every greenlet's request with it) and respawns it; the proxy sees the connection close and answers 502",
    },
    noRequestKill: null,
    workersWarning: null,
    // Tried on Debian's 2.0.21: `mount = /hg=app:application` with manage-script-name over
    // http-socket gives SCRIPT_NAME /hg and PATH_INFO the rest.
    httpMount: {
      wsgi: {
        kind: 'config',
        setting: 'mount + manage-script-name',
        why: "uWSGI's http-socket has no SCRIPT_NAME from the proxy, so the app is mounted at the prefix and uWSGI splits SCRIPT_NAME and PATH_INFO itself",
      },
    },
    mountRefusal: 'uWSGI mounts only WSGI apps at a prefix over http-socket',
    devServer: false,
    // uWSGI "Native HTTP support": `http-socket` makes every worker parse HTTP itself (meant
    // for a proxy in front); `http` starts the http router, a separate process of the master
    // (Debian's uwsgi-core builds it as the http plugin) that faces clients and speaks uwsgi
    // to the workers. Tried on Debian's 2.0.21: 6 connections holding half a request head do
    // not delay a seventh request through the router; over http-socket with 5 prefork workers
    // they do (the slow-heads probe, src/probes/slow-heads.ts).
    httpRouter: {
      title: "uWSGI's http router",
      option: 'http',
      toOption: 'http-to',
      plugin: { plugin: 'http', package: 'uwsgi-core' },
      innerProtocol: 'uwsgi',
      why: "uWSGI's http router faces clients: a process of its own, on an event loop, that reads each client's request head and only then hands the request to a worker (a client sending its head slowly holds a router slot, not a worker); bodies and responses pass through it as they come, not buffered whole",
      innerWhy:
        'the router hands each parsed request to a free worker over the uwsgi protocol, on a unix socket only the app user (and its group) can open: nobody else can send the workers CGI variables',
      listenerFacingClients: {
        message:
          "uWSGI's http-socket facing clients: every worker parses HTTP itself, so each client still sending its request head holds a worker (a few slow clients stop the app), and uWSGI's http-socket is meant for a proxy in front",
        hint: "keep serve.host on loopback behind the proxy, or use proxy.kind: none, where stackgen puts uWSGI's http router (`http =`) in front of the workers",
      },
    },
    programs: [
      {
        program: 'uwsgi',
        package: 'uwsgi-core',
        versionArgs: ['--version'],
        minVersion: '2.0.18',
        why: 'strict mode, need-app and die-on-term as used in the generated ini',
      },
    ],
    pythonModules: [],
    concurrencyModules: {},
    // uWSGI embeds Python through a plugin (`plugins = python3` in the ini); gevent is another.
    plugins: [{ plugin: 'python3', package: 'uwsgi-plugin-python3' }],
    concurrencyPlugins: { gevent: [{ plugin: 'gevent_python3', package: 'uwsgi-plugin-gevent-python3' }] },
    ownInterpreter: true,
    stop: {
      signal: 'SIGTERM',
      why: 'with die-on-term uWSGI shuts down gracefully on SIGTERM; without it SIGTERM means "brutal reload"',
    },
    reload: {
      signal: 'SIGHUP',
      why: 'uWSGI reloads workers gracefully on SIGHUP',
      masterFifo: {
        command: 'c',
        why: "chain reload through uWSGI's master FIFO: one worker at a time is replaced and the others keep answering (SIGHUP replaces them all at once, and new requests wait seconds for the new workers — measured by verify --target machine's reload-under-load)",
      },
    },
    systemdType: 'notify',
    systemdTypeWhy: 'the uWSGI master reports READY=1 over sd_notify once workers are up',
    extraSystemCalls: {
      groups: ['@chown'],
      why: "uWSGI's chown-socket calls chown(2) on its socket and exits if that fails, even when the owner does not change; with no capabilities it can still only pick one of its own groups",
    },
    stopGraceSeconds: 30,
  },
  gunicorn: {
    name: 'gunicorn',
    title: 'Gunicorn',
    interfaces: ['wsgi', 'asgi'],
    suggested: true,
    // gunicorn's own workers are WSGI; ASGI runs only in uvicorn's worker class, which is
    // the async model, and that worker serves nothing but ASGI.
    interfaceModels: {
      wsgi: {
        models: ['prefork', 'threads', 'gevent'],
        refusal: 'gunicorn runs the async model through uvicorn workers, which serve ASGI apps only',
        hint: 'use gevent for cooperative concurrency with a WSGI app',
      },
      asgi: {
        models: ['async'],
        refusal: 'an ASGI app under gunicorn needs uvicorn workers (async), not {model}',
        hint: 'set serve.concurrency: async',
      },
    },
    interfaceHints: {},
    interfaceWarnings: {},
    protocolWarnings: {},
    protocols: ['http'],
    defaultProtocol: 'http',
    concurrency: ['prefork', 'threads', 'gevent', 'async'],
    defaultConcurrency: 'prefork',
    websocketConcurrency: ['async'],
    processModel: 'master-workers',
    defaultSocket: 'unix',
    // The config is Python: it counts the CPUs this process may use (affinity, cpusets).
    countsCores: {
      how: 'counted when gunicorn starts: len(os.sched_getaffinity(0)), the CPUs this process may use',
    },
    // gunicorn "Settings: timeout": a worker silent for that long is killed and restarted.
    // Only the sync worker is silent while it runs a request.
    requestKill: {
      prefork:
        'the arbiter kills the sync worker (it checks in only between requests) and forks a new one; the proxy sees the connection close and answers 502',
    },
    noRequestKill:
      "the worker's main loop keeps checking in with the arbiter while requests run, so `timeout` only replaces a worker blocked as a whole; a long request runs until it ends",
    workersWarning: null,
    // gunicorn/http/wsgi.py (Debian's 20.1): SCRIPT_NAME from the environment, and
    // PATH_INFO = the path after it (path.split(script_name, 1)[1]).
    httpMount: {
      wsgi: {
        kind: 'env',
        variable: 'SCRIPT_NAME',
        why: 'gunicorn takes SCRIPT_NAME from its environment and gives the app the rest of the path as PATH_INFO',
      },
    },
    mountRefusal:
      "gunicorn's uvicorn workers ignore SCRIPT_NAME and stackgen does not pass uvicorn a root_path through them",
    devServer: false,
    programs: [
      {
        program: 'gunicorn',
        package: 'gunicorn',
        versionArgs: ['--version'],
        minVersion: '20.0.0',
        why: 'sd_notify support and --check-config',
      },
    ],
    pythonModules: [PY_GUNICORN],
    concurrencyModules: { gevent: [PY_GEVENT], async: [PY_UVICORN, PY_WEBSOCKETS] },
    plugins: [],
    concurrencyPlugins: {},
    ownInterpreter: false,
    stop: {
      signal: 'SIGTERM',
      why: 'gunicorn stops gracefully on SIGTERM (waits graceful_timeout for workers)',
    },
    reload: { signal: 'SIGHUP', why: 'gunicorn re-reads its config and replaces workers on SIGHUP' },
    systemdType: 'notify',
    systemdTypeWhy: 'the gunicorn arbiter sends READY=1 over sd_notify when it has booted',
    extraSystemCalls: {
      groups: ['@setuid'],
      why: 'every gunicorn worker calls setuid(2) to its own uid at boot and dies if that fails (seen on a real host: "PermissionError: [Errno 1] Operation not permitted"); with no capabilities it cannot become anyone else',
    },
    stopGraceSeconds: 35,
  },
  uvicorn: {
    name: 'uvicorn',
    title: 'Uvicorn',
    interfaces: ['asgi'],
    suggested: true,
    interfaceModels: {},
    interfaceHints: { wsgi: "wrap the app with asgiref's WsgiToAsgi" },
    interfaceWarnings: {},
    protocolWarnings: {},
    protocols: ['http'],
    defaultProtocol: 'http',
    concurrency: ['async'],
    defaultConcurrency: 'async',
    websocketConcurrency: ['async'],
    // One process per port, as tornado, not uvicorn's own --workers: that parent (0.17,
    // Debian 12, uvicorn/supervisors/multiprocess.py) handles SIGINT and SIGTERM only and never
    // looks at its children again — no respawn of a dead worker, no reload (SIGHUP kills it).
    // One unit instance per port is respawned by its manager, and a code update restarts the
    // instances one at a time while the proxy sends new requests to the others.
    processModel: 'process-per-port',
    defaultSocket: 'tcp',
    countsCores: null,
    requestKill: {},
    noRequestKill: null,
    workersWarning: null,
    httpMount: {},
    mountRefusal:
      "uvicorn's --root-path sets scope['root_path'] but (0.17, Debian 12) leaves the prefix in scope['path']: whether the app strips it depends on the framework's version",
    devServer: false,
    programs: [
      {
        program: 'uvicorn',
        package: 'uvicorn',
        versionArgs: ['--version'],
        minVersion: '0.15.0',
        why: '--proxy-headers/--forwarded-allow-ips and --uds behave as the generated command expects',
      },
    ],
    pythonModules: [PY_UVICORN, PY_WEBSOCKETS],
    concurrencyModules: {},
    plugins: [],
    concurrencyPlugins: {},
    ownInterpreter: false,
    stop: { signal: 'SIGTERM', why: 'uvicorn finishes open requests and stops on SIGTERM' },
    reload: null,
    systemdType: 'exec',
    systemdTypeWhy: 'uvicorn has no sd_notify; exec at least reports a failed exec()',
    extraSystemCalls: null,
    stopGraceSeconds: 30,
  },
  hypercorn: {
    name: 'hypercorn',
    title: 'Hypercorn',
    interfaces: ['asgi'],
    suggested: true,
    interfaceModels: {},
    interfaceHints: { wsgi: "wrap the app with asgiref's WsgiToAsgi" },
    interfaceWarnings: {},
    protocolWarnings: {},
    protocols: ['http'],
    defaultProtocol: 'http',
    concurrency: ['async'],
    defaultConcurrency: 'async',
    websocketConcurrency: ['async'],
    // One process per port, as uvicorn: hypercorn 0.13's own --workers parent (hypercorn/run.py
    // run_multiple) waits for its workers and never starts a dead one again.
    processModel: 'process-per-port',
    defaultSocket: 'tcp',
    countsCores: null,
    requestKill: {},
    noRequestKill: null,
    workersWarning: null,
    httpMount: {},
    mountRefusal:
      "hypercorn's root_path sets scope['root_path'] but leaves the prefix in scope['path']: whether the app strips it depends on the framework's version",
    devServer: false,
    programs: [
      {
        program: 'hypercorn',
        package: 'python3-hypercorn',
        versionArgs: ['--help'],
        minVersion: '0',
        why: 'the generated runner serves the app through hypercorn.asyncio.serve',
      },
    ],
    pythonModules: [{ module: 'hypercorn', package: 'python3-hypercorn' }],
    concurrencyModules: {},
    plugins: [],
    concurrencyPlugins: {},
    ownInterpreter: false,
    stop: {
      signal: 'SIGTERM',
      why: "the runner's SIGTERM trigger stops hypercorn accepting and lets requests in flight finish for up to graceful_timeout",
    },
    reload: null,
    systemdType: 'exec',
    systemdTypeWhy: 'hypercorn has no sd_notify; exec at least reports a failed exec()',
    extraSystemCalls: null,
    stopGraceSeconds: 30,
  },
  daphne: {
    name: 'daphne',
    title: 'Daphne',
    interfaces: ['asgi'],
    suggested: true,
    interfaceModels: {},
    interfaceHints: { wsgi: "wrap the app with asgiref's WsgiToAsgi" },
    interfaceWarnings: {},
    protocolWarnings: {},
    protocols: ['http'],
    defaultProtocol: 'http',
    concurrency: ['async'],
    defaultConcurrency: 'async',
    websocketConcurrency: ['async'],
    // One process per port: daphne (Django Channels' server) is one Twisted reactor per
    // process and has no workers of its own.
    processModel: 'process-per-port',
    defaultSocket: 'tcp',
    countsCores: null,
    // daphne/http_protocol.py check_timeouts: past http_timeout it answers 503 itself.
    requestKill: {
      async:
        "daphne's http_timeout: past serve.timeout it answers 503 and ends the app's instance for that request",
    },
    noRequestKill: null,
    workersWarning: null,
    httpMount: {},
    mountRefusal:
      "daphne's --root-path sets scope['root_path'] but leaves the prefix in scope['path']: whether the app strips it depends on the framework's version",
    devServer: false,
    programs: [
      {
        program: 'daphne',
        package: 'daphne',
        versionArgs: ['--help'],
        minVersion: '0',
        why: "the generated runner serves the app through daphne's Server",
      },
    ],
    pythonModules: [{ module: 'daphne', package: 'daphne' }],
    concurrencyModules: {},
    plugins: [],
    concurrencyPlugins: {},
    ownInterpreter: false,
    stop: {
      signal: 'SIGTERM',
      why: "the runner's SIGTERM handler stops daphne listening and lets requests in flight finish (daphne alone stops its reactor at once)",
    },
    reload: null,
    systemdType: 'exec',
    systemdTypeWhy: 'daphne has no sd_notify; exec at least reports a failed exec()',
    extraSystemCalls: null,
    stopGraceSeconds: 30,
  },
  tornado: {
    name: 'tornado',
    title: 'Tornado',
    interfaces: ['tornado', 'wsgi'],
    // It serves WSGI only as a side dish (see interfaceWarnings): never suggested for it.
    suggested: false,
    interfaceModels: {},
    interfaceHints: {},
    protocolWarnings: {},
    interfaceWarnings: {
      wsgi: {
        message:
          "tornado's WSGIContainer runs the WSGI app on the IOLoop thread: each process serves one request at a time",
        hint: 'fine for mixing a small WSGI app into a tornado site; use gunicorn or uWSGI for WSGI-heavy load',
      },
    },
    protocols: ['http'],
    defaultProtocol: 'http',
    concurrency: ['async'],
    defaultConcurrency: 'async',
    websocketConcurrency: ['async'],
    processModel: 'process-per-port',
    defaultSocket: 'tcp',
    countsCores: null,
    requestKill: {},
    noRequestKill: null,
    workersWarning: null,
    httpMount: {},
    mountRefusal:
      'a tornado Application routes absolute paths (its handlers name the full URL); it has no mount point to give',
    devServer: false,
    programs: [],
    pythonModules: [{ module: 'tornado', package: 'python3-tornado' }],
    concurrencyModules: {},
    plugins: [],
    concurrencyPlugins: {},
    ownInterpreter: false,
    stop: { signal: 'SIGTERM', why: 'the generated runner stops accepting, drains and exits on SIGTERM' },
    reload: null,
    systemdType: 'exec',
    systemdTypeWhy: 'tornado has no sd_notify',
    extraSystemCalls: null,
    stopGraceSeconds: 15,
  },
  waitress: {
    name: 'waitress',
    title: 'Waitress',
    interfaces: ['wsgi'],
    suggested: true,
    interfaceModels: {},
    interfaceHints: {},
    interfaceWarnings: {},
    protocolWarnings: {},
    protocols: ['http'],
    defaultProtocol: 'http',
    concurrency: ['threads'],
    defaultConcurrency: 'threads',
    websocketConcurrency: [],
    // One process per port, as tornado: waitress is one process (threads under the GIL, no
    // reload), so several behind the proxy use the cores and restart one at a time (the proxy
    // sends new requests to the others: a code update fails no request).
    processModel: 'process-per-port',
    defaultSocket: 'tcp',
    countsCores: null,
    requestKill: {},
    noRequestKill: null,
    workersWarning: null,
    // waitress/task.py: url_prefix is SCRIPT_NAME; a path below it loses it from PATH_INFO.
    httpMount: {
      wsgi: {
        kind: 'flag',
        option: '--url-prefix',
        why: 'waitress --url-prefix makes the prefix SCRIPT_NAME and gives the app the rest of the path as PATH_INFO',
      },
    },
    mountRefusal: 'waitress mounts WSGI apps only',
    devServer: false,
    programs: [
      {
        program: 'waitress-serve',
        package: 'python3-waitress',
        versionArgs: ['--help'],
        minVersion: '0',
        why: 'the generated command line runs waitress-serve',
      },
    ],
    pythonModules: [{ module: 'waitress', package: 'python3-waitress' }],
    concurrencyModules: {},
    plugins: [],
    concurrencyPlugins: {},
    ownInterpreter: false,
    stop: {
      signal: 'SIGTERM',
      why: 'waitress exits on SIGTERM at once (it has no graceful stop: requests in flight are cut)',
    },
    reload: null,
    systemdType: 'exec',
    systemdTypeWhy: 'waitress has no sd_notify',
    extraSystemCalls: null,
    stopGraceSeconds: 15,
  },
  wsgiref: {
    name: 'wsgiref',
    title: "Python's wsgiref (standard library)",
    interfaces: ['wsgi'],
    suggested: false,
    interfaceModels: {},
    interfaceHints: {},
    interfaceWarnings: {},
    protocolWarnings: {},
    protocols: ['http'],
    defaultProtocol: 'http',
    concurrency: ['threads'],
    defaultConcurrency: 'threads',
    websocketConcurrency: [],
    processModel: 'single-process',
    defaultSocket: 'tcp',
    countsCores: null,
    requestKill: {},
    noRequestKill: null,
    workersWarning: null,
    httpMount: {},
    mountRefusal: "wsgiref's server takes the request path as PATH_INFO whole (SCRIPT_NAME is always empty)",
    devServer: true,
    programs: [],
    pythonModules: [],
    concurrencyModules: {},
    plugins: [],
    concurrencyPlugins: {},
    ownInterpreter: false,
    stop: { signal: 'SIGTERM', why: 'the generated runner shuts the server down on SIGTERM' },
    reload: null,
    systemdType: 'exec',
    systemdTypeWhy: 'wsgiref has no sd_notify',
    extraSystemCalls: null,
    stopGraceSeconds: 10,
  },
  cgi: {
    name: 'cgi',
    title: 'CGI (a process per request)',
    interfaces: ['cgi', 'wsgi'],
    suggested: false,
    interfaceModels: {},
    interfaceHints: {},
    interfaceWarnings: {},
    protocolWarnings: {},
    protocols: ['cgi'],
    defaultProtocol: 'cgi',
    concurrency: ['process-per-request'],
    defaultConcurrency: 'process-per-request',
    websocketConcurrency: [],
    processModel: 'process-per-request',
    defaultSocket: 'unix',
    countsCores: null,
    requestKill: {},
    noRequestKill: null,
    workersWarning: null,
    httpMount: {},
    mountRefusal: 'a CGI script is reached over CGI, never HTTP',
    devServer: false,
    programs: [],
    pythonModules: [],
    concurrencyModules: {},
    plugins: [],
    concurrencyPlugins: {},
    ownInterpreter: false,
    stop: { signal: 'SIGTERM', why: 'a CGI script lives for one request' },
    reload: null,
    systemdType: 'exec',
    systemdTypeWhy: 'no long-running app process',
    extraSystemCalls: null,
    stopGraceSeconds: 10,
  },
  // PHP's FastCGI Process Manager (Debian php8.2-fpm). Signals from its manual page
  // (php-fpm8.2(8) "SIGNALS"): INT/TERM terminate at once, QUIT is a graceful stop, USR2
  // reloads the configuration and replaces every child gracefully.
  'php-fpm': {
    name: 'php-fpm',
    title: 'PHP-FPM',
    interfaces: ['php'],
    suggested: true,
    interfaceModels: {},
    interfaceHints: {},
    interfaceWarnings: {},
    protocolWarnings: {},
    protocols: ['fastcgi'],
    defaultProtocol: 'fastcgi',
    // One request per child at a time: a master with a pool of children (pm dynamic).
    concurrency: ['prefork'],
    defaultConcurrency: 'prefork',
    websocketConcurrency: [],
    processModel: 'master-workers',
    defaultSocket: 'unix',
    // pm.max_children is a number in the pool file: php-fpm has no placeholder for the cores.
    countsCores: null,
    // fpm_request.c fpm_request_check_timed_out: past request_terminate_timeout the master
    // sends the child SIGTERM (a PHP child cannot be told to abandon one request).
    requestKill: {
      prefork:
        'request_terminate_timeout: the master terminates the child running it and starts another; the front sees the FastCGI connection close and answers 502',
    },
    noRequestKill: null,
    workersWarning: null,
    httpMount: {},
    mountRefusal: 'php-fpm is reached over FastCGI, never HTTP',
    devServer: false,
    programs: [
      {
        program: 'php-fpm8.2',
        package: 'php8.2-fpm',
        versionArgs: ['-v'],
        minVersion: '8.0.0',
        why: "pm.status_listen (PHP 8.0) puts the status page on a socket of its own, out of the front's reach",
      },
    ],
    pythonModules: [],
    concurrencyModules: {},
    plugins: [],
    concurrencyPlugins: {},
    ownInterpreter: true,
    stop: {
      signal: 'SIGQUIT',
      why: 'php-fpm stops gracefully on SIGQUIT (children finish their request within process_control_timeout); SIGTERM ends requests in flight',
    },
    reload: {
      signal: 'SIGUSR2',
      why: 'php-fpm re-reads its configuration and replaces every child gracefully on SIGUSR2 (new code and opcache are picked up)',
    },
    systemdType: 'notify',
    systemdTypeWhy:
      "Debian's php-fpm is built with systemd support: the master sends READY=1 over sd_notify once the pool listens",
    extraSystemCalls: null,
    stopGraceSeconds: 30,
    scripts: {
      extension: '.php',
      statusPath: '/fpm-status',
      mountRefusal:
        "stackgen renders a PHP app's front controller and .php location at / only (SCRIPT_NAME below a prefix is not done yet)",
      hopWhy:
        'PHP-FPM speaks FastCGI only: {front} sends the request as CGI variables with SCRIPT_FILENAME, the .php script the path names (its PATH_INFO split off) or the front controller, never a file it did not choose',
      envFileRefusal:
        "php-fpm's children start with a cleared environment (clear_env) and get only the pool's env[] lines, which stackgen writes from app.env; a secret read by systemd from app.env_file would reach the master, not PHP",
    },
    // What the probes ask of a PHP app that it cannot show (the report names these instead of running them).
    notApplicable: {
      mount: 'app.mount is refused for PHP-FPM (its locations are rendered at / only)',
      secrets: "app.env_file is refused for PHP-FPM (the pool's cleared environment would not carry it)",
    },
    // fpm_children.c: a child serves one FastCGI connection until it closes; with FCGI_KEEP_CONN
    // that is for as long as the front keeps it open.
    frontKeepaliveRefusal:
      "php-fpm gives a FastCGI connection its child for as long as it stays open: nginx's idle keepalive connections would each pin a child doing nothing, and with pm.max_children of them pinned php-fpm answers no one",
  },
  // mod_wsgi (Debian libapache2-mod-wsgi-py3 4.9) in daemon mode: Apache's master forks the
  // stack's WSGIDaemonProcess group — processes × threads, as the app's account — and its
  // children hand each request over mod_wsgi's own socket. It embeds Debian's python3: the
  // interpreter is Apache's, a virtualenv is python-home. Signals are Apache's (its service
  // stops and reloads it); new code goes live by touching the WSGI script (the daemons
  // restart on their next request, Apache does not).
  mod_wsgi: {
    name: 'mod_wsgi',
    title: 'mod_wsgi (daemon mode)',
    interfaces: ['wsgi'],
    suggested: false,
    interfaceModels: {},
    interfaceHints: {
      asgi: 'mod_wsgi serves WSGI only: an ASGI app needs gunicorn with uvicorn workers, uvicorn, hypercorn or daphne',
    },
    interfaceWarnings: {},
    protocolWarnings: {},
    protocols: ['mod_wsgi'],
    defaultProtocol: 'mod_wsgi',
    concurrency: ['threads', 'prefork'],
    defaultConcurrency: 'threads',
    websocketConcurrency: [],
    processModel: 'master-workers',
    defaultSocket: 'unix',
    countsCores: null,
    // request-timeout restarts a daemon process when the time its busy threads have spent,
    // averaged over all its threads, passes it (mod_wsgi's docs): one slow request among
    // idle threads is not killed, and whatever a killed process was running ends with it.
    requestKill: {},
    noRequestKill:
      "mod_wsgi's request-timeout restarts a whole daemon process once the request time averaged over all its threads passes it — a safety net for stuck processes, not a per-request limit",
    workersWarning: null,
    httpMount: {},
    mountRefusal: 'mod_wsgi runs inside Apache and is reached over its own socket, never HTTP',
    devServer: false,
    programs: [],
    pythonModules: [],
    concurrencyModules: {},
    plugins: [],
    concurrencyPlugins: {},
    ownInterpreter: true,
    stop: {
      signal: 'SIGTERM',
      why: 'Apache stops the daemon processes itself (shutdown-timeout, then SIGKILL) when its own service stops',
    },
    reload: null,
    systemdType: 'exec',
    systemdTypeWhy: "Apache's own service runs it",
    extraSystemCalls: null,
    stopGraceSeconds: 15,
    inFront: {
      proxy: 'apache',
      refusal:
        'mod_wsgi is an Apache module: its daemon processes are forked by Apache and reached only from Apache’s children; use proxy.kind apache, or an app server of its own (gunicorn, uWSGI) behind another front',
      module: {
        module: 'wsgi',
        file: '/usr/lib/apache2/modules/mod_wsgi.so',
        package: 'libapache2-mod-wsgi-py3',
      },
      processTitle: '(wsgi:{name})',
      embedsPython: {
        python: '/usr/bin/python3',
        refusal:
          "mod_wsgi embeds the Python it was built against (Debian's python3) in Apache: app.python cannot choose another interpreter; use app.venv for a virtualenv made with /usr/bin/python3 (it becomes python-home), or gunicorn/uWSGI for another Python",
      },
      envFileRefusal:
        "mod_wsgi's daemons are forked by Apache's service, not started by a unit of the stack's, so nothing reads app.env_file into their environment (and SetEnv would put the secrets in a world-readable site file): use gunicorn or uWSGI behind Apache for secrets from a file, or app.env for values that are not secret",
      managerRefusal:
        "mod_wsgi's daemons are Apache's processes: Debian's apache2.service runs them, and there is nothing for supervisor to run",
      frontReloadLoss: {
        requests: 2,
        message:
          "a reload of Apache (`systemctl reload apache2`, as `stackgen install` and certbot's renewals do) restarts mod_wsgi's daemon processes with it: a request they were running when the old ones stop can fail (measured under load: 0–1 per reload)",
        hint: 'ship new code by touching the WSGI script (the deploy README says how), which restarts the daemons alone; for no failed request across reloads, use gunicorn or uWSGI behind Apache',
      },
      // WSGIScriptReloading On (mod_wsgi's default): a daemon compares the script's mtime at
      // each request and, when it changed, restarts before it answers; the request waits.
      codeUpdate: {
        why: "mod_wsgi's daemons restart with new code on their next request once the WSGI script's modification time changed (WSGIScriptReloading): Apache itself is not reloaded, and requests wait while a daemon restarts",
        acceptGap: {
          ms: 3000,
          why: 'a touched WSGI script restarts each daemon at its next request: requests wait while it imports the app again (none fails)',
        },
      },
    },
    // What the probes ask of a process the stack runs: mod_wsgi's daemons are Apache's.
    notApplicable: {
      hardening:
        "mod_wsgi's daemons run in Apache's own service (Debian's apache2.service), not a unit of the stack's to score",
      journal: "mod_wsgi's daemons log to Apache's error log, not to a unit's journal",
      'graceful-stop':
        "the daemons stop with Apache's service (its graceful-stop finishes requests in flight); there is no unit of the stack's to stop",
      'backend-down':
        "the app runs in Apache's own processes: there is no backend of the stack's to stop while Apache answers",
      secrets: 'app.env_file is refused for mod_wsgi (no unit of the stack’s reads it)',
      mount: 'app.mount is not rendered for mod_wsgi yet (WSGIScriptAlias at / only)',
    },
  },
};
