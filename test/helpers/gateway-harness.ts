// The gateway in-process (as kamal-proxy's testServer): createGatewayServer on 127.0.0.1:0 with
// scripted transports instead of real backends, a logger that keeps its lines and an access
// log in a temp file. For what needs the front itself — reload, draining, lingering closes,
// local redirects, client-error mapping — without spawning the CLI or an app server.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfig, GatewayLocation, UpstreamLocation } from '../../src/gateway/config.js';
import type { GatewayLogger } from '../../src/gateway/log.js';
import { createGatewayServer, type GatewayServer } from '../../src/gateway/server.js';
import type {
  GatewayRequest,
  Transport,
  UpstreamResponse,
  UpstreamTarget,
} from '../../src/gateway/transport.js';

/** What a scripted backend does with one request (the n-th it got, from 1). */
export type Script = (req: GatewayRequest, n: number) => Promise<UpstreamResponse> | UpstreamResponse;

export interface ScriptedTransport extends Transport {
  readonly requests: GatewayRequest[];
  closed: boolean;
}

/** A Transport that answers from a script and records what it was asked. */
export function scriptedTransport(target: UpstreamTarget, script: Script): ScriptedTransport {
  const t: ScriptedTransport = {
    scheme: target.scheme,
    target,
    requests: [],
    closed: false,
    async request(req) {
      t.requests.push(req);
      return script(req, t.requests.length);
    },
    async close() {
      t.closed = true;
    },
  };
  return t;
}

/** A complete answer with a body. */
export function answer(
  status: number,
  body: string,
  headers: Array<[string, string]> = [],
): UpstreamResponse {
  return { status, headers: [['Content-Type', 'text/plain'], ...headers], body: Buffer.from(body) };
}

/** A CGI local redirect (RFC 3875 §6.2.2) to `path`, as the CGI-style transports report one. */
export function localRedirect(path: string): UpstreamResponse {
  return { status: 302, headers: [['Location', path]], body: Buffer.alloc(0), localRedirect: path };
}

/** A promise and its resolver: hold a scripted answer until the test lets it go. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** An upstream location served by scripted backends named `backend` (`cgi:/backend`). */
export function scriptedLocation(
  path: string,
  backend: string,
  more: Partial<UpstreamLocation> = {},
): UpstreamLocation {
  return {
    kind: 'upstream',
    path,
    upstreams: [{ scheme: 'cgi', address: { kind: 'script', path: `/${backend}` } }],
    scriptName: '',
    documentRoot: '/srv',
    websocket: false,
    ...more,
  };
}

export interface HarnessOptions {
  locations: GatewayLocation[];
  /** Scripts by backend name (the `backend` of scriptedLocation). */
  scripts: Record<string, Script>;
  /** Overrides of the config (limits, timeouts). */
  config?: Partial<Omit<GatewayConfig, 'timeouts'>> & { timeouts?: Partial<GatewayConfig['timeouts']> };
}

export interface Harness {
  readonly server: GatewayServer;
  readonly port: number;
  /** Every listen URL (the plain ones, then the TLS ones). */
  readonly urls: string[];
  readonly dir: string;
  /** Every transport created, by backend name (a reload creates new ones). */
  readonly transports: Map<string, ScriptedTransport[]>;
  /** Error/warn/info lines of the gateway logger. */
  readonly logs: string[];
  /** A config with the harness's listen address and access log, for reload(). */
  configFor(options: Omit<HarnessOptions, 'scripts'>): GatewayConfig;
  /** Replace the scripts used by transports created from now on (before a reload). */
  setScripts(scripts: Record<string, Script>): void;
  /** The access-log lines written so far (waits for the log's batching interval). */
  accessLines(): Promise<string[]>;
  /** Shut down (grace 0 unless given) and remove the temp dir. */
  close(graceMs?: number): Promise<void>;
}

/** Start the gateway in this process on a free port. */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'stackgen-harness-'));
  const accessPath = join(dir, 'access.log');
  const logs: string[] = [];
  const logger: GatewayLogger = {
    error: (m) => logs.push(`error: ${m}`),
    warn: (m) => logs.push(`warn: ${m}`),
    info: (m) => logs.push(`info: ${m}`),
  };
  const transports = new Map<string, ScriptedTransport[]>();
  let scripts = options.scripts;
  let port = 0;
  const configFor = (o: Omit<HarnessOptions, 'scripts'>): GatewayConfig => ({
    source: null,
    listen: [{ kind: 'tcp', host: '127.0.0.1', port }],
    serverName: 'harness.test',
    hosts: [],
    workers: 1,
    maxBodyBytes: 1024 * 1024,
    maxHeaderBytes: 16 * 1024,
    accessLog: { kind: 'file', path: accessPath },
    securityHeaders: [],
    gzip: true,
    trustedProxies: [],
    tls: null,
    ...o.config,
    timeouts: {
      clientHeaderMs: 5_000,
      clientBodyMs: 5_000,
      keepaliveMs: 5_000,
      connectMs: 1_000,
      readMs: 5_000,
      sendMs: 5_000,
      shutdownMs: 1_000,
      ...o.config?.timeouts,
    },
    locations: o.locations,
  });
  const server = createGatewayServer({
    config: configFor(options),
    logger,
    createTransport: (target) => {
      const name = target.address.kind === 'script' ? target.address.path.slice(1) : '';
      const script = scripts[name];
      if (script === undefined) throw new Error(`no script for backend ${name}`);
      const t = scriptedTransport(target, script);
      transports.set(name, [...(transports.get(name) ?? []), t]);
      return t;
    },
  });
  const urls = await server.listen();
  port = Number(new URL(urls[0] as string).port);
  let closed = false;
  return {
    server,
    port,
    urls,
    dir,
    transports,
    logs,
    configFor,
    setScripts: (next) => {
      scripts = next;
    },
    async accessLines() {
      await new Promise((r) => setTimeout(r, 150));
      try {
        return readFileSync(accessPath, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    async close(graceMs = 0) {
      if (closed) return;
      closed = true;
      await server.shutdown(graceMs);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
