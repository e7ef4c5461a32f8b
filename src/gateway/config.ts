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
 * (scheme = http | uwsgi | fastcgi | scgi) and `cgi:/path/script[?interpreter=/usr/bin/python3]`.
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
  const rest = m[2] ?? '';
  if (rest.startsWith('unix:')) {
    const path = rest.slice(5);
    if (!isAbsolute(path)) return `unix socket path must be absolute in "${value}"`;
    return { scheme, address: { kind: 'unix', path } };
  }
  const hostPort = parseHostPort(rest.replace(/\/$/, ''));
  if (typeof hostPort === 'string' || hostPort.host === '')
    return `expected ${scheme}://host:port or ${scheme}://unix:/path, got "${value}"`;
  return { scheme, address: { kind: 'tcp', host: hostPort.host, port: hostPort.port } };
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
    if (loc.websocket && loc.upstream !== undefined && !schemes.has('http'))
      ctx.addIssue({
        code: 'custom',
        path: ['websocket'],
        message: 'websocket tunnelling needs http:// upstreams',
      });
  })
  .describe('One URL prefix: either static files or backends.');

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
      .min(1)
      .default([{ kind: 'tcp', host: '127.0.0.1', port: 8080 }])
      .describe('Addresses to listen on: host:port, [::1]:port or unix:/path.'),
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
    return {
      kind: 'upstream',
      path: loc.path,
      upstreams: loc.upstream ?? [],
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
  maxHeaderSize?: string | undefined;
}

const FLAG_FOR_KEY: Record<string, string> = {
  listen: '--listen',
  workers: '--workers',
  max_body: '--max-body',
  max_header_size: '--max-header-size',
  upstream: '--upstream',
  static: '--static',
};

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
    locations.push({ path: '/', upstream: flags.upstream });
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
  if (flags.maxHeaderSize !== undefined) raw['max_header_size'] = flags.maxHeaderSize;
  const result = gatewayConfigSchema.safeParse(raw);
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const flag =
        key === 'locations'
          ? (FLAG_FOR_KEY[String(issue.path[2] ?? '')] ?? '--upstream/--static')
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
 * most of the work, so the gateway gets half the cores and the app server the rest. A Node
 * event loop is also cheapest per request when it is busy (one epoll wake-up serves many
 * sockets): on the 2-core bench machine, 1 worker served ~30% more requests per second than
 * 2 workers in front of the same uWSGI (`npm run bench gateway`; see the README).
 */
export function autoGatewayWorkers(cores: number): number {
  return Math.max(1, Math.floor(cores / 2));
}
