// Front servers, wire protocols and process managers as data.

import type { ManagerEntry, ProcessEntry, ProgramRequirement, ProtocolEntry, ProxyEntry } from './types.js';
import type { Manager, Protocol, ProxyKind, ServerName } from '../../stack/schema.js';
import { SERVERS } from './servers.js';

/** Where `stackgen install` puts the stackgen that gateway units run (a wrapper; see install/steps.ts). */
export const INSTALLED_STACKGEN = '/usr/local/bin/stackgen';

/** The `user` directive of an nginx main config; null when it has none. Pure. */
export function nginxUserOf(text: string): string | null {
  return /^\s*user\s+([^\s;]+)/m.exec(text)?.[1] ?? null;
}

/** Does an nginx server block text declare default_server on this port? Pure. */
export function claimsDefaultServer(text: string, port: number): boolean {
  const re = /^\s*listen\s+([^;]*?)\bdefault_server\b[^;]*;/gm;
  for (const m of text.matchAll(re)) {
    const where = m[1]!.trim().split(/\s+/)[0]!;
    const p = /(\d+)$/.exec(where)?.[1];
    if (Number(p) === port) return true;
  }
  return false;
}

/** The worker user Debian's apache2 envvars names (APACHE_RUN_USER); null when none. Pure. */
export function apacheUserOf(text: string): string | null {
  return /^\s*export\s+APACHE_RUN_USER=(\S+)/m.exec(text)?.[1] ?? null;
}

/**
 * Does an Apache site's text hold a <VirtualHost> on this port? The first virtual host
 * Apache reads for an address is its default (it answers every Host no other names). Pure.
 */
export function apacheClaimsPort(text: string, port: number): boolean {
  for (const m of text.matchAll(/^\s*<VirtualHost\s+([^>]*)>/gim))
    if (m[1]!.split(/\s+/).some((a) => Number(/:(\d+)$/.exec(a)?.[1]) === port)) return true;
  return false;
}

/** proxy.tls.acme's client (src/tls/acme.ts; the acme entries below): Debian's certbot, its webroot plugin built in. */
export const CERTBOT: ProgramRequirement = {
  program: 'certbot',
  package: 'certbot',
  versionArgs: ['--version'],
  // 1.x/2.x: --deploy-hook kept as renew_hook in the renewal file, --cert-name.
  minVersion: '1.12.0',
  why: 'obtains and renews the certificate over ACME HTTP-01 (webroot plugin, certbot.timer)',
};

export const PROXIES: Record<ProxyKind, ProxyEntry> = {
  nginx: {
    name: 'nginx',
    title: 'nginx',
    protocolWarnings: {},
    process: {
      stop: {
        signal: 'SIGQUIT',
        why: 'nginx finishes open requests on SIGQUIT (SIGTERM is a fast shutdown)',
      },
      reload: { signal: 'SIGHUP', why: 'nginx re-reads its config and replaces workers on SIGHUP' },
      systemdType: 'exec',
      stopGraceSeconds: 10,
      managed: false,
      why: 'nginx',
    },
    // max_fails=0 on every upstream server (templates/nginx/site.conf.hbs): never out of rotation.
    backendReadmit: null,
    cgiBridge: {
      why: 'nginx has no CGI support: stackgen adds fcgiwrap, which nginx reaches over FastCGI and which runs the script per request',
    },
    // nginx has no CGI: it reaches CGI scripts through fcgiwrap over FastCGI.
    protocols: ['http', 'uwsgi', 'fastcgi', 'scgi', 'cgi'],
    buffering: true,
    buffersResponses: true,
    // gzip on for text types (templates/nginx/site.conf.hbs).
    tlsRefusal: null,
    // certbot reads nothing of nginx's config (the webroot plugin only writes token files
    // under the webroot the challenge location serves); a renewed certificate reaches nginx
    // through a graceful reload: new workers load it, old ones finish their requests.
    acme: {
      client: 'certbot',
      // Production: Debian's nginx service. A sandbox's nginx (verify) is its own master,
      // reloaded by the same SIGHUP systemd's ExecReload sends.
      reloadCommand: (where) =>
        where.production
          ? 'nginx -t -q && systemctl reload nginx'
          : `nginx -t -q -c ${where.mainConfig} && kill -HUP "$(cat ${where.pidFile})"`,
      reloadWhy:
        'A graceful reload, never a restart: the master checks the config and starts new workers\nwith the new certificate; old workers finish the requests (and TLS sessions) they hold,\nso a renewal drops no connection. A config that fails the test keeps the old workers.',
      unmanagedRefusal: null,
    },
    // Its master reads the key as root (at start and on every reload), then its workers drop to www-data.
    tlsKeyReader: 'root',
    compresses: true,
    compressesStatic: true,
    websockets: true,
    // templates/nginx/site.conf.hbs: proxy_set_header X-Forwarded-Proto $scheme, …
    forwardedFromConnection: true,
    programs: [
      {
        program: 'nginx',
        package: 'nginx-light',
        versionArgs: ['-v'],
        minVersion: '1.18.0',
        why: 'upstream keepalive_timeout and the directives the generated config uses',
      },
    ],
    distro: {
      service: 'nginx',
      sitesEnabled: '/etc/nginx/sites-enabled',
      defaultSite: '/etc/nginx/sites-enabled/default',
      mainConfig: '/etc/nginx/nginx.conf',
      configTest: ['nginx', '-t'],
      pidFile: '/run/nginx.pid',
      errorLog: '/var/log/nginx/error.log',
      siteFile: 'nginxSite',
      workerUserOf: nginxUserOf,
      claimsDefaultServer,
    },
  },
  gateway: {
    name: 'gateway',
    title: 'stackgen gateway',
    protocolWarnings: {},
    process: {
      stop: { signal: 'SIGTERM', why: 'the gateway finishes in-flight requests, then exits on SIGTERM' },
      reload: {
        signal: 'SIGHUP',
        why: 'the gateway reloads its config on SIGHUP without dropping connections',
      },
      systemdType: 'exec',
      stopGraceSeconds: 15,
      managed: true,
      why: 'the stackgen gateway',
    },
    // It spawns CGI scripts itself (src/gateway/transports/cgi.ts).
    // src/gateway/upstream-pool.ts: a backend that refused is skipped for 10 s, but a request
    // with every backend down still tries them (the one down longest first).
    backendReadmit: null,
    cgiBridge: null,
    protocols: ['http', 'uwsgi', 'fastcgi', 'scgi', 'cgi'],
    buffering: true,
    // It sends what the backend has delivered within one event-loop turn, then streams the
    // rest with backpressure (src/gateway/proxy.ts): a stream is never held back.
    buffersResponses: false,
    // The app's text answers and static text files, as nginx's gzip filter decides
    // (src/gateway/gzip.ts, `gzip:` in its config); a `.gz` sibling is sent as it is.
    // It terminates TLS itself (src/gateway/tls.ts, h2-lane.ts; the tls: block its config
    // renders). It runs as the proxy's user, which cannot read a key kept as Debian keeps it
    // (root, mode 600): its process manager copies cert and key as root into a directory only
    // that user reads, before the start and before every reload (plan.ts PrivateCopies;
    // MANAGERS[…].privateCopies), and SIGHUP re-reads the copies.
    tlsRefusal: null,
    // proxy.tls.acme: certbot, as for nginx, not an npm ACME library — one client for every
    // front, renewed by the distribution's certbot.timer and patched by its security updates,
    // and the ACME account key stays root's (/etc/letsencrypt), out of the reach of the
    // gateway, which runs as the proxy's user and faces the network. The gateway's config
    // serves /.well-known/acme-challenge/ from certbot's webroot on its plain listeners (never
    // redirected), reads the private copies its unit makes of what the deploy hook links, and
    // the hook's `systemctl reload` is ExecReload=+ (copy again, as root) then SIGHUP.
    acme: {
      client: 'certbot',
      // A sandbox's gateway has no systemd: the hook does what ExecReload= would — the root
      // copies, then SIGHUP to the main pid verify recorded (systemd's MAINPID).
      reloadCommand: (where) =>
        where.production || where.mainPidFile === null
          ? `systemctl reload ${where.unit}`
          : [...where.beforeReload, `kill -HUP "$(cat ${where.mainPidFile})"`].join(' && '),
      reloadWhy:
        "A reload, never a restart: `systemctl reload` runs the unit's ExecReload=+ lines first (as\nroot: the renewed certificate and key copied again into the directory only the gateway's\nuser reads), then its SIGHUP: the gateway re-reads both and swaps them with setSecureContext.\nNew handshakes get the new certificate, open connections (HTTP/1.1 and h2) keep theirs, none\nis dropped; a pair that does not load is refused and the running certificate kept.",
      unmanagedRefusal:
        "nothing stackgen installs runs the gateway: install could not start it to answer the first HTTP-01 challenge, and certbot's deploy hook would have no unit to reload after a renewal: use processes.manager systemd",
    },
    tlsKeyReader: 'proxy-user',
    compresses: true,
    compressesStatic: true,
    websockets: true,
    // src/gateway/transports/http.ts and cgi-env.ts replace the client's X-Forwarded-*.
    forwardedFromConnection: true,
    // Its unit runs INSTALLED_STACKGEN, a wrapper `stackgen install` writes that execs the
    // Node and the stackgen that ran the install (absolute paths, fixed at install time).
    programs: [
      {
        program: 'node',
        package: 'nodejs',
        versionArgs: ['--version'],
        minVersion: '20.19',
        why: 'stackgen (and so the gateway) needs Node.js 20.19 or later',
        obtain: "Node.js ≥ 20.19 from nodejs.org or NodeSource (Debian 12's nodejs is 18)",
      },
      {
        program: INSTALLED_STACKGEN,
        package: 'stackgen',
        versionArgs: ['--version'],
        minVersion: '0',
        why: 'the gateway unit runs it',
        obtain: '`sudo stackgen install <stack.yaml>` writes it (it runs the stackgen that installed it)',
      },
    ],
    distro: null,
  },
  // Debian's lighttpd 1.4.69. stackgen runs it as a unit of the stack's own (`lighttpd -D -f`
  // the stack's config), not as Debian's lighttpd.service: Debian's lighttpd.conf is one server
  // — its own port 80, document root /var/www/html and modules — that a file in conf-enabled
  // would inherit and could not own a port in; the stack's whole config is its own, and
  // `lighttpd -tt -f` tests exactly what runs.
  lighttpd: {
    name: 'lighttpd',
    title: 'lighttpd',
    protocolWarnings: {},
    process: {
      // lighttpd(8) 1.4.x: SIGINT "graceful shutdown" (stop accepting, finish requests in
      // flight), SIGTERM "shutdown" (drop them). SIGUSR1 is a graceful restart that re-reads
      // the config, but systemd's kill signals stop at the four SignalPlan names: a config
      // change is a restart (reload null).
      stop: {
        signal: 'SIGINT',
        why: 'lighttpd finishes the requests in flight on SIGINT (SIGTERM drops them)',
      },
      reload: null,
      systemdType: 'exec',
      stopGraceSeconds: 15,
      managed: true,
      why: 'lighttpd',
    },
    // mod_cgi runs CGI scripts itself (as the unit's user: the app's, see recipes.ts).
    // templates/lighttpd/lighttpd.conf.hbs: "disable-time" => 1. A backend lighttpd could not
    // connect to is out of rotation until now > (that second + 1), checked by its once-a-second
    // trigger (1.4.69 gw_backend.c): up to 3 s after the last refused connect — which can come
    // just before the restarted instance listens. With every instance out, each request is a
    // 503 ("all handlers … are down"): seen on verify --target machine with a 2 s wait (868 of
    // 7141 requests), 0 with this one.
    backendReadmit: {
      seconds: 3,
      why: 'lighttpd takes an app server it could not reach back only up to 3 s later (disable-time 1 s, checked once a second): the next instance is restarted after that, so one is always in rotation',
    },
    cgiBridge: null,
    // mod_proxy (http), mod_fastcgi, mod_scgi, mod_cgi (it runs the script itself:
    // examples/cgi-lighttpd.yaml). Not yet: uwsgi (a mod_scgi option, "proxy-protocol" =>
    // "uwsgi").
    protocols: ['http', 'fastcgi', 'scgi', 'cgi'],
    // server.stream-request-body = 0 (its default): a whole request body is buffered (in
    // memory, then temp files) before the backend sees it. Responses: stream-response-body 1
    // (templates/lighttpd/lighttpd.conf.hbs) passes each chunk on as it comes and keeps what a
    // slow client has not taken, so a stream is never held back and no worker waits.
    buffering: true,
    buffersResponses: false,
    tlsRefusal:
      'stackgen does not render TLS for lighttpd yet (mod_openssl is packaged, the config is not written): use proxy.kind nginx for proxy.tls',
    acme: {
      refusal: 'stackgen renders no TLS for lighttpd yet, so no certificate to obtain: use proxy.kind nginx',
    },
    tlsKeyReader: 'root',
    // mod_deflate is a package of its own (lighttpd-mod-deflate) and not rendered yet.
    compresses: false,
    compressesStatic: false,
    // templates/lighttpd/lighttpd.conf.hbs: proxy.header "upgrade" => "enable" on the HTTP
    // backend of an app with websockets (mod_proxy tunnels the Upgrade once the app says 101).
    websockets: true,
    // templates/lighttpd/lighttpd.conf.hbs: every client forwarding header is removed before
    // a backend sees it; mod_proxy sets X-Forwarded-For/-Proto from the connection.
    forwardedFromConnection: true,
    // Seen on 1.4.69: the app server stopped (its socket refused or gone), a request is
    // answered 503 at once (gw_backend marks the backend down for a second); an app server
    // killed after the request reached it, 500 ("response not received, request sent") —
    // verify --target machine's backend-down met both.
    backendDownStatus: {
      statuses: [503, 500],
      why: 'lighttpd answers 503 when the backend refuses or its socket is gone, 500 when it dies with the request sent (nginx and the gateway: 502 for both)',
    },
    appSecurityHeadersGap:
      "lighttpd 1.4.69 cannot add a response header only when the app set none (mod_setenv appends or replaces; mod_magnet, which could, is not in Debian's package): the front adds the security headers to static files only, and the app sets its own",
    upstreamWhy: {
      fastcgi:
        "lighttpd's own path to a Python app: mod_fastcgi to a flup-style WSGI server; flup is not in Debian, so uWSGI's fastcgi-socket is that server (a connection per request)",
      scgi: "mod_scgi to uWSGI's scgi-socket: CGI variables as one netstring, then the body (flup is not in Debian)",
      http: 'mod_proxy: HTTP/1.1 to the app server, with X-Forwarded-For/-Proto set from the connection',
    },
    // templates/lighttpd/lighttpd.conf.hbs: url.access-deny for every other Host.
    unknownHostStatus: {
      status: 403,
      why: 'lighttpd has no 444 or 421 without mod_magnet (not in Debian): url.access-deny answers 403 (Django says 400 for a Host it does not allow, so 403 is the front)',
    },
    mountRefusal:
      'stackgen does not render app.mount for lighttpd yet (the backend is mounted at /): use proxy.kind nginx or gateway, or leave app.mount at /',
    trustedProxiesRefusal:
      'stackgen does not render mod_extforward for lighttpd yet: use proxy.kind nginx or gateway behind a load balancer',
    // Seen on verify --target machine with hypercorn × 2 (8 clients looping): 1 of 8607
    // requests answered 500 during the rolling restart ("response not received, request
    // sent"): a connection still in the stopping instance's listen queue when it closes its
    // socket is reset, and lighttpd sends nothing again once the request went out (nginx's
    // proxy_next_upstream resends a GET to the next instance).
    perPortWarning: {
      message:
        'a code update restarts the instances one at a time, and a request lighttpd sent to one at the instant it stops listening is answered 500 (lighttpd never resends a request that went out; nginx resends an idempotent one)',
      hint: 'for no failed request across updates, use an app server that reloads on one socket it keeps open (gunicorn, with uvicorn workers for ASGI; uWSGI), or proxy.kind: nginx',
    },
    programs: [
      {
        program: 'lighttpd',
        package: 'lighttpd',
        versionArgs: ['-v'],
        minVersion: '1.4.56',
        why: "the backends' connect-timeout/read-timeout/write-timeout and setenv.set-request-header as the generated config uses them",
      },
    ],
    distro: null,
  },
  // Debian's apache2 2.4 (event MPM), run by the distribution's own apache2.service: the
  // stack's site goes to sites-available and is enabled with a2ensite, its modules with
  // a2enmod, and Debian's 000-default site (which owns port 80 and answers "Apache2 Debian
  // Default Page") is disabled — the nginx way, with Debian's own tools.
  apache: {
    name: 'apache',
    title: 'Apache httpd',
    // Seen on 2.4.71 with httpbin (test/helpers/conformance-stacks.ts): a 16 KB response
    // header line through mod_proxy_uwsgi is a 502 — its header reader stops at 8 KiB, and the
    // responsefieldsize worker parameter that lifts mod_proxy_http's limit is not read by it.
    protocolWarnings: {
      uwsgi: {
        message:
          "Apache's mod_proxy_uwsgi reads a response header line of at most 8 KiB: an app that sends a longer one (a big Set-Cookie, Content-Security-Policy or Link header) gets a 502 for that answer",
        hint: 'if the app sends such headers, use proxy.protocol: http (the site lets mod_proxy_http read lines up to 16 KiB: responsefieldsize) or proxy.kind: nginx',
      },
    },
    process: {
      // httpd(8) / apachectl: SIGWINCH is graceful-stop (finish the requests in flight),
      // SIGTERM stops at once; SIGUSR1 is the graceful restart Debian's `systemctl reload
      // apache2` (apachectl graceful) sends. Production stops and reloads it through Debian's
      // unit; these signals are what verify's sandbox sends its own apache2.
      stop: {
        signal: 'SIGWINCH',
        why: 'Apache finishes the requests in flight on SIGWINCH (graceful-stop); SIGTERM drops them',
      },
      reload: {
        signal: 'SIGUSR1',
        why: 'Apache re-reads its config on SIGUSR1 (graceful restart): old children finish their requests, new ones take the new config',
      },
      systemdType: 'exec',
      stopGraceSeconds: 15,
      managed: false,
      why: 'Apache httpd',
      // Measured with 8 clients looping on 2.4.71 (event MPM): after SIGUSR1 (graceful restart)
      // no request is answered for 1000–1250 ms in the sandbox, 1056–1232 ms on verify --target
      // machine for the uWSGI and gunicorn examples — but 42 ms for php-fpm-apache; none failed
      // (they wait in the listen queue). A likely cause, not proven here: the old children stop
      // accepting at once and the master starts new ones at its once-a-second maintenance pass.
      reloadAcceptGap: {
        ms: 2500,
        why: "Apache's graceful restart (systemctl reload apache2) answered nothing for up to about a second when measured (new children start late): requests wait in the listen queue, none fails",
      },
    },
    // retry=0 on every ProxyPass (templates/apache/site.conf.hbs): a backend that refused is tried again at once.
    backendReadmit: null,
    // mod_cgid runs CGI scripts itself (ScriptAlias in templates/apache/site.conf.hbs): no bridge.
    cgiBridge: null,
    // mod_cgid's daemon forks every script as the server's user (www-data): Debian's apache2
    // has no suexec for a site's own account without apache2-suexec-custom and a document
    // root under /var/www. The script reads what www-data reads and writes what it writes.
    cgiAsProxyUser: {
      message:
        "mod_cgid runs the CGI script as Apache's own user (www-data), not as an account of the app's: the script can read what every other site of this Apache reads, and a flaw in it acts as the web server",
      hint: "for a CGI script under an account of its own, use proxy.kind nginx (fcgiwrap runs it as the app's user) or lighttpd (its own unit, as the app's user)",
      writableRefusal:
        "app.writable gives the app's own account its directories, but mod_cgid runs the script as www-data, which must not own them: use proxy.kind nginx (fcgiwrap runs the script as the app's user) or lighttpd",
      envFileRefusal:
        "app.env_file is read into the app's own unit, and mod_cgid's scripts run in Apache's (www-data), where the secrets would reach every site: use proxy.kind nginx or lighttpd for a CGI script with secrets, or app.env for values that are not secret",
    },
    // mod_proxy_http, mod_proxy_uwsgi, mod_proxy_fcgi (php-fpm's scripts by name; uWSGI's
    // fastcgi-socket), mod_proxy_scgi (uWSGI's scgi-socket), mod_cgid (the script itself,
    // examples/cgi-apache.yaml), mod_wsgi's daemon socket (serve.server mod_wsgi: the app in
    // daemon processes Apache forks, examples/flask-mod-wsgi-apache.yaml).
    protocols: ['http', 'uwsgi', 'fastcgi', 'scgi', 'cgi', 'mod_wsgi'],
    // Seen on 2.4.71 (ProxyPass / scgi://…): /café/x arrives as SCRIPT_NAME "/café/x" (decoded)
    // and no PATH_INFO — ap_add_cgi_vars names the whole URI the script when the request has
    // no path info, and a proxied request never has one. (proxy-scgi-pathinfo would set
    // PATH_INFO, percent-encoded, while every other variable is decoded.)
    scgiPathInScriptName:
      "Apache's mod_proxy_scgi sends the whole path as SCRIPT_NAME and no PATH_INFO; an app mounted at / needs it as PATH_INFO, with SCRIPT_NAME empty.",
    // mod_proxy reads the whole request body before it sends it on only with
    // proxy-sendcl; by default a Content-Length body is streamed to the backend as it
    // arrives: a slow upload holds a backend connection (and a sync worker) meanwhile.
    buffering: false,
    // flushpackets=on (templates/apache/site.conf.hbs) passes each chunk on as it comes.
    buffersResponses: false,
    tlsRefusal:
      'stackgen does not render TLS for Apache yet (mod_ssl is packaged, the config is not written): use proxy.kind nginx for proxy.tls',
    acme: {
      refusal: 'stackgen renders no TLS for Apache yet, so no certificate to obtain: use proxy.kind nginx',
    },
    tlsKeyReader: 'root',
    // mod_deflate is enabled by Debian for some types; not rendered for the stack yet.
    compresses: false,
    compressesStatic: false,
    // templates/apache/site.conf.hbs: `upgrade=websocket` on the HTTP ProxyPass — mod_proxy_http
    // tunnels an Upgrade: websocket request itself since 2.4.47 (mod_proxy_wstunnel is the
    // older way); every other request on that ProxyPass stays plain HTTP.
    websockets: true,
    // templates/apache/site.conf.hbs: every client forwarding header is removed (RequestHeader
    // unset … early); mod_proxy_http sets X-Forwarded-For/-Host/-Server from the connection.
    forwardedFromConnection: true,
    // Seen on 2.4.71: connection refused or socket gone → 503 (AH01114/AH10101 "failed to make
    // connection to backend"); an app server killed with the request sent → 500 from
    // mod_proxy_uwsgi (verify --target machine's backend-down, uWSGI SIGKILLed while it still
    // accepted) — mod_proxy_http says 502 there.
    backendDownStatus: {
      statuses: [503, 502, 500],
      why: 'Apache answers 503 when it cannot connect to the backend, and 502 (mod_proxy_http) or 500 (mod_proxy_uwsgi) when the backend dies after the request was sent (nginx and the gateway: 502 for all)',
    },
    upstreamWhy: {
      http: 'mod_proxy_http: HTTP/1.1 to the app server, X-Forwarded-For set from the connection (the client’s removed first)',
      uwsgi:
        "mod_proxy_uwsgi: uWSGI's own binary protocol, CGI variables in one packet (the request's headers as HTTP_*, the client's forwarding headers removed first)",
      fastcgi:
        'mod_proxy_fcgi: FastCGI records over a unix socket, SCRIPT_FILENAME, SCRIPT_NAME and PATH_INFO set by the site for each script (ProxyFCGISetEnvIf)',
      scgi: "mod_proxy_scgi: CGI variables as one netstring, then the body, to uWSGI's scgi-socket (which moves the path Apache sends as SCRIPT_NAME to PATH_INFO)",
      mod_wsgi:
        "mod_wsgi's daemon mode: an Apache child passes the request over mod_wsgi's own unix socket to a daemon process of the stack's, which runs the app as the app's account",
      cgi: "mod_cgid: Apache forks the script itself for each request (from its cgid daemon, as www-data), by the script's own #! line",
    },
    // templates/apache/site.conf.hbs: the first <VirtualHost> of the port (the default) answers
    // 421 to every Host that is not proxy.server_name.
    mountRefusal:
      'stackgen does not render app.mount for Apache yet (the backend is mounted at /): use proxy.kind nginx or gateway, or leave app.mount at /',
    trustedProxiesRefusal:
      'stackgen does not render mod_remoteip for Apache yet: use proxy.kind nginx or gateway behind a load balancer',
    // Tried by hand: flask-uwsgi-lighttpd.yaml with proxy.kind apache (ProxyPass to uWSGI's
    // fastcgi-socket) reached the app with an empty path, and the probes failed: the
    // variables are set per script only (php-fpm), not yet for a WSGI app at /.
    scriptRunnerOnly: {
      protocols: ['fastcgi'],
      why: 'stackgen sets the FastCGI variables for Apache per script (php-fpm) only; a WSGI app over mod_proxy_fcgi reaches the app with an empty path: use proxy.protocol uwsgi or http with uWSGI',
    },
    // The site's one ProxyPass names one backend: a balancer over per-port processes
    // (mod_proxy_balancer, BalancerMember per port) is not rendered yet.
    perPortRefusal:
      'stackgen renders one ProxyPass backend for Apache, not a mod_proxy_balancer over one process per port yet: use uWSGI or gunicorn (one socket for every worker), or proxy.kind nginx',
    // server/listen.c: built with v4-mapped addresses (Debian's build on Linux), make_sock
    // binds `[::]:port` without IPV6_V6ONLY and a `0.0.0.0:port` next to it fails to bind;
    // the site says `Listen port` once for both (as Debian's ports.conf says `Listen 80`).
    v6WildcardTakesV4:
      "Debian's apache2 binds the IPv6 wildcard with v4-mapped addresses: one [::] socket takes IPv4 connections too (no directive sets IPV6_V6ONLY)",
    programs: [
      {
        program: 'apache2',
        package: 'apache2',
        versionArgs: ['-v'],
        minVersion: '2.4.30',
        why: 'mod_proxy_uwsgi is part of httpd from 2.4.30; ProxyPass retry=0 and flushpackets as the generated site uses them',
      },
    ],
    distro: {
      service: 'apache2',
      sitesEnabled: '/etc/apache2/sites-enabled',
      defaultSite: '/etc/apache2/sites-enabled/000-default.conf',
      // The worker user: APACHE_RUN_USER in Debian's envvars (apache2.conf says User ${APACHE_RUN_USER}).
      mainConfig: '/etc/apache2/envvars',
      configTest: ['apache2ctl', 'configtest'],
      pidFile: '/run/apache2/apache2.pid',
      errorLog: '/var/log/apache2/error.log',
      siteFile: 'apacheSite',
      workerUserOf: apacheUserOf,
      claimsDefaultServer: apacheClaimsPort,
      sitesAvailable: {
        dir: '/etc/apache2/sites-available',
        enable: ['a2ensite', '-q'],
        disable: ['a2dissite', '-q'],
      },
      modules: {
        enabledDir: '/etc/apache2/mods-enabled',
        enable: ['a2enmod', '-q'],
        disable: ['a2dismod', '-q', '-f'],
        // Seen on verify --target machine (2.4.71): after `a2enmod cgid` and a graceful reload
        // every CGI request was a 503 (AH01257 "unable to connect to cgi daemon"): the cgid
        // daemon is started only when the master starts, not on a graceful restart.
        restartWhenEnabled: {
          modules: ['cgid'],
          why: "mod_cgid's daemon starts only with Apache's master: a reload after `a2enmod cgid` leaves every CGI request a 503 (AH01257), so install restarts apache2 once when it enables cgid",
        },
      },
      // Debian's ports.conf says `Listen 80` (every address, both families): a site that says
      // it again fails ("Cannot define multiple Listeners on the same IP:port").
      listensAlready: [80],
      unit: 'apache2.service',
    },
  },
  none: {
    name: 'none',
    title: 'no proxy',
    protocolWarnings: {},
    process: null,
    backendReadmit: null,
    cgiBridge: null,
    protocols: ['http'],
    buffering: false,
    buffersResponses: false,
    tlsRefusal:
      'there is no proxy to terminate TLS: the app server faces clients over plain HTTP; use proxy.kind nginx',
    acme: {
      refusal: 'there is no proxy to serve the ACME challenge or the certificate: use proxy.kind nginx',
    },
    tlsKeyReader: 'root',
    compresses: false,
    compressesStatic: false,
    websockets: true,
    forwardedFromConnection: false,
    programs: [],
    distro: null,
  },
};

export const PROTOCOLS: Record<Protocol, ProtocolEntry> = {
  http: {
    name: 'http',
    title: 'HTTP/1.1',
    keepalive: true,
    cgiStyle: false,
    nginx: { pass: 'proxy_pass', params: null, prefix: 'proxy', schemeParam: null },
    why: 'the app server speaks HTTP itself; the proxy adds X-Forwarded-* headers',
  },
  uwsgi: {
    name: 'uwsgi',
    title: 'uwsgi',
    keepalive: false,
    cgiStyle: true,
    nginx: { pass: 'uwsgi_pass', params: 'uwsgi_params', prefix: 'uwsgi', schemeParam: 'UWSGI_SCHEME' },
    why: "uWSGI's native binary protocol: CGI variables in one packet, cheaper to parse than HTTP",
  },
  fastcgi: {
    name: 'fastcgi',
    title: 'FastCGI',
    keepalive: true,
    cgiStyle: true,
    nginx: { pass: 'fastcgi_pass', params: 'fastcgi_params', prefix: 'fastcgi', schemeParam: null },
    why: 'FastCGI records carry CGI variables and the body over a persistent socket',
  },
  scgi: {
    name: 'scgi',
    title: 'SCGI',
    keepalive: false,
    cgiStyle: true,
    nginx: { pass: 'scgi_pass', params: 'scgi_params', prefix: 'scgi', schemeParam: null },
    why: 'SCGI sends CGI variables as one netstring, then the body',
  },
  cgi: {
    name: 'cgi',
    title: 'CGI',
    keepalive: false,
    cgiStyle: true,
    // nginx reaches CGI scripts through fcgiwrap, so its hop is FastCGI.
    nginx: { pass: 'fastcgi_pass', params: 'fastcgi_params', prefix: 'fastcgi', schemeParam: null },
    why: 'RFC 3875: a new process per request, variables in its environment, body on stdin',
  },
  // mod_wsgi's daemon mode: Apache's child hands the request to a daemon process of the
  // stack's (WSGIDaemonProcess) over a unix socket mod_wsgi makes and names itself; the
  // variables become the WSGI environ there. Nothing of the stack's listens.
  mod_wsgi: {
    name: 'mod_wsgi',
    title: 'mod_wsgi daemon socket',
    keepalive: false,
    cgiStyle: true,
    nginx: null,
    why: "mod_wsgi's own socket from an Apache child to the stack's daemon processes: the request's CGI variables and body, one connection per request",
  },
};

export const MANAGERS: Record<Manager, ManagerEntry> = {
  systemd: {
    name: 'systemd',
    title: 'systemd',
    programs: [
      {
        program: 'systemd-analyze',
        package: 'systemd',
        versionArgs: ['--version'],
        minVersion: '250',
        why: '`systemd-analyze security --offline` needs systemd 250',
      },
    ],
    distro: null,
    // Not LoadCredential=: systemd reads a credential once, at start (Debian 12's systemd 252
    // refreshes none on reload), so SIGHUP would re-read the old key after a renewal.
    privateCopies: {
      how: 'ExecStartPre=+ and ExecReload=+ (the + runs them as root) copy the files before the start and before every SIGHUP',
    },
  },
  supervisor: {
    name: 'supervisor',
    title: 'Supervisor',
    programs: [
      {
        program: 'supervisord',
        package: 'supervisor',
        versionArgs: ['--version'],
        minVersion: '4.0.0',
        why: 'stopasgroup/killasgroup as used in the generated programs',
      },
    ],
    distro: { service: 'supervisor', includeDir: '/etc/supervisor/conf.d' },
    privateCopies: {
      refusal:
        'supervisor runs nothing as root when it signals a program (`supervisorctl signal HUP`), so a renewed certificate would reach the gateway only through a restart that refuses connections meanwhile: use processes.manager systemd, or proxy.kind nginx (its master reads the key as root on every reload)',
    },
  },
  none: {
    name: 'none',
    title: 'no process manager',
    programs: [],
    distro: null,
    privateCopies: null,
  },
};

/** fcgiwrap: the FastCGI-to-CGI bridge a proxy without CGI (nginx) needs to run CGI scripts. */
export const FCGIWRAP = {
  program: 'fcgiwrap',
  package: 'fcgiwrap',
  versionArgs: ['-h'],
  minVersion: '0',
  why: 'nginx has no CGI support; fcgiwrap runs the script per request behind fastcgi_pass',
} as const;

/** fcgiwrap's process. */
export const FCGIWRAP_PROCESS: ProcessEntry = {
  stop: { signal: 'SIGTERM', why: 'fcgiwrap exits on SIGTERM' },
  reload: null,
  systemdType: 'exec',
  stopGraceSeconds: 10,
  managed: true,
  why: FCGIWRAP.why,
};

/** Does this stack run CGI scripts through a bridge (fcgiwrap) in front of its proxy? */
export function needsCgiBridge(server: ServerName, proxy: ProxyKind): boolean {
  return SERVERS[server].processModel === 'process-per-request' && PROXIES[proxy].cgiBridge !== null;
}

/** The proxy kinds the distribution runs as its own service (install links a site into them). */
export const DISTRO_PROXIES = (Object.keys(PROXIES) as ProxyKind[]).filter((k) => PROXIES[k].distro !== null);

/**
 * The distribution proxies an install touched, from its manifest's step ids (every step
 * for a distribution proxy is named `<kind>-…`).
 */
export function touchedDistroProxies(stepIds: readonly string[]): ProxyEntry[] {
  return DISTRO_PROXIES.filter((k) => stepIds.some((id) => id.startsWith(`${k}-`))).map((k) => PROXIES[k]);
}
