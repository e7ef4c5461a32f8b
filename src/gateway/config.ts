// The gateway configuration: one zod schema for the YAML file (as `stackgen render` emits
// it for proxy kind `gateway`) and for the flag form (`--listen … --upstream …`), both
// normalised into one GatewayConfig of plain numbers and parsed addresses. Pure: the only
// I/O is loadGatewayConfigFile, which reads the file and hands the text to the parser.

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { StackgenError } from '../errors.js';
import { CIDR_MESSAGE, isCidr } from '../stack/cidr.js';
import { loadYaml } from '../stack/load.js';
import type { ScriptRoot } from './cgi-env.js';
import type { UpstreamScheme, UpstreamTarget } from './transport.js';

/** Where the front listens: a TCP host:port or a unix socket path. */
export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface StaticLocation {
  kind: 'static';
  /** URL prefix, matched as an nginx prefix location. */
  path: string;
  root: string;
  followSymlinks: boolean;
  /** Cache-Control max-age in milliseconds; null = no Cache-Control header. */
  expiresMs: number | null;
  /** Hashed file names: a year's `public, max-age=31536000, immutable` instead of expiresMs. */
  immutable: boolean;
  index: string;
}

export interface UpstreamLocation {
  kind: 'upstream';
  path: string;
  /** One or more backends of one scheme, used round robin. */
  upstreams: UpstreamTarget[];
  scriptName: string;
  documentRoot: string;
  websocket: boolean;
}

export type GatewayLocation = StaticLocation | UpstreamLocation;

export interface GatewayTimeouts {
  clientHeaderMs: number;
  clientBodyMs: number;
  keepaliveMs: number;
  connectMs: number;
  readMs: number;
  sendMs: number;
  shutdownMs: number;
}

export type AccessLogTarget = { kind: 'stdout' } | { kind: 'off' } | { kind: 'file'; path: string };

/** RFC 6797 Strict-Transport-Security, sent on https answers only. */
export interface HstsPolicy {
  maxAgeSeconds: number;
  includeSubdomains: boolean;
  preload: boolean;
}

/** The gateway terminating TLS itself (tls.ts): the same keys as stack.yaml `proxy.tls`. */
export interface GatewayTls {
  /** PEM certificate (chain: leaf first), re-read on SIGHUP so a renewed one is served. */
  certFile: string;
  /** PEM private key matching certFile. */
  keyFile: string;
  listen: ListenAddress[];
  /** The plain `listen` addresses answer 301 to https (except the ACME challenge path). */
  redirectHttp: boolean;
  /** null: no Strict-Transport-Security header (hsts: off). */
  hsts: HstsPolicy | null;
  /** Offer HTTP/2 by ALPN next to HTTP/1.1. */
  http2: boolean;
}

/** The normalised gateway configuration every other gateway module reads. */
export interface GatewayConfig {
  /** The config file it came from (null for the flag form); SIGHUP re-reads it. */
  source: string | null;
  listen: ListenAddress[];
  serverName: string;
  /** Host names answered (lower case, no port); a request naming another Host gets 421. Empty: every Host. */
  hosts: string[];
  workers: number | 'auto';
  /** 0 = unlimited. */
  maxBodyBytes: number;
  maxHeaderBytes: number;
  timeouts: GatewayTimeouts;
  accessLog: AccessLogTarget;
  securityHeaders: Array<[string, string]>;
  /** Compress the app's text answers for clients that accept gzip (gzip.ts; nginx gzip on). */
  gzip: boolean;
  /** Load balancers (CIDRs) whose X-Forwarded-For/-Proto name the client; empty: nobody's. */
  trustedProxies: string[];
  locations: GatewayLocation[];
  /** TLS listeners; null: plain HTTP only. */
  tls: GatewayTls | null;
}

// ---------------------------------------------------------------------------------------
// Scalar syntaxes (nginx's, so a value copied from an nginx.conf means the same here)

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** nginx size syntax (`1024`, `512k`, `10m`, `1g`) → bytes, or null when malformed. */
export function parseSize(value: string | number): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  const m = /^(\d+)([kKmMgG]?)$/.exec(value.trim());
  if (!m) return null;
  const bytes = Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? 1);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * nginx time syntax → milliseconds, or null when malformed. A bare number means seconds
 * (as in nginx), and parts may be combined: `1m 30s`, `1h30m`.
 */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const m = /^(\d+)(ms|s|m|h|d)\s*/.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1000);
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** `host:port`, `[::1]:port`, `:port` (all interfaces) or `unix:/path` → a ListenAddress. */
export function parseListenAddress(value: string): ListenAddress | string {
  if (value.startsWith('unix:')) {
    const path = value.slice(5);
    return isAbsolute(path) ? { kind: 'unix', path } : `unix socket path must be absolute: ${value}`;
  }
  const hostPort = parseHostPort(value);
  if (typeof hostPort === 'string') return hostPort;
  return { kind: 'tcp', host: hostPort.host === '' ? '0.0.0.0' : hostPort.host, port: hostPort.port };
}

function parseHostPort(value: string): { host: string; port: number } | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/\s]*)):(\d{1,5})$/.exec(value);
  if (!m) return `expected host:port, [ipv6]:port or unix:/path, got "${value}"`;
  const port = Number(m[3]);
  if (port > 65535) return `port out of range in "${value}"`;
  return { host: m[1] ?? m[2] ?? '', port };
}

const SCHEMES: readonly UpstreamScheme[] = ['http', 'uwsgi', 'fastcgi', 'scgi', 'cgi'];

/**
 * Upstream URL → UpstreamTarget. Forms: `scheme://host:port`, `scheme://unix:/path.sock`
 * (scheme = http | uwsgi | fastcgi | scgi), `cgi:/path/script[?interpreter=/usr/bin/python3]`,
 * and for a FastCGI backend that runs script files (php-fpm, fcgiwrap)
 * `fastcgi://…?root=/var/www/app[&index=index.php][&front=index.php]`: SCRIPT_FILENAME = root +
 * script path; with `front`, a path naming no script of the front's extension runs the front.
 * Returns a message string when the URL is not one of those.
 */
export function parseUpstreamUrl(value: string): UpstreamTarget | string {
  if (value.startsWith('cgi:')) {
    const [path = '', query] = value.slice(4).split('?', 2);
    if (!isAbsolute(path)) return `cgi script path must be absolute: "${value}"`;
    if (query === undefined) return { scheme: 'cgi', address: { kind: 'script', path } };
    const params = new URLSearchParams(query);
    const unknown = [...params.keys()].filter((k) => k !== 'interpreter');
    if (unknown.length > 0) return `unknown cgi option(s) ${unknown.join(', ')} in "${value}"`;
    const interpreter = params.get('interpreter') ?? undefined;
    if (interpreter !== undefined && !isAbsolute(interpreter))
      return `cgi interpreter must be an absolute path in "${value}"`;
    return { scheme: 'cgi', address: { kind: 'script', path, interpreter } };
  }
  const m = /^([a-z]+):\/\/(.*)$/.exec(value);
  const scheme = SCHEMES.find((s) => s === m?.[1]);
  if (!m || !scheme || scheme === 'cgi')
    return `expected http://, uwsgi://, fastcgi://, scgi:// or cgi:/path, got "${value}"`;
  const afterScheme = m[2] ?? '';
  const q = afterScheme.indexOf('?');
  const rest = q < 0 ? afterScheme : afterScheme.slice(0, q);
  const query = q < 0 ? undefined : afterScheme.slice(q + 1);
  const scriptRoot = query === undefined ? undefined : parseScriptRoot(scheme, query, value);
  if (typeof scriptRoot === 'string') return scriptRoot;
  const withRoot = scriptRoot === undefined ? {} : { scriptRoot };
  if (rest.startsWith('unix:')) {
    const path = rest.slice(5);
    if (!isAbsolute(path)) return `unix socket path must be absolute in "${value}"`;
    return { scheme, address: { kind: 'unix', path }, ...withRoot };
  }
  const hostPort = parseHostPort(rest.replace(/\/$/, ''));
  if (typeof hostPort === 'string' || hostPort.host === '')
    return `expected ${scheme}://host:port or ${scheme}://unix:/path, got "${value}"`;
  return { scheme, address: { kind: 'tcp', host: hostPort.host, port: hostPort.port }, ...withRoot };
}

/** nginx's usual `index index.php` for php-fpm, the FastCGI backend a script root is mostly for. */
const DEFAULT_SCRIPT_INDEX = 'index.php';

/** The `?root=/dir&index=name` of a fastcgi:// URL, or a message. */
function parseScriptRoot(scheme: UpstreamScheme, query: string, value: string): ScriptRoot | string {
  if (scheme !== 'fastcgi') return `only fastcgi:// upstreams take options (?root=), got "${value}"`;
  const params = new URLSearchParams(query);
  const unknown = [...params.keys()].filter((k) => k !== 'root' && k !== 'index' && k !== 'front');
  if (unknown.length > 0) return `unknown fastcgi option(s) ${unknown.join(', ')} in "${value}"`;
  const dir = params.get('root');
  if (dir === null || !isAbsolute(dir)) return `fastcgi ?root= must be an absolute directory in "${value}"`;
  const index = params.get('index') ?? DEFAULT_SCRIPT_INDEX;
  if (index === '' || index.includes('/')) return `fastcgi ?index= must be a file name in "${value}"`;
  const front = params.get('front') ?? undefined;
  if (front !== undefined && (front === '' || front.startsWith('/') || front.split('/').includes('..')))
    return `fastcgi ?front= must be a script path below the root in "${value}"`;
  return front === undefined ? { dir, index } : { dir, index, front };
}

// ---------------------------------------------------------------------------------------
// The schema: what the file may say, each field described, with its default.

const size = (what: string) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const bytes = parseSize(v);
    if (bytes === null) {
      ctx.addIssue({ code: 'custom', message: `${what}: expected a size like 1024, 512k, 10m or 1g` });
      return z.NEVER;
    }
    return bytes;
  });

const duration = (what: string) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `${what}: expected a duration like 500ms, 60s, 5m or 1h` });
      return z.NEVER;
    }
    return ms;
  });

const listenAddress = z.string().transform((v, ctx) => {
  const parsed = parseListenAddress(v);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const upstreamUrl = z.string().transform((v, ctx) => {
  const parsed = parseUpstreamUrl(v);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const timeoutsSchema = z
  .strictObject({
    client_header: duration('client_header')
      .default(60_000)
      .describe('The whole request head must arrive within this (slowloris guard; 408 otherwise).'),
    client_body: duration('client_body')
      .default(60_000)
      .describe('Longest pause between two reads of the request body (408 otherwise).'),
    keepalive: duration('keepalive').default(75_000).describe('How long an idle client connection is kept.'),
    connect: duration('connect').default(5_000).describe('Connecting to a backend (502 when exceeded).'),
    read: duration('read')
      .default(60_000)
      .describe('Longest pause between two reads from a backend (504 when exceeded).'),
    send: duration('send').default(60_000).describe('Longest pause between two writes to a backend.'),
    shutdown: duration('shutdown')
      .default(10_000)
      .describe('Grace period for in-flight requests on SIGTERM before connections are cut.'),
  })
  .describe('Timeouts, in nginx duration syntax (500ms, 60s, 5m, or a bare number of seconds).');

const staticSchema = z
  .strictObject({
    root: z.string().min(1).describe('Directory the files are served from (relative to the config file).'),
    follow_symlinks: z
      .boolean()
      .default(false)
      .describe('Serve symlinks that resolve outside root (off: such files answer 403).'),
    expires: z
      .union([z.literal('off'), duration('expires')])
      .default('off')
      .describe('Cache-Control max-age for served files, or off.'),
    index: z.string().min(1).default('index.html').describe('File served for a directory URL.'),
    immutable: z
      .boolean()
      .default(false)
      .describe(
        'File names carry content hashes: answer `Cache-Control: public, max-age=31536000, immutable` (expires is then ignored).',
      ),
  })
  .describe('Serve files from a directory. Names starting with a dot (.env, .git/) are never served (404).');

/** POSIX shell variable names, as app.env in stack.yaml. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The schemes whose backend program takes its environment from the gateway. */
const ENV_SCHEMES: ReadonlySet<UpstreamScheme> = new Set(['cgi', 'fastcgi']);

const locationSchema = z
  .strictObject({
    path: z
      .string()
      .regex(/^\/\S*$/, 'a URL prefix starting with /')
      .describe('URL prefix; the longest matching prefix wins (as nginx prefix locations).'),
    static: staticSchema.optional(),
    upstream: z
      .array(upstreamUrl)
      .min(1)
      .optional()
      .describe('Backends of one scheme (http://, uwsgi://, fastcgi://, scgi://, cgi:), used round robin.'),
    script_name: z
      .string()
      .regex(/^(\/\S*[^/])?$/, 'empty, or a path starting with / and not ending with /')
      .default('')
      .describe('Mount point passed as SCRIPT_NAME; PATH_INFO is the rest of the path.'),
    document_root: z
      .string()
      .optional()
      .describe('DOCUMENT_ROOT for the backend (default: config directory).'),
    websocket: z
      .boolean()
      .default(false)
      .describe('Allow Upgrade (WebSocket) tunnelling to the backend (http upstreams only).'),
    env: z
      .record(z.string().regex(ENV_NAME, 'an environment variable name'), z.string())
      .default({})
      .describe(
        "cgi and fastcgi upstreams: variables for the program (a CGI script's environment, FastCGI params as nginx fastcgi_param); they replace the CGI variables of the same name. A CGI script's PATH is /usr/local/bin:/usr/bin:/bin unless set here.",
      ),
  })
  .superRefine((loc, ctx) => {
    if ((loc.static === undefined) === (loc.upstream === undefined))
      ctx.addIssue({ code: 'custom', message: 'a location needs exactly one of static or upstream' });
    const schemes = new Set((loc.upstream ?? []).map((u) => u.scheme));
    if (schemes.size > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['upstream'],
        message: `all upstreams of a location must use one scheme, got ${[...schemes].join(', ')}`,
      });
    const envTaker = [...schemes].every((scheme) => ENV_SCHEMES.has(scheme));
    if (Object.keys(loc.env).length > 0 && (loc.upstream === undefined || !envTaker))
      ctx.addIssue({
        code: 'custom',
        path: ['env'],
        message: 'env reaches cgi: and fastcgi:// upstreams only (an app server has its own environment)',
      });
    if (loc.websocket && loc.upstream !== undefined && !schemes.has('http'))
      ctx.addIssue({
        code: 'custom',
        path: ['websocket'],
        message: 'websocket tunnelling needs http:// upstreams',
      });
  })
  .describe('One URL prefix: either static files or backends.');

/** Mozilla's and nginxconfig.io's HSTS max-age: two years (63072000 s). */
export const DEFAULT_HSTS_MAX_AGE = 63_072_000;

const hstsSchema = z
  .union([
    z.literal('off'),
    z.strictObject({
      max_age: z
        .number()
        .int()
        .min(0)
        .default(DEFAULT_HSTS_MAX_AGE)
        .describe(
          'max-age in seconds (default two years, as Mozilla recommends); 0 tells browsers to forget it.',
        ),
      include_subdomains: z
        .boolean()
        .default(false)
        .describe('Add includeSubDomains: every subdomain must then serve https too. Only when asked.'),
      preload: z
        .boolean()
        .default(false)
        .describe("Add preload (for the browsers' preload list; hard to undo). Only when asked."),
    }),
  ])
  .default({ max_age: DEFAULT_HSTS_MAX_AGE, include_subdomains: false, preload: false })
  .describe('Strict-Transport-Security on https answers (never on plain http, RFC 6797 §7.2), or off.');

const tlsSchema = z
  .strictObject({
    cert: z
      .string()
      .min(1)
      .describe('PEM certificate file, chain included (relative to the config file); re-read on SIGHUP.'),
    key: z.string().min(1).describe('PEM private key file of the certificate (relative to the config file).'),
    listen: z
      .array(listenAddress)
      .min(1)
      .default([{ kind: 'tcp', host: '0.0.0.0', port: 443 }])
      .describe('Addresses of the TLS listeners: host:port, [::1]:port or unix:/path (default :443).'),
    redirect_http: z
      .boolean()
      .default(true)
      .describe(
        'The plain `listen` addresses answer 301 to https://host/same/path?query, except /.well-known/acme-challenge/ (the ACME HTTP-01 path must stay on http).',
      ),
    hsts: hstsSchema,
    http2: z
      .boolean()
      .default(true)
      .describe('Offer HTTP/2 (ALPN h2) next to HTTP/1.1 on the TLS listeners.'),
  })
  .superRefine((tls, ctx) => {
    const first = tls.listen[0];
    if (tls.redirect_http && first?.kind === 'tcp' && first.port === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['listen'],
        message: 'redirect_http needs a fixed TLS port to redirect to (port 0 is picked at random)',
      });
  })
  .describe('Terminate TLS in the gateway (Mozilla intermediate profile, HTTP/2 by ALPN).');

/**
 * The request head the gateway takes by default: what the nginx stackgen renders accepts
 * (templates/nginx/site.conf.hbs: large_client_header_buffers 4 16k = 64 KiB in all), so a
 * cookie or token that passes one front passes the other (a test keeps the two in step).
 */
export const DEFAULT_MAX_HEADER_BYTES = 4 * 16 * 1024;

export const gatewayConfigSchema = z
  .strictObject({
    listen: z
      .array(listenAddress)
      .default([{ kind: 'tcp', host: '127.0.0.1', port: 8080 }])
      .describe(
        'Plain-HTTP addresses to listen on: host:port, [::1]:port or unix:/path ([] with tls: TLS only).',
      ),
    server_name: z
      .string()
      .min(1)
      .default('localhost')
      .describe('SERVER_NAME for backends, and the host used when a request has no Host header.'),
    hosts: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Host names this gateway answers for (as nginx server_name, without the port). A request naming another Host is answered 421 Misdirected Request (RFC 9110 §15.5.20) and never reaches a backend. Empty: every Host.',
      ),
    workers: z
      .union([z.literal('auto'), z.number().int().min(1).max(256)])
      .default(1)
      .describe(
        'Worker processes: a number, or auto for half the cores (at least 1): the app server on the same machine needs the rest.',
      ),
    max_body: size('max_body')
      .default(1024 ** 2)
      .describe('Request body limit (nginx size syntax); 0 = unlimited.'),
    max_header_size: size('max_header_size')
      .default(DEFAULT_MAX_HEADER_BYTES)
      .describe(
        'Limit on the whole request head (request line + headers); larger heads get 431. Default 64k: what the rendered nginx takes (large_client_header_buffers 4 16k).',
      ),
    timeouts: timeoutsSchema.default({
      client_header: 60_000,
      client_body: 60_000,
      keepalive: 75_000,
      connect: 5_000,
      read: 60_000,
      send: 60_000,
      shutdown: 10_000,
    }),
    access_log: z
      .string()
      .min(1)
      .default('stdout')
      .describe('stdout, off, or a file path (appended to; reopened on SIGHUP).'),
    security_headers: z
      .record(z.string().regex(/^[!#$%&'*+.^`|~0-9A-Za-z-]+$/, 'a header name'), z.string())
      .default({})
      .describe('Headers added to every response that does not already carry them.'),
    gzip: z
      .boolean()
      .default(true)
      .describe(
        "Compress the app's text answers on the fly for clients that accept gzip (as nginx gzip on, gzip_min_length 1024); false sends them as the app wrote them.",
      ),
    trusted_proxies: z
      .array(z.string().refine(isCidr, CIDR_MESSAGE))
      .default([])
      .describe(
        'Load balancers in front (CIDRs): a connection from one of them may name the client (X-Forwarded-For) and scheme (X-Forwarded-Proto); nobody else may.',
      ),
    locations: z.array(locationSchema).min(1).describe('URL prefixes and what serves them.'),
    tls: z
      .union([z.literal('off'), tlsSchema])
      .default('off')
      .describe('TLS listeners (cert and key files), or off: plain HTTP only.'),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.tls === 'off') {
      if (cfg.listen.length === 0)
        ctx.addIssue({
          code: 'custom',
          path: ['listen'],
          message: 'nothing to listen on: give an address, or tls',
        });
      return;
    }
    const plain = new Set(cfg.listen.map((a) => JSON.stringify(a)));
    for (const [i, a] of cfg.tls.listen.entries())
      if (plain.has(JSON.stringify(a)))
        ctx.addIssue({
          code: 'custom',
          path: ['tls', 'listen', i],
          message: 'this address is a plain listen address too: one address speaks one protocol',
        });
  })
  .describe('The stackgen gateway configuration.');

type ParsedConfig = z.output<typeof gatewayConfigSchema>;

/** Turn the schema's output into the GatewayConfig the gateway uses. */
function normalise(parsed: ParsedConfig, source: string | null, baseDir: string): GatewayConfig {
  const t = parsed.timeouts;
  const locations = parsed.locations.map((loc): GatewayLocation => {
    if (loc.static !== undefined)
      return {
        kind: 'static',
        path: loc.path,
        root: resolve(baseDir, loc.static.root),
        followSymlinks: loc.static.follow_symlinks,
        expiresMs: loc.static.expires === 'off' ? null : loc.static.expires,
        immutable: loc.static.immutable,
        index: loc.static.index,
      };
    const env = Object.entries(loc.env);
    return {
      kind: 'upstream',
      path: loc.path,
      upstreams: (loc.upstream ?? []).map((target) => (env.length === 0 ? target : { ...target, env })),
      scriptName: loc.script_name,
      documentRoot: resolve(baseDir, loc.document_root ?? '.'),
      websocket: loc.websocket,
    };
  });
  const log = parsed.access_log;
  return {
    source,
    listen: parsed.listen,
    serverName: parsed.server_name,
    hosts: parsed.hosts.map((h) => h.toLowerCase()),
    workers: parsed.workers,
    maxBodyBytes: parsed.max_body,
    maxHeaderBytes: parsed.max_header_size,
    timeouts: {
      clientHeaderMs: t.client_header,
      clientBodyMs: t.client_body,
      keepaliveMs: t.keepalive,
      connectMs: t.connect,
      readMs: t.read,
      sendMs: t.send,
      shutdownMs: t.shutdown,
    },
    accessLog:
      log === 'stdout'
        ? { kind: 'stdout' }
        : log === 'off'
          ? { kind: 'off' }
          : { kind: 'file', path: resolve(baseDir, log) },
    securityHeaders: Object.entries(parsed.security_headers),
    gzip: parsed.gzip,
    trustedProxies: parsed.trusted_proxies,
    locations,
    tls: parsed.tls === 'off' ? null : normaliseTls(parsed.tls, baseDir),
  };
}

function normaliseTls(tls: Exclude<ParsedConfig['tls'], 'off'>, baseDir: string): GatewayTls {
  return {
    certFile: resolve(baseDir, tls.cert),
    keyFile: resolve(baseDir, tls.key),
    listen: tls.listen,
    redirectHttp: tls.redirect_http,
    hsts:
      tls.hsts === 'off'
        ? null
        : {
            maxAgeSeconds: tls.hsts.max_age,
            includeSubdomains: tls.hsts.include_subdomains,
            preload: tls.hsts.preload,
          },
    http2: tls.http2,
  };
}

// ---------------------------------------------------------------------------------------
// The file form, with file:line:col in every message.

/** Parse the text of a gateway config file; `file` names it in messages and anchors relative paths. */
export function parseGatewayConfigText(text: string, file: string): GatewayConfig {
  // The stack spec's YAML loader: the same positions (and duplicate-key check) for both files.
  const loaded = loadYaml(text);
  const syntax = loaded.diagnostics.find((d) => d.severity === 'error');
  if (syntax) {
    const line = syntax.line ?? 1;
    const col = syntax.col ?? 1;
    throw new StackgenError('SG_ERR_GATEWAY_CONFIG', `${file}:${line}:${col}: ${syntax.message}`, {
      hint: syntax.hint ?? 'fix the YAML syntax',
      details: { file, line, col },
    });
  }
  const result = gatewayConfigSchema.safeParse(loaded.value ?? {});
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      // An unknown key is pointed at where it is written, anything else at its value.
      const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      const { line, col } = loaded.locate(
        unknownKey === undefined ? path : [...path, unknownKey],
        unknownKey !== undefined,
      ) ?? {
        line: 1,
        col: 1,
      };
      const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      return `${file}:${line}:${col}: ${where}${issue.message}`;
    });
    throw new StackgenError('SG_ERR_GATEWAY_CONFIG', messages.join('\n'), {
      hint: 'see the gateway config reference in the README',
      cause: result.error,
      details: { file, issues: messages },
    });
  }
  return normalise(result.data, file, dirname(resolve(file)));
}

/** Read and parse a gateway config file (the shell around parseGatewayConfigText). */
export async function loadGatewayConfigFile(file: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new StackgenError('SG_ERR_GATEWAY_CONFIG', `cannot read gateway config ${file}`, {
      hint: 'check the --config path',
      cause: err,
    });
  }
  return parseGatewayConfigText(text, file);
}

// ---------------------------------------------------------------------------------------
// The flag form: builds the same raw object and runs it through the same schema.

export interface GatewayFlags {
  listen?: string | string[] | undefined;
  upstream?: string[] | undefined;
  static?: string[] | undefined;
  workers?: string | undefined;
  maxBody?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsListen?: string[] | undefined;
  /** `--no-tls-redirect-http` sets it false. */
  tlsRedirectHttp?: boolean | undefined;
  /** `--tls-hsts-max-age <s>`; `off` for no HSTS. */
  tlsHstsMaxAge?: string | undefined;
  tlsHstsIncludeSubdomains?: boolean | undefined;
  tlsHstsPreload?: boolean | undefined;
  /** `--no-tls-http2` sets it false. */
  tlsHttp2?: boolean | undefined;
  /** `K=V` pairs for the --upstream location's cgi/fastcgi program (its `env:`). */
  env?: string[] | undefined;

  maxHeaderSize?: string | undefined;
}

const FLAG_FOR_KEY: Record<string, string> = {
  listen: '--listen',
  workers: '--workers',
  max_body: '--max-body',
  max_header_size: '--max-header-size',
  upstream: '--upstream',
  static: '--static',
  cert: '--tls-cert',
  key: '--tls-key',
  redirect_http: '--no-tls-redirect-http',
  hsts: '--tls-hsts-*',
  max_age: '--tls-hsts-max-age',
  http2: '--no-tls-http2',
  env: '--env',
};

/** The `tls:` object of the flag form, or undefined when no --tls-* flag was given. */
function tlsFromFlags(flags: GatewayFlags): Record<string, unknown> | undefined {
  const given = [
    flags.tlsCert,
    flags.tlsKey,
    flags.tlsListen,
    flags.tlsRedirectHttp,
    flags.tlsHstsMaxAge,
    flags.tlsHstsIncludeSubdomains,
    flags.tlsHstsPreload,
    flags.tlsHttp2,
  ].some((v) => v !== undefined);
  if (!given) return undefined;
  if (flags.tlsCert === undefined || flags.tlsKey === undefined)
    throw new StackgenError('SG_ERR_USAGE', 'gateway: TLS needs both --tls-cert and --tls-key', {
      hint: 'e.g. --tls-cert /etc/ssl/site/fullchain.pem --tls-key /etc/ssl/site/privkey.pem',
    });
  const tls: Record<string, unknown> = { cert: flags.tlsCert, key: flags.tlsKey };
  if (flags.tlsListen !== undefined) tls['listen'] = flags.tlsListen;
  if (flags.tlsRedirectHttp !== undefined) tls['redirect_http'] = flags.tlsRedirectHttp;
  if (flags.tlsHttp2 !== undefined) tls['http2'] = flags.tlsHttp2;
  if (flags.tlsHstsMaxAge === 'off') tls['hsts'] = 'off';
  else {
    const hsts: Record<string, unknown> = {};
    if (flags.tlsHstsMaxAge !== undefined)
      hsts['max_age'] = /^\d+$/.test(flags.tlsHstsMaxAge) ? Number(flags.tlsHstsMaxAge) : -1;
    if (flags.tlsHstsIncludeSubdomains !== undefined)
      hsts['include_subdomains'] = flags.tlsHstsIncludeSubdomains;
    if (flags.tlsHstsPreload !== undefined) hsts['preload'] = flags.tlsHstsPreload;
    tls['hsts'] = hsts;
  }
  return tls;
}

/** `--env K=V` flags → the `env:` mapping (a later K wins, as in a shell). */
function envFromFlags(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new StackgenError('SG_ERR_USAGE', `--env ${pair}: expected NAME=value`, {
        hint: 'e.g. --env CGIT_CONFIG=/etc/cgitrc',
      });
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** Build a GatewayConfig from command-line flags; `baseDir` anchors relative static dirs. */
export function gatewayConfigFromFlags(flags: GatewayFlags, baseDir: string): GatewayConfig {
  const locations: Record<string, unknown>[] = [];
  for (const mapping of flags.static ?? []) {
    const eq = mapping.indexOf('=');
    if (eq <= 0)
      throw new StackgenError('SG_ERR_USAGE', `--static ${mapping}: expected /url/prefix=./directory`, {
        hint: 'e.g. --static /static/=./static',
      });
    locations.push({ path: mapping.slice(0, eq), static: { root: mapping.slice(eq + 1) } });
  }
  if (flags.upstream !== undefined && flags.upstream.length > 0)
    locations.push({
      path: '/',
      upstream: flags.upstream,
      ...(flags.env === undefined ? {} : { env: envFromFlags(flags.env) }),
    });
  else if (flags.env !== undefined && flags.env.length > 0)
    throw new StackgenError('SG_ERR_USAGE', '--env needs a cgi: or fastcgi:// --upstream to pass it to', {
      hint: 'e.g. --upstream cgi:/usr/lib/cgit/cgit.cgi --env CGIT_CONFIG=/etc/cgitrc',
    });
  if (locations.length === 0)
    throw new StackgenError('SG_ERR_USAGE', 'gateway: give --config <file>, or --upstream and/or --static', {
      hint: 'e.g. stackgen gateway --listen 127.0.0.1:8080 --upstream uwsgi://unix:/run/app.sock',
    });
  const raw: Record<string, unknown> = { locations };
  if (flags.listen !== undefined) raw['listen'] = Array.isArray(flags.listen) ? flags.listen : [flags.listen];
  if (flags.workers !== undefined)
    raw['workers'] =
      flags.workers === 'auto' ? 'auto' : /^\d+$/.test(flags.workers) ? Number(flags.workers) : -1;
  if (flags.maxBody !== undefined) raw['max_body'] = flags.maxBody;
  const tls = tlsFromFlags(flags);
  if (tls !== undefined) raw['tls'] = tls;

  if (flags.maxHeaderSize !== undefined) raw['max_header_size'] = flags.maxHeaderSize;
  const result = gatewayConfigSchema.safeParse(raw);
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const flag =
        key === 'locations'
          ? (FLAG_FOR_KEY[String(issue.path[2] ?? '')] ?? '--upstream/--static')
          : key === 'tls'
            ? issue.path[1] === 'listen'
              ? '--tls-listen'
              : (FLAG_FOR_KEY[String(issue.path.at(-1) ?? '')] ?? '--tls-*')
            : (FLAG_FOR_KEY[key] ?? key);
      return `${flag}: ${issue.message}`;
    });
    throw new StackgenError('SG_ERR_USAGE', messages.join('\n'), { cause: result.error });
  }
  return normalise(result.data, null, baseDir);
}

/**
 * `workers: auto`: half the cores, at least one. stackgen puts the gateway on the machine that
 * runs the app server (loopback or unix sockets), and in a proxied request the app server does
 * most of the work, so the gateway gets half the cores and the app server the rest. On the
 * 2-core bench machine no count wins everywhere (`BENCH_GATEWAY_WORKERS=2|1 npm run bench
 * gateway`, 2026-12-02): 2 workers served more than 1 in front of uWSGI and less in front of
 * gunicorn (figures in the README).
 */
export function autoGatewayWorkers(cores: number): number {
  return Math.max(1, Math.floor(cores / 2));
}
