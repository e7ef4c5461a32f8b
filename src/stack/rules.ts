// Cross-field rules. Each reads the catalog and explains a refusal in terms a user can act
// on. Errors make the spec invalid (exit 78); warnings flag risky-but-valid choices.

import { FRAMEWORKS } from '../topology/catalog/frameworks.js';
import { MANAGERS, PROTOCOLS, PROXIES } from '../topology/catalog/proxies.js';
import { posix } from 'node:path';
import { SERVERS } from '../topology/catalog/servers.js';
import { parseDuration } from '../gateway/config.js';
import type { Diagnostic } from './diagnostics.js';
import { staticEntries } from './static-dirs.js';
import type { NormalizedSpec } from './normalize.js';
import { SERVERS as SERVER_NAMES } from './schema.js';

type Rule = (spec: NormalizedSpec) => Diagnostic[];

const error = (path: Diagnostic['path'], message: string, hint?: string): Diagnostic => ({
  severity: 'error',
  kind: 'rule',
  path,
  message,
  hint,
});
const warning = (path: Diagnostic['path'], message: string, hint?: string): Diagnostic => ({
  severity: 'warning',
  kind: 'rule',
  path,
  message,
  hint,
});

/** Servers that can call an app of this interface, for hints. */
function serversFor(iface: string): string {
  const production = SERVER_NAMES.filter(
    (s) => SERVERS[s].interfaces.includes(iface as never) && SERVERS[s].suggested,
  );
  return production.map((s) => SERVERS[s].title).join(' or ');
}

/** The least lead the proxy read timeout needs over serve.timeout for the app server's kill to answer first. */
export const MIN_KILL_LEAD_SECONDS = 3;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/;

/**
 * Why a static directory must not be published, or null when it may be. The rule: a static
 * directory holds only public files, so it is refused when it is the app root or above it
 * (the source, `.env`, the SQLite file), when it holds the code the entry imports (the
 * package of `mysite.wsgi`, with its settings.py and SECRET_KEY), or when it is or lies in
 * a dot-directory (`.git`, `.venv`) inside the root. Pure: paths are compared, not read.
 */
export function unpublishableStaticDir(spec: NormalizedSpec, dir: string): string | null {
  // stack.yaml's directory stands at /stack: relative paths compare exactly as on disk.
  const root = posix.resolve('/stack', spec.app.root);
  const target = posix.resolve(root, dir);
  const rel = posix.relative(root, target);
  if (rel === '') return 'the app root itself (its source code, .env, its data)';
  if (target === '/' || root.startsWith(`${target}/`))
    return 'a directory that contains the app root (its source code, .env)';
  const inside = !rel.startsWith('..') && !posix.isAbsolute(rel);
  if (!inside) return null;
  if (rel.split('/').some((seg) => seg.startsWith('.')))
    return 'a dot-directory (version control, virtualenvs and tool state live in those)';
  const code = entryCodePath(spec);
  if (code !== null && (code === rel || code.startsWith(`${rel}/`)))
    return `the code the entry imports (${code})`;
  return null;
}

/** The file or top package of the entry, relative to app.root (`mysite` for mysite.wsgi:application). */
function entryCodePath(spec: NormalizedSpec): string | null {
  const e = spec.app.entry;
  if (!e.includes(':')) return posix.normalize(e);
  const module = e.split(':')[0] ?? '';
  const parts = module.split('.');
  return parts.length > 1 ? (parts[0] ?? null) : `${module}.py`;
}

/** A listen address bound to the loopback only (127.x, [::1], localhost): no CA can reach it. Pure. */
function isLoopbackListen(listen: string): boolean {
  const host = listen.includes(':') ? listen.slice(0, listen.lastIndexOf(':')) : '';
  return /^127\./.test(host) || host === '[::1]' || host === 'localhost';
}

/** useradd/groupadd refuse longer names (Debian: 32 characters). */
const MAX_ACCOUNT_NAME = 32;

/** hstspreload.org's conditions for the preload list: a year or more, every subdomain. */
const HSTS_PRELOAD_MIN_AGE = 31536000;

/**
 * A front that reads proxy.tls's key as the proxy's user (the gateway) keeps it private only
 * if its process manager can hand it root-only files, and if no app code runs as that user.
 */
function keyReaderProblems(spec: NormalizedSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const title = PROXIES[spec.proxy.kind].title;
  const manager = MANAGERS[spec.processes.manager].privateCopies;
  if (manager !== null && 'refusal' in manager)
    out.push(
      error(
        ['processes', 'manager'],
        `proxy.tls with the ${title} under ${MANAGERS[spec.processes.manager].title}: it runs as ${spec.proxy.user} and cannot read a root-only key, and ${manager.refusal}`,
      ),
    );
  // The front spawns the CGI scripts itself (no bridge): they run as its user, next to the key.
  if (
    SERVERS[spec.serve.server].processModel === 'process-per-request' &&
    PROXIES[spec.proxy.kind].cgiBridge === null
  )
    out.push(
      error(
        ['proxy', 'tls'],
        `proxy.tls with the ${title} running CGI scripts: it runs them as its own user, the one that reads the TLS key, so a hole in a script would give away the key`,
        "use proxy.kind nginx for a CGI app with TLS: its master reads the key as root, and fcgiwrap runs the scripts under the app's account",
      ),
    );
  if (spec.processes.user === spec.proxy.user)
    out.push(
      error(
        ['processes', 'user'],
        `proxy.tls with the ${title}: processes.user ${spec.processes.user} is the proxy's user, which reads the TLS key: the app could read it too`,
        'leave processes.user unset (the app gets an account of its own)',
      ),
    );
  return out;
}

export const RULES: Record<string, Rule> = {
  tasks(spec) {
    const tasks = spec.tasks;
    if (!tasks) return [];
    const out: Diagnostic[] = [];
    // Celery imports the app's modules: a CGI script is no importable app with a process of its own.
    if (SERVERS[spec.serve.server].processModel === 'process-per-request')
      out.push(
        error(
          ['tasks'],
          `tasks: with serve.server ${spec.serve.server}: a CGI script runs once per request and sends no task from a process that lives; Celery needs a Python app it can import`,
          'serve the app with a WSGI/ASGI server (gunicorn, uWSGI) and keep tasks:, or drop tasks:',
        ),
      );
    if (tasks.broker === 'env' && spec.app.env_file === undefined)
      out.push(
        error(
          ['tasks', 'broker'],
          'tasks.broker env: the broker URL comes from app.env_file (CELERY_BROKER_URL), and there is no app.env_file',
          'set app.env_file to a root-only file with CELERY_BROKER_URL=… (and CELERY_RESULT_BACKEND=…), or use broker: redis',
        ),
      );
    return out;
  },

  tls(spec) {
    const tls = spec.proxy.tls;
    if (tls === 'off') return [];
    const out: Diagnostic[] = [];
    const front = PROXIES[spec.proxy.kind];
    if (front.tlsRefusal)
      out.push(error(['proxy', 'tls'], `proxy.tls with proxy.kind ${spec.proxy.kind}: ${front.tlsRefusal}`));
    if (!front.tlsRefusal && front.tlsKeyReader === 'proxy-user') out.push(...keyReaderProblems(spec));
    if ('acme' in tls) {
      const names = spec.proxy.server_name.split(/\s+/).filter((n) => n !== '');
      const unreal = names.filter(
        (n) => n === '_' || n.startsWith('~') || n.includes('*') || n.startsWith('.'),
      );
      if (names.length === 0 || unreal.length > 0)
        out.push(
          error(
            ['proxy', 'server_name'],
            `proxy.tls.acme needs real host names in proxy.server_name, not ${unreal.join(' ') || '(none)'}: the CA checks each name it certifies over http://<name>/.well-known/acme-challenge/ (HTTP-01 cannot prove a wildcard or a pattern)`,
            'set proxy.server_name to the names clients use, e.g. shop.example www.shop.example',
          ),
        );
      const acme = front.acme;
      if ('refusal' in acme)
        out.push(
          error(
            ['proxy', 'tls', 'acme'],
            `proxy.tls.acme with proxy.kind ${spec.proxy.kind}: ${acme.refusal}`,
            'use proxy.kind nginx, or get a certificate yourself (certbot certonly --webroot) and set proxy.tls {cert: …/fullchain.pem, key: …/privkey.pem}',
          ),
        );
      else if (acme.unmanagedRefusal !== null && spec.processes.manager === 'none')
        out.push(
          error(
            ['processes', 'manager'],
            `proxy.tls.acme with the ${front.title} and processes.manager none: ${acme.unmanagedRefusal}`,
          ),
        );
      // RFC 8555 §8.3: the CA fetches the HTTP-01 token from port 80 of each name, always.
      const on80 = spec.proxy.listen.filter((l) => l.split(':').pop() === '80');
      const reachable = on80.filter((l) => !isLoopbackListen(l));
      if (reachable.length === 0)
        out.push(
          error(
            ['proxy', 'listen'],
            on80.length === 0
              ? `proxy.tls.acme needs port 80 in proxy.listen (it has ${spec.proxy.listen.join(', ')}): the CA fetches http://<name>/.well-known/acme-challenge/<token> on port 80 and no other (RFC 8555 §8.3)`
              : `proxy.tls.acme needs port 80 reachable from the CA, but proxy.listen binds it on loopback only (${on80.join(', ')})`,
            'keep proxy.listen at its default (80 and [::]:80); https goes on proxy.tls.listen',
          ),
        );
    }
    const httpPorts = new Set(spec.proxy.listen.map((l) => l.split(':').pop()));
    const clash = tls.listen.filter((l) => httpPorts.has(l.split(':').pop()));
    if (clash.length > 0)
      out.push(
        error(
          ['proxy', 'tls', 'listen'],
          `proxy.tls.listen ${clash.join(', ')} uses a port of proxy.listen: one port cannot speak http and https`,
          'keep http on proxy.listen (80) and https on proxy.tls.listen (443)',
        ),
      );
    if (
      tls.hsts !== 'off' &&
      tls.hsts.preload &&
      (!tls.hsts.include_subdomains || tls.hsts.max_age < HSTS_PRELOAD_MIN_AGE)
    )
      out.push(
        error(
          ['proxy', 'tls', 'hsts', 'preload'],
          `hsts preload needs include_subdomains: true and max_age of at least ${HSTS_PRELOAD_MIN_AGE} (hstspreload.org refuses the header otherwise)`,
          'set include_subdomains: true and max_age: 63072000, or drop preload',
        ),
      );
    return out;
  },

  appAccount(spec) {
    const out: Diagnostic[] = [];
    const { user, group } = spec.processes;
    for (const [key, value] of [
      ['user', user],
      ['group', group],
    ] as const) {
      if (value.length > MAX_ACCOUNT_NAME)
        out.push(
          error(
            spec.defaulted[`processes.${key}`] ? ['name'] : ['processes', key],
            `the app's ${key} ${value} is longer than ${MAX_ACCOUNT_NAME} characters: useradd/groupadd refuse it`,
            `set processes.${key} to a shorter name`,
          ),
        );
    }
    if (user === spec.proxy.user && spec.proxy.kind !== 'none')
      out.push(
        warning(
          ['processes', 'user'],
          `the app runs as ${user}, the proxy's user: stopping either service (RemoveIPC=, the kill of its processes) can reach the other, and a hole in the app is a hole in the proxy`,
          'remove processes.user: the app then gets an account of its own, named after the stack',
        ),
      );
    return out;
  },

  frameworkInterface(spec) {
    const fw = FRAMEWORKS[spec.app.framework];
    if (fw.interfaces.includes(spec.app.interface)) return [];
    return [
      error(
        ['app', 'interface'],
        `${fw.title} apps expose ${fw.interfaces.join(' or ').toUpperCase()}, not ${spec.app.interface.toUpperCase()}`,
        `remove app.interface or set it to ${fw.interfaces.join(' or ')}`,
      ),
    ];
  },

  serverInterface(spec) {
    const server = SERVERS[spec.serve.server];
    const fw = FRAMEWORKS[spec.app.framework];
    if (server.interfaces.includes(spec.app.interface)) return [];
    const advice = server.interfaceHints[spec.app.interface];
    const extra = advice ? `, or ${advice}` : '';
    return [
      error(
        ['serve', 'server'],
        `${server.title} serves ${server.interfaces.join('/').toUpperCase()}; ${fw.title} (as configured) is ${spec.app.interface.toUpperCase()}`,
        `use ${serversFor(spec.app.interface)}${extra}`,
      ),
    ];
  },

  serverConcurrency(spec) {
    const server = SERVERS[spec.serve.server];
    const c = spec.serve.concurrency;
    if (!server.concurrency.includes(c)) {
      const who = SERVER_NAMES.filter((s) => SERVERS[s].concurrency.includes(c)).join(' or ');
      return [
        error(
          ['serve', 'concurrency'],
          `${server.title} has no ${c} model (it offers ${server.concurrency.join(', ')})`,
          c === 'gevent' ? 'gevent needs gunicorn or uWSGI' : `the ${c} model needs ${who}`,
        ),
      ];
    }
    const narrower = server.interfaceModels[spec.app.interface];
    if (narrower && !narrower.models.includes(c)) {
      return [error(['serve', 'concurrency'], narrower.refusal.replace('{model}', c), narrower.hint)];
    }
    return [];
  },

  protocol(spec) {
    const { protocol, kind } = spec.proxy;
    const server = SERVERS[spec.serve.server];
    const proxy = PROXIES[kind];
    const out: Diagnostic[] = [];
    // A module of another front (mod_wsgi): the inFront rule says why, once.
    if (server.inFront && server.inFront.proxy !== kind) return [];
    if (!server.protocols.includes(protocol)) {
      const speakers = SERVER_NAMES.filter((s) => SERVERS[s].protocols.includes(protocol));
      out.push(
        error(
          ['proxy', 'protocol'],
          `${server.title} does not speak ${protocol} (it speaks ${server.protocols.join(', ')})`,
          protocol === 'uwsgi'
            ? 'the uwsgi protocol needs uWSGI (serve.server: uwsgi)'
            : `${protocol} needs ${speakers.join(' or ')}, or use proxy.protocol: ${server.defaultProtocol}`,
        ),
      );
    }
    if (!proxy.protocols.includes(protocol)) {
      out.push(
        error(
          ['proxy', 'protocol'],
          kind === 'none'
            ? `without a proxy the app server faces clients, so it must speak http, not ${protocol}`
            : `${proxy.title} cannot speak ${protocol}`,
          kind === 'none'
            ? 'add a proxy (proxy.kind: nginx or gateway) or use an HTTP app server'
            : ((both) =>
                both.length > 0
                  ? `${server.title} and ${proxy.title} both speak: ${both.join(', ')}`
                  : undefined)(server.protocols.filter((p) => proxy.protocols.includes(p))),
        ),
      );
    }
    return out;
  },

  protocolCaveat(spec) {
    if (spec.proxy.kind === 'none') return [];
    const caveats = [
      SERVERS[spec.serve.server].protocolWarnings[spec.proxy.protocol],
      PROXIES[spec.proxy.kind].protocolWarnings[spec.proxy.protocol],
    ];
    return caveats.flatMap((c) => (c ? [warning(['proxy', 'protocol'], c.message, c.hint)] : []));
  },

  cgi(spec) {
    const isCgiServer = SERVERS[spec.serve.server].processModel === 'process-per-request';
    if (spec.app.interface === 'cgi' && !isCgiServer) {
      return [
        error(
          ['serve', 'server'],
          'a CGI script is run per request, not by a long-running app server',
          'set serve.server: cgi',
        ),
      ];
    }
    if (isCgiServer && spec.proxy.kind === 'none') {
      return [
        error(
          ['proxy', 'kind'],
          'CGI means a process per request: something must spawn it, and without a proxy nothing does',
          'use proxy.kind: gateway (it runs the script itself) or nginx (through fcgiwrap)',
        ),
      ];
    }
    const bridge = PROXIES[spec.proxy.kind].cgiBridge;
    if (isCgiServer && bridge) return [warning(['proxy', 'kind'], bridge.why)];
    const asProxy = PROXIES[spec.proxy.kind].cgiAsProxyUser;
    if (isCgiServer && asProxy) {
      return [
        warning(['proxy', 'kind'], asProxy.message, asProxy.hint),
        ...(spec.app.writable.length > 0 ? [error(['app', 'writable'], asProxy.writableRefusal)] : []),
        ...(spec.app.env_file ? [error(['app', 'env_file'], asProxy.envFileRefusal)] : []),
      ];
    }
    return [];
  },

  inFront(spec) {
    const inFront = SERVERS[spec.serve.server].inFront;
    if (!inFront) return [];
    const title = SERVERS[spec.serve.server].title;
    if (spec.proxy.kind !== inFront.proxy)
      return [
        error(
          ['serve', 'server'],
          `${title} runs only inside ${PROXIES[inFront.proxy].title}`,
          inFront.refusal,
        ),
      ];
    const out: Diagnostic[] = [
      warning(['serve', 'server'], inFront.frontReloadLoss.message, inFront.frontReloadLoss.hint),
    ];
    if (spec.app.venv === undefined && spec.app.python !== inFront.embedsPython.python)
      out.push(
        error(
          ['app', 'python'],
          `${title} cannot run app.python ${spec.app.python}: ${inFront.embedsPython.refusal}`,
        ),
      );
    if (spec.app.env_file !== undefined)
      out.push(error(['app', 'env_file'], `${title} does not take app.env_file: ${inFront.envFileRefusal}`));
    if (spec.processes.manager === 'supervisor')
      out.push(
        error(
          ['processes', 'manager'],
          `${title} does not take processes.manager supervisor: ${inFront.managerRefusal}`,
          'use processes.manager: systemd (Debian’s apache2.service runs Apache)',
        ),
      );
    return out;
  },

  websockets(spec) {
    if (!spec.app.websockets) return [];
    const server = SERVERS[spec.serve.server];
    const out: Diagnostic[] = [];
    if (spec.app.interface === 'wsgi' || spec.app.interface === 'cgi') {
      out.push(
        error(
          ['app', 'websockets'],
          `${spec.app.interface.toUpperCase()} cannot do WebSockets: a ${spec.app.interface.toUpperCase()} call returns one response and the connection is gone`,
          'serve the WebSocket part as ASGI (uvicorn) or with tornado',
        ),
      );
    } else if (!server.websocketConcurrency.includes(spec.serve.concurrency)) {
      out.push(
        error(
          ['serve', 'concurrency'],
          `${server.title} cannot hold WebSockets under ${spec.serve.concurrency}`,
        ),
      );
    }
    if (spec.proxy.kind !== 'none' && spec.proxy.protocol !== 'http') {
      out.push(
        error(
          ['proxy', 'protocol'],
          `WebSocket upgrades travel over HTTP; ${spec.proxy.protocol} cannot carry them`,
          'use proxy.protocol: http',
        ),
      );
    }
    return out;
  },

  /** What a front server cannot do yet, said by its catalog entry. */
  frontGaps(spec) {
    const proxy = PROXIES[spec.proxy.kind];
    const out: Diagnostic[] = [];
    if (spec.app.websockets && spec.proxy.kind !== 'none' && !proxy.websockets)
      out.push(
        error(
          ['app', 'websockets'],
          `${proxy.title} as stackgen renders it does not tunnel WebSocket upgrades`,
          'use proxy.kind: nginx or gateway',
        ),
      );
    if (
      proxy.scriptRunnerOnly?.protocols.includes(spec.proxy.protocol) &&
      !SERVERS[spec.serve.server].scripts
    )
      out.push(
        error(
          ['proxy', 'protocol'],
          `${spec.proxy.protocol} from ${proxy.title} to ${SERVERS[spec.serve.server].title}: ${proxy.scriptRunnerOnly.why}`,
        ),
      );
    if (proxy.perPortRefusal && SERVERS[spec.serve.server].processModel === 'process-per-port')
      out.push(
        error(
          ['serve', 'server'],
          `${SERVERS[spec.serve.server].title} with ${proxy.title}: ${proxy.perPortRefusal}`,
        ),
      );
    if (
      proxy.perPortWarning &&
      SERVERS[spec.serve.server].processModel === 'process-per-port' &&
      spec.processes.manager !== 'none'
    )
      out.push(
        warning(
          ['serve', 'server'],
          `${SERVERS[spec.serve.server].title} with ${proxy.title}: ${proxy.perPortWarning.message}`,
          proxy.perPortWarning.hint,
        ),
      );
    if (spec.app.mount !== '/' && proxy.mountRefusal)
      out.push(error(['app', 'mount'], `app.mount with ${proxy.title}: ${proxy.mountRefusal}`));
    if (spec.proxy.trusted_proxies.length > 0 && proxy.trustedProxiesRefusal)
      out.push(
        error(
          ['proxy', 'trusted_proxies'],
          `proxy.trusted_proxies with ${proxy.title}: ${proxy.trustedProxiesRefusal}`,
        ),
      );
    if (spec.proxy.security_headers && proxy.appSecurityHeadersGap)
      out.push(
        warning(
          ['proxy', 'security_headers'],
          proxy.appSecurityHeadersGap,
          "set X-Content-Type-Options, X-Frame-Options and Referrer-Policy in the app (Django's SecurityMiddleware does), or use proxy.kind nginx",
        ),
      );
    return out;
  },

  tornadoServesItself(spec) {
    const out: Diagnostic[] = [];
    if (spec.app.interface === 'tornado' && !SERVERS[spec.serve.server].interfaces.includes('tornado')) {
      out.push(
        error(
          ['serve', 'server'],
          `a Tornado application runs on Tornado's own IOLoop; ${SERVERS[spec.serve.server].title} cannot serve it`,
          'set serve.server: tornado (nginx then proxies http to N tornado processes)',
        ),
      );
    }
    const caveat = SERVERS[spec.serve.server].interfaceWarnings[spec.app.interface];
    if (caveat) out.push(warning(['serve', 'server'], caveat.message, caveat.hint));
    return out;
  },

  socketAddress(spec) {
    const cgiStyle = PROTOCOLS[spec.proxy.protocol].cgiStyle;
    if (spec.serve.socket !== 'tcp' || LOOPBACK.test(spec.serve.host)) return [];
    if (cgiStyle && spec.proxy.protocol !== 'cgi') {
      return [
        error(
          ['serve', 'host'],
          `a ${spec.proxy.protocol} socket on ${spec.serve.host} lets anyone who reaches it set any CGI variable and run requests as the app`,
          'bind the app server to 127.0.0.1 or use serve.socket: unix',
        ),
      ];
    }
    // A server whose HTTP listener is meant for a proxy only (uWSGI's http-socket; its router
    // is what faces clients, catalog httpRouter) says why it matters more there.
    const facing = SERVERS[spec.serve.server].httpRouter?.listenerFacingClients;
    if (spec.proxy.kind !== 'none' && facing)
      return [warning(['serve', 'host'], `${facing.message} (on ${spec.serve.host})`, facing.hint)];
    if (spec.proxy.kind !== 'none') {
      return [
        warning(
          ['serve', 'host'],
          `the app server listens on ${spec.serve.host}: clients can bypass the proxy and its limits`,
          'bind it to 127.0.0.1 or a unix socket',
        ),
      ];
    }
    return [];
  },

  bufferingProxy(spec) {
    const sync = spec.serve.concurrency === 'prefork' || spec.serve.concurrency === 'threads';
    const out: Diagnostic[] = [];
    if (sync && !PROXIES[spec.proxy.kind].buffering) {
      out.push(
        warning(
          ['proxy', 'kind'],
          `${spec.serve.concurrency} workers without a buffering proxy: a slow client holds a worker for the whole upload and download`,
          SERVERS[spec.serve.server].inFront
            ? `${SERVERS[spec.serve.server].title} runs inside ${PROXIES[spec.proxy.kind].title} and cannot have a buffering proxy of its own in front: size threads for the slow clients, or use gunicorn or uWSGI behind nginx`
            : 'put nginx or the stackgen gateway in front (proxy.kind)',
        ),
      );
    }
    if (spec.proxy.kind === 'none' && Object.keys(spec.app.static).length > 0) {
      out.push(
        warning(
          ['app', 'static'],
          'static mappings are served by the proxy; without one the app must serve them itself',
        ),
      );
    }
    return out;
  },

  timeoutOrder(spec) {
    // Where serve.timeout kills a request (catalog: requestKill), the proxy must still be
    // waiting when the kill lands, so the client gets the app server's 502 (the request was
    // killed) and not the proxy's 504 while the worker runs on. uWSGI's master and gunicorn's
    // arbiter look about once a second (uWSGI in whole seconds): measured, the kill lands up to 1.9 s
    // after serve.timeout (uWSGI 2.0.21, timeout 2 s, 12 runs).
    const kills = SERVERS[spec.serve.server].requestKill[spec.serve.concurrency];
    if (!kills || spec.proxy.kind === 'none') return [];
    const readMs = parseDuration(spec.proxy.timeouts.read) ?? 0;
    const leastMs = (spec.serve.timeout + MIN_KILL_LEAD_SECONDS) * 1000;
    if (readMs >= leastMs) return [];
    return [
      error(
        ['proxy', 'timeouts', 'read'],
        `proxy.timeouts.read (${spec.proxy.timeouts.read}) must exceed serve.timeout (${spec.serve.timeout} s) by at least ${MIN_KILL_LEAD_SECONDS} s: the proxy would give up with a 504 while ${SERVERS[spec.serve.server].title} still runs the request`,
        `remove proxy.timeouts.read (default: serve.timeout + 5 s) or set it to ${spec.serve.timeout + MIN_KILL_LEAD_SECONDS}s or more; to stop long requests sooner, lower serve.timeout`,
      ),
    ];
  },

  workerSupervision(spec) {
    const caveat = SERVERS[spec.serve.server].workersWarning;
    // `auto` is one worker per core: more than one on any machine worth serving from.
    if (!caveat || spec.serve.workers === 1) return [];
    return [warning(['serve', 'workers'], caveat.message, caveat.hint)];
  },

  staticDirectories(spec) {
    const out: Diagnostic[] = [];
    for (const { url, dir } of staticEntries(spec)) {
      const why = unpublishableStaticDir(spec, dir);
      if (why === null) continue;
      out.push(
        error(
          ['app', 'static', url],
          `app.static ${url} → ${dir} would publish ${why}: every file in a static directory is served to anyone, byte for byte`,
          'map the prefix to a directory that holds only public files (e.g. `static`, where collectstatic or your asset build writes), inside app.root',
        ),
      );
    }
    return out;
  },

  unbufferedPaths(spec) {
    const out: Diagnostic[] = [];
    const statics = Object.keys(spec.app.static);
    spec.proxy.unbuffered.forEach((prefix, i) => {
      if (statics.includes(prefix))
        out.push(
          error(
            ['proxy', 'unbuffered', i],
            `${prefix} is both a static prefix and an unbuffered app path: the proxy cannot serve it from disk and from the app`,
            'remove it from proxy.unbuffered (files are never buffered) or from app.static',
          ),
        );
    });
    const sync = spec.serve.concurrency === 'prefork' || spec.serve.concurrency === 'threads';
    if (sync && spec.proxy.unbuffered.length > 0 && PROXIES[spec.proxy.kind].buffersResponses)
      out.push(
        warning(
          ['proxy', 'unbuffered'],
          `${spec.serve.concurrency} workers stream ${spec.proxy.unbuffered.join(', ')} unbuffered: each open stream holds a worker until its client has read the last byte`,
          'keep streams short, or serve them from an ASGI app (uvicorn) or with gevent workers',
        ),
      );
    return out;
  },

  mount(spec) {
    const { mount } = spec.app;
    if (mount === '/') return [];
    const out: Diagnostic[] = [];
    if (spec.proxy.kind === 'none')
      return [
        error(
          ['app', 'mount'],
          `app.mount ${mount} needs a proxy: with none the app server faces clients and answers every path itself`,
          'set proxy.kind: nginx or gateway, or leave app.mount at /',
        ),
      ];
    const server = SERVERS[spec.serve.server];
    if (spec.proxy.protocol === 'http' && !server.httpMount[spec.app.interface])
      out.push(
        error(
          ['app', 'mount'],
          `${server.title} (${spec.app.interface.toUpperCase()}) over HTTP cannot be mounted at ${mount}: ${server.mountRefusal}`,
          SERVERS[spec.serve.server].protocols.some((p) => PROTOCOLS[p].cgiStyle)
            ? 'use proxy.protocol: uwsgi (the proxy then sends SCRIPT_NAME itself), or leave app.mount at /'
            : 'serve a WSGI app with gunicorn, waitress or uWSGI, or leave app.mount at /',
        ),
      );
    // What the proxy sends the app is the mount; an unbuffered prefix outside it would not reach the app.
    spec.proxy.unbuffered.forEach((prefix, i) => {
      if (!prefix.startsWith(`${mount}/`))
        out.push(
          error(
            ['proxy', 'unbuffered', i],
            `${prefix} is outside app.mount ${mount}: the app answers only below ${mount}/`,
            `write it as an absolute URL below the mount (${mount}${prefix})`,
          ),
        );
    });
    return out;
  },

  scripts(spec) {
    const scripts = SERVERS[spec.serve.server].scripts;
    if (!scripts) return [];
    const out: Diagnostic[] = [];
    const title = SERVERS[spec.serve.server].title;
    if (spec.app.mount !== '/')
      out.push(
        error(
          ['app', 'mount'],
          `${title} cannot be mounted at ${spec.app.mount}: ${scripts.mountRefusal}`,
          'leave app.mount at /',
        ),
      );
    if (spec.app.env_file !== undefined)
      out.push(
        error(
          ['app', 'env_file'],
          `${title} does not take app.env_file: ${scripts.envFileRefusal}`,
          'put non-secret settings in app.env; read secrets from a file the app opens itself',
        ),
      );
    for (const [name, value] of Object.entries(spec.app.env))
      if (value.startsWith('$') || value.includes('${'))
        out.push(
          error(
            ['app', 'env', name],
            `${title}'s pool file reads $NAME and \${NAME} as the master's own environment: ${JSON.stringify(value)} would not reach PHP as written`,
            'write the value without $ at its start or ${',
          ),
        );
    // A writable directory below the document root: an uploaded .php file there is a script the path can name.
    spec.app.writable.forEach((dir, i) => {
      if (dir.startsWith('/') || dir === '..' || dir.startsWith('../')) return;
      out.push(
        warning(
          ['app', 'writable', i],
          `${dir} is inside app.root, the document root: a ${scripts.extension} file written there (an upload) would run at /${dir.replace(/^\.\/|\/$/g, '')}/…${scripts.extension}`,
          `keep writable directories outside app.root (../${dir.replace(/^\.\//, '')}) and serve uploads through app.static, which never runs scripts`,
        ),
      );
    });
    if (!spec.app.entry.endsWith(scripts.extension))
      out.push(
        error(
          ['app', 'entry'],
          `${title} runs ${scripts.extension} scripts only (security.limit_extensions): the front controller ${spec.app.entry} would be refused`,
          `name a ${scripts.extension} file relative to app.root (index${scripts.extension})`,
        ),
      );
    return out;
  },

  devServer(spec) {
    const server = SERVERS[spec.serve.server];
    if (!server.devServer) return [];
    return [
      warning(
        ['serve', 'server'],
        `${server.title} is a development server: one process, a bounded thread pool, HTTP/1.0, no worker recycling`,
        'fine for the embedded default and small internal tools; use gunicorn or uWSGI in production',
      ),
    ];
  },

  ignoredSettings(spec) {
    const out: Diagnostic[] = [];
    if (spec.serve.threads !== 'auto' && spec.serve.concurrency !== 'threads') {
      out.push(
        warning(['serve', 'threads'], `serve.threads is ignored under the ${spec.serve.concurrency} model`),
      );
    }
    const model = SERVERS[spec.serve.server].processModel;
    const single = model === 'single-process' || (model === 'process-per-port' && spec.proxy.kind === 'none');
    if (single && spec.serve.workers !== 'auto' && spec.serve.workers > 1) {
      out.push(
        warning(
          ['serve', 'workers'],
          model === 'single-process'
            ? `${SERVERS[spec.serve.server].title} runs one process; serve.workers is ignored`
            : `${SERVERS[spec.serve.server].title} runs one process per port, and with no proxy to spread requests over ports it faces clients on one: serve.workers is ignored`,
          model === 'single-process'
            ? undefined
            : 'put a proxy in front (proxy.kind: nginx or gateway) for one process per core',
        ),
      );
    }
    if (spec.processes.manager === 'none') {
      out.push(
        warning(
          ['processes', 'manager'],
          'no process manager: nothing restarts the app server if it dies or the machine reboots',
        ),
      );
    }
    return out;
  },
};

/** Run every rule; errors first, then warnings, each in rule order. */
export function checkRules(spec: NormalizedSpec): Diagnostic[] {
  const all = Object.values(RULES).flatMap((rule) => rule(spec));
  return [...all.filter((d) => d.severity === 'error'), ...all.filter((d) => d.severity === 'warning')];
}
