// The stack.yaml schema: exactly what a user may write, each field with a description and
// a default. The JSON Schema (`stackgen schema`, schema/stack.schema.json) and the README's
// stack.yaml reference are both generated from this file.

import { z } from 'zod';
import { DEFAULT_PROXY } from '../topology/catalog/names.js';
import { CIDR_MESSAGE, isCidr } from './cidr.js';
import { CONCURRENCY, FRAMEWORKS, INTERFACES, MANAGERS, PROTOCOLS, PROXY_KINDS, SERVERS } from './enums.js';

export * from './enums.js';

/** nginx size syntax: 1048576, 512k, 10m, 1g (0 = unlimited). */
const SIZE = /^\d+[kKmMgG]?$/;
/** nginx time syntax: 500ms, 60s, 5m, 1h or bare seconds. */
const DURATION = /^\d+(ms|s|m|h)?$/;
/** `port`, `host:port` or `[v6]:port`: one listen address of the front. */
const listenAddress = z
  .string()
  .regex(/^((\[[0-9a-fA-F:]+\]|[0-9.]+|[a-z0-9.-]+):)?\d{1,5}$/, 'host:port, [v6]:port or port');
const NAME = /^[a-z][a-z0-9-]{0,39}$/;
/** What useradd/groupadd accept on Debian (NAME_REGEX, without the trailing $ of machine accounts). */
const ACCOUNT = /^[a-z_][a-z0-9_-]{0,31}$/;
/** RFC 9110 §5.6.2 token: what a method or a header field name may be. */
const METHOD_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_NAME = METHOD_TOKEN;
/** A field value without CR, LF or NUL (RFC 9110 §5.5). */
const HEADER_VALUE = /^[^\r\n\0]*$/;

const workerCount = z
  .union([z.literal('auto'), z.number().int().min(1).max(512)])
  .describe('A number, or `auto` to size from the CPU count by the rule of the concurrency model.');

const staticTarget = z.union([
  z.string().min(1),
  z
    .strictObject({
      dir: z.string().min(1).describe('Directory relative to root.'),
      immutable: z
        .boolean()
        .default(false)
        .describe(
          'Every file name carries a hash of its content (Django ManifestStaticFilesStorage, Flask-Assets, webpack `[contenthash]`): answers say `Cache-Control: public, max-age=31536000, immutable`, so browsers never ask again. Wrong for files whose content changes under the same name.',
        ),
    })
    .describe('A static directory with options.'),
]);

const appSchema = z
  .strictObject({
    framework: z
      .enum(FRAMEWORKS)
      .describe('What the app is written with; decides the interface (WSGI/ASGI/…).'),
    interface: z
      .enum(INTERFACES)
      .optional()
      .describe(
        'The interface the server calls. Defaults from the framework; set `asgi` for a Django ASGI app or `wsgi` to serve a Flask app inside tornado.',
      ),
    entry: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Entry point: `module:callable` (e.g. `app:app`, `mysite.wsgi:application`); a WSGI file defining `application` (`hgweb.wsgi`, as mod_wsgi takes it), relative to root; for `cgi` a script path relative to root; for `php` the front controller relative to root (`index.php`: every path that names no .php script runs it). Defaults per framework.',
      ),
    root: z
      .string()
      .default('.')
      .describe(
        "Directory holding the app code (working directory and import path; for `php` the document root, as Laravel's and Symfony's `public/`); relative to stack.yaml.",
      ),
    mount: z
      .string()
      .regex(/^\/$|^(\/[A-Za-z0-9._~-]+)+$/, 'a path like /hg: starting with /, no trailing /')
      .refine((m) => !m.split('/').some((seg) => seg === '.' || seg === '..'), 'no . or .. segments')
      .default('/')
      .describe(
        'URL prefix the app is mounted under (`/hg`): the proxy sends it only requests for `/hg/…`, with SCRIPT_NAME `/hg` and PATH_INFO the rest, so the links the app builds keep the prefix; every other path is a 404 from the proxy (`/hg` itself: a 301 to `/hg/`). Over HTTP the app server splits the path itself: gunicorn (WSGI), waitress and the http-socket of uWSGI (mount + manage-script-name) can; uvicorn, tornado and uvicorn workers under gunicorn are refused. Needs a proxy. app.static, proxy.unbuffered and checks stay absolute URLs (`/hg/static/`, not `/static/` relative to the mount).',
      ),
    static: z
      .record(z.string().regex(/^\/([^\s]*\/)?$/, 'a URL prefix like /static/'), staticTarget)
      .default({})
      .describe(
        'Static files served by the proxy, not the app: URL prefix (ending in /) → directory relative to root, or `{dir, immutable}`. The directory is published as it is: it must hold only public files — not the app root or a directory above it, not the package the entry imports, not a dot-directory (`.git`); files whose names start with a dot are never served.',
      ),
    python: z
      .string()
      .default('/usr/bin/python3')
      .describe(
        'Python interpreter for servers started through Python (Debian packages live under /usr/bin/python3).',
      ),
    venv: z
      .string()
      .optional()
      .describe(
        'A virtualenv directory (relative to stack.yaml, as app.root); when set its bin/python is used and uWSGI gets `virtualenv =`.',
      ),
    websockets: z
      .boolean()
      .default(false)
      .describe(
        'The app serves WebSockets: needs an ASGI or tornado app and a proxy that upgrades connections.',
      ),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string())
      .default({})
      .describe(
        'Non-secret environment variables for the app server processes (e.g. DJANGO_SETTINGS_MODULE); they are written into the unit or program file, which anyone may read. Secrets go in `env_file`.',
      ),
    env_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A file of secrets (`KEY=value` lines, `#` comments, values taken literally), absolute or relative to stack.yaml, owned by root and mode 600: the process manager reads it as root when the app starts (systemd EnvironmentFile=; under supervisor a generated wrapper reads it before dropping to the app user). Never copied into a generated file; `stackgen install` refuses it when it is readable by group or others.',
      ),
    writable: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Directories the app writes (a SQLite database, media, uploads, a repository or data folder), relative to root: `stackgen install` creates them owned by the app user, and they are the only places outside its runtime directory and /tmp the hardened unit may write (ReadWritePaths=).',
      ),
  })
  .describe('The Python application.');

const serveSchema = z
  .strictObject({
    server: z
      .enum(SERVERS)
      .optional()
      .describe(
        'The app server. Defaults from the framework: WSGI frameworks → gunicorn, ASGI → gunicorn with uvicorn workers (gunicorn respawns a dead worker and reloads on SIGHUP); uvicorn alone runs one process per port (never its own --workers, which neither respawns nor reloads), tornado → tornado, cgi → cgi, php → php-fpm (a pool of its own, reached over FastCGI). `mod_wsgi` runs a WSGI app inside Apache (proxy.kind apache): daemon processes Apache forks as the app’s account, no unit of the stack’s.',
      ),
    concurrency: z
      .enum(CONCURRENCY)
      .optional()
      .describe('Concurrency model inside the app server. Defaults to what the server does best.'),
    workers: workerCount
      .default('auto')
      .describe('Worker processes (`auto`: prefork 2×cores+1, async = cores, threads = cores).'),
    threads: workerCount
      .default('auto')
      .describe('Threads per worker for the `threads` model (`auto`: 4); ignored otherwise.'),
    connections: z
      .number()
      .int()
      .min(1)
      .max(100000)
      .default(1000)
      .describe('Greenlets/connections per worker for `gevent` and `async`.'),
    max_requests: z
      .number()
      .int()
      .min(0)
      .default(1000)
      .describe('Recycle a worker after this many requests (0 = never); bounds slow memory leaks.'),
    timeout: z
      .number()
      .int()
      .min(1)
      .default(60)
      .describe(
        'Seconds a single request may run before the worker is killed (uWSGI harakiri, gunicorn timeout; gunicorn gthread/gevent/uvicorn workers, uvicorn, tornado and waitress have no per-request kill). The proxy read timeout defaults to this + 5 s.',
      ),
    host: z
      .string()
      .default('127.0.0.1')
      .describe(
        'Address the app server binds when it speaks TCP. Keep it on loopback: a uwsgi/FastCGI/SCGI socket on a public address runs code for anyone who reaches it.',
      ),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(8000)
      .describe('First loopback TCP port for app servers that speak TCP (tornado uses port, port+1, …).'),
    socket: z
      .enum(['unix', 'tcp'])
      .optional()
      .describe(
        'How the proxy reaches the app server: a unix socket (default for uwsgi/fastcgi/scgi and gunicorn) or loopback TCP (servers that run one process per port — uvicorn, waitress, tornado — always use loopback ports).',
      ),
  })
  .describe('The app server.');

const timeoutsSchema = z
  .strictObject({
    connect: z.string().regex(DURATION).default('5s').describe('Time to connect to the app server.'),
    read: z
      .string()
      .regex(DURATION)
      .optional()
      .describe(
        "Time between two reads from the app server (gateway/nginx → 504 after). Default: serve.timeout + 5 s, so the app server's own per-request kill answers first; set by hand it must exceed serve.timeout by at least 3 s.",
      ),
    send: z.string().regex(DURATION).default('60s').describe('Time between two writes to the app server.'),
    client_header: z
      .string()
      .regex(DURATION)
      .default('10s')
      .describe('Time for a client to send the whole request head (slowloris guard).'),
    client_body: z
      .string()
      .regex(DURATION)
      .default('30s')
      .describe('Time between two reads of the request body from the client.'),
    keepalive: z
      .string()
      .regex(DURATION)
      .default('65s')
      .describe('Idle keep-alive connection lifetime on the client side.'),
  })
  .describe('Proxy timeouts (nginx time syntax: 500ms, 60s, 5m).');

/** Let's Encrypt's production ACME directory (RFC 8555 §7.1.1). */
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

const hstsSchema = z
  .union([
    z.literal('off'),
    z.strictObject({
      max_age: z
        .number()
        .int()
        .min(0)
        .default(63072000)
        .describe(
          'Seconds a browser keeps to https only for this host (default two years, as Mozilla advises).',
        ),
      include_subdomains: z
        .boolean()
        .default(false)
        .describe('Also every subdomain (includeSubDomains): only when every one of them serves https.'),
      preload: z
        .boolean()
        .default(false)
        .describe(
          "Ask to be on the browsers' preload list (hstspreload.org): hard to undo; needs include_subdomains and max_age ≥ 31536000.",
        ),
    }),
  ])
  .default({ max_age: 63072000, include_subdomains: false, preload: false })
  .describe('Strict-Transport-Security on https answers (never on http ones), or `off`.');

/** The options every TLS form shares. */
const tlsOptions = {
  listen: z
    .union([listenAddress, z.array(listenAddress).min(1)])
    .default(['443', '[::]:443'])
    .describe('Where clients connect with TLS, as proxy.listen: the default is 443 on IPv4 and IPv6.'),
  redirect_http: z
    .boolean()
    .default(true)
    .describe(
      'The proxy.listen (http) addresses answer 301 to the same path and query on https, except /.well-known/acme-challenge/ (served from the ACME webroot). false: they serve the app over plain http too.',
    ),
  hsts: hstsSchema,
  http2: z.boolean().default(true).describe('Offer HTTP/2 on the TLS listeners (ALPN h2).'),
};

const tlsSchema = z
  .union([
    z.literal('off'),
    z
      .strictObject({
        cert: z
          .string()
          .min(1)
          .describe(
            'Certificate file (PEM), absolute or relative to stack.yaml: the leaf first, then the intermediates (a fullchain.pem).',
          ),
        key: z
          .string()
          .min(1)
          .describe(
            'Its private key (PEM): owned by root, readable by nobody else (mode 600 or 640 root:ssl-cert).',
          ),
        ...tlsOptions,
      })
      .describe('Certificate files you have.'),
    z
      .strictObject({
        acme: z.strictObject({
          email: z.string().email().describe('Account e-mail the CA writes to about expiry and problems.'),
          directory: z
            .string()
            .url()
            .default(LETS_ENCRYPT_DIRECTORY)
            .describe("The ACME directory URL (RFC 8555): Let's Encrypt's by default."),
        }),
        ...tlsOptions,
      })
      .describe(
        "Certificates obtained and renewed over ACME HTTP-01 by certbot (Debian's, webroot plugin, renewed by certbot.timer; a deploy hook reloads the front): proxy.kind nginx, or gateway under processes.manager systemd; real names in proxy.server_name, port 80 in proxy.listen.",
      ),
  ])
  .default('off')
  .describe(
    'HTTPS at the proxy: `off`, certificate files `{cert, key}`, or `{acme: {email}}`; with options.',
  );

const proxySchema = z
  .strictObject({
    kind: z
      .enum(PROXY_KINDS)
      .default(DEFAULT_PROXY)
      .describe(
        "The front server: nginx, the stackgen gateway, lighttpd (its own unit; FastCGI, SCGI or HTTP to the app server), apache (Debian's apache2.service, event MPM; HTTP, uwsgi, SCGI or FastCGI to the app server, CGI scripts through mod_cgid, a WSGI app in mod_wsgi's daemon mode), or none (the app server faces clients).",
      ),
    protocol: z
      .enum(PROTOCOLS)
      .optional()
      .describe(
        'Wire protocol from the proxy to the app server. Defaults from the server (uwsgi → uwsgi, gunicorn → http, mod_wsgi → mod_wsgi: its own socket from Apache’s children to its daemons, …).',
      ),
    listen: z
      .union([listenAddress, z.array(listenAddress).min(1)])
      .default(['80', '[::]:80'])
      .describe(
        'Where clients connect: `port`, `host:port` or `[v6]:port`, or a list of them (one nginx `listen` line, one gateway listener each). A bare port is IPv4 only (nginx `listen 80`); the default listens on IPv4 and IPv6.',
      ),
    server_name: z.string().default('_').describe('nginx server_name; `_` matches any host.'),
    tls: tlsSchema,
    user: z
      .string()
      .default('www-data')
      .describe('User the proxy workers run as; it must be able to open the app socket.'),
    max_body: z
      .string()
      .regex(SIZE, 'nginx size syntax: 512k, 10m, 1g')
      .default('10m')
      .describe('Largest request body (nginx client_max_body_size); larger → 413.'),
    timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
    security_headers: z
      .boolean()
      .default(true)
      .describe(
        'Add X-Content-Type-Options, X-Frame-Options and Referrer-Policy to every response the app did not set them on.',
      ),
    trusted_proxies: z
      .array(z.string().refine(isCidr, CIDR_MESSAGE))
      .default([])
      .describe(
        'Load balancers in front of the proxy (CIDRs). Only a connection from one of them may set the client address (X-Forwarded-For) and scheme (X-Forwarded-Proto); empty: the proxy is the edge and believes no client.',
      ),
    unbuffered: z
      .array(z.string().regex(/^\/([^\s{};]*\/)?$/, 'a URL prefix like /events/'))
      .default([])
      .describe(
        'URL prefixes whose responses pass to the client as the app writes them (Server-Sent Events, long polling, progress output): nginx renders a `location` for each with `proxy_buffering off` (uwsgi_/fastcgi_/scgi_buffering for those protocols), and request bodies stay buffered. ASGI and tornado apps are never buffered; for a WSGI app every path not listed is buffered so a sync worker is free as soon as the app returns — an unbuffered path holds its worker until the slowest client has read the last byte. The gateway never buffers responses. An app can also opt out per response with `X-Accel-Buffering: no`.',
      ),
  })
  .describe('The proxy in front of the app server.');

const processesSchema = z
  .strictObject({
    manager: z.enum(MANAGERS).default('systemd').describe('What starts, stops and restarts the processes.'),
    user: z
      .string()
      .regex(ACCOUNT, 'a system account name: lowercase letters, digits, _ and -')
      .optional()
      .describe(
        "User the app's processes run as. Defaults to the stack's name: a system user of its own that `stackgen install` creates, never the proxy's user (with a shared user, one service's RemoveIPC= and kill-on-stop reach the other's processes, and a hole in the app is a hole in the proxy).",
      ),
    group: z
      .string()
      .regex(ACCOUNT, 'a system group name: lowercase letters, digits, _ and -')
      .optional()
      .describe(
        "Group of the app's processes and of its socket (mode 660). Defaults to the stack's name; `stackgen install` creates it and adds the proxy's user to it, so the proxy reaches the socket through this group and nothing else does.",
      ),
  })
  .describe('Process management.');

const checkSchema = z
  .strictObject({
    name: z.string().optional().describe('A label for reports.'),
    path: z.string().regex(/^\//, 'a path starting with /').describe('Request path (with query).'),
    method: z
      .string()
      .regex(METHOD_TOKEN, 'an HTTP method token (RFC 9110 §9.1): GET, POST, PROPFIND, MKCALENDAR, …')
      .default('GET')
      .describe('HTTP method: any RFC 9110 token (GET, POST, PROPFIND, REPORT, MKCALENDAR, …).'),
    request_headers: z
      .record(z.string().regex(HEADER_NAME, 'a header field name (a token)'), z.string().regex(HEADER_VALUE))
      .default({})
      .describe('Request headers to send (name → value), e.g. Depth, Content-Type, If-Match.'),
    body: z.string().optional().describe('Request body to send.'),
    status: z.number().int().min(100).max(599).default(200).describe('Expected status code.'),
    body_contains: z.string().optional().describe('The response body must contain this text.'),
    body_matches: z.string().optional().describe('The response body must match this regular expression.'),
    headers: z
      .record(z.string(), z.string())
      .default({})
      .describe('Response headers that must match (name → regular expression).'),
  })
  .describe('A user-defined probe that `stackgen verify` sends through every path.');

/** A broker URL stackgen may write into a unit: a scheme Celery (kombu) takes, and no password. */
const BROKER_URL = /^(redis|rediss|redis\+socket|amqp|amqps|sqs):\/\/[^\s@]*$/;

const tasksSchema = z
  .strictObject({
    app: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$/, 'module:attribute, e.g. tasks:celery')
      .describe(
        "The Celery app, `module:attribute` (`tasks:celery`, `mysite.celery:app`), imported from app.root with the app's interpreter and environment (`python -m celery -A …`). Its tasks run in the workers; the web app sends them (`.delay()`) to the broker.",
      ),
    broker: z
      .union([
        z.literal('redis'),
        z.literal('env'),
        z
          .string()
          .regex(
            BROKER_URL,
            'redis://, rediss://, amqp://, amqps:// or sqs:// without a password (put a URL with one in app.env_file and write `env`)',
          ),
      ])
      .default('redis')
      .describe(
        "`redis` (default): a Redis of the stack's own (Debian's redis-server binary run as the app's account, listening on a unix socket in its own runtime directory, no TCP port), started before the app server and the workers; `env`: an existing broker whose URL is app.env_file's CELERY_BROKER_URL (and CELERY_RESULT_BACKEND), so a password stays out of every generated file; or such a URL without a password.",
      ),
    concurrency: workerCount
      .default('auto')
      .describe(
        'Worker processes of the prefork pool (`auto`: one per core — a task is CPU or blocking I/O work taken out of the request, and Celery itself defaults to the CPU count).',
      ),
    time_limit: z
      .number()
      .int()
      .min(1)
      .max(86400)
      .default(300)
      .describe(
        "Seconds a task may run before its pool process is killed (Celery's hard --time-limit; the soft limit, an exception the task can catch, comes 10% earlier). A stop waits this long + a margin for running tasks before SIGKILL (systemd TimeoutStopSec=, supervisor stopwaitsecs).",
      ),
    beat: z
      .boolean()
      .default(false)
      .describe(
        "Run Celery beat, the scheduler of periodic tasks: exactly one instance (two would send every periodic task twice), its schedule file in its unit's state directory.",
      ),
  })
  .describe('Background work: Celery workers (and beat) for the app, with their broker.');

export const stackSpecSchema = z
  .strictObject({
    name: z
      .string()
      .regex(NAME, 'lowercase letters, digits and -, starting with a letter; at most 40 characters')
      .default('app')
      .describe('Stack name: used for unit, socket and file names.'),
    app: appSchema,
    serve: serveSchema.default(serveSchema.parse({})),
    proxy: proxySchema.default(proxySchema.parse({})),
    processes: processesSchema.default(processesSchema.parse({})),
    tasks: tasksSchema
      .optional()
      .describe(
        'Background work that must not run inside a request: Celery workers (and beat) for the app, and their broker.',
      ),
    checks: z
      .array(checkSchema)
      .default([])
      .describe('Your own probes, run by `stackgen verify` on every path.'),
  })
  .describe('A stackgen stack description (stack.yaml).');

export type StackSpecInput = z.input<typeof stackSpecSchema>;
export type StackSpec = z.output<typeof stackSpecSchema>;
export type UserCheck = StackSpec['checks'][number];
export type TasksSpec = NonNullable<StackSpec['tasks']>;
/** proxy.tls when it is on: certificate files or ACME, with the shared options. */
export type TlsOn = Exclude<StackSpec['proxy']['tls'], 'off'>;

/** The JSON Schema for editors (committed as schema/stack.schema.json). */
export function stackJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(stackSpecSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
