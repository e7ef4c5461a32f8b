// Fill in every choice the user left to stackgen, from catalog defaults, so rules and
// resolution see one complete description. What was defaulted is recorded, so explain
// and the generated comments can say "chosen by default because …".

import { FALLBACK_SERVER, FRAMEWORKS } from '../topology/catalog/frameworks.js';
import { SERVERS } from '../topology/catalog/servers.js';
import type { AppInterface, Concurrency, Protocol, ServerName, StackSpec, TlsOn } from './schema.js';

/** proxy.tls when on, its listen always a list; `off` stays `off`. */
export type NormalizedTls = TlsOn extends infer T
  ? T extends unknown
    ? Omit<T, 'listen'> & { listen: string[] }
    : never
  : never;

export interface NormalizedSpec extends StackSpec {
  app: StackSpec['app'] & { interface: AppInterface; entry: string };
  serve: StackSpec['serve'] & { server: ServerName; concurrency: Concurrency; socket: 'unix' | 'tcp' };
  /** listen: always a list (a single `listen: "8080"` is a list of one). */
  proxy: Omit<StackSpec['proxy'], 'listen' | 'tls'> & {
    protocol: Protocol;
    listen: string[];
    tls: 'off' | NormalizedTls;
    timeouts: StackSpec['proxy']['timeouts'] & { read: string };
  };
  processes: StackSpec['processes'] & { user: string; group: string };
  /** Key paths (dot form) whose values came from defaults, with why. */
  defaulted: Record<string, string>;
}

/** The default proxy read timeout's lead over serve.timeout. */
export const READ_TIMEOUT_MARGIN_SECONDS = 5;

/** Complete a schema-valid spec with the catalog's defaults. Pure. */
export function normalizeSpec(spec: StackSpec): NormalizedSpec {
  const defaulted: Record<string, string> = {};
  const framework = FRAMEWORKS[spec.app.framework];

  const iface = spec.app.interface ?? framework.defaultInterface;
  if (!spec.app.interface) defaulted['app.interface'] = `${framework.title} apps are ${iface.toUpperCase()}`;

  const entry =
    spec.app.entry ?? framework.defaultEntry[iface] ?? framework.defaultEntry[framework.defaultInterface]!;
  if (!spec.app.entry) defaulted['app.entry'] = `the usual ${framework.title} entry point`;

  // A CGI "server" for a CGI app; otherwise the framework's usual server for the interface.
  const server = spec.serve.server ?? framework.defaultServer[iface] ?? FALLBACK_SERVER;
  if (!spec.serve.server) defaulted['serve.server'] = `the usual server for ${framework.title} (${iface})`;
  const serverEntry = SERVERS[server];

  let concurrency = spec.serve.concurrency;
  if (!concurrency) {
    // A server may run an interface under fewer models (ASGI under gunicorn: uvicorn workers).
    const models = serverEntry.interfaceModels[iface]?.models ?? [];
    concurrency = models.includes(serverEntry.defaultConcurrency)
      ? serverEntry.defaultConcurrency
      : (models[0] ?? serverEntry.defaultConcurrency);
    defaulted['serve.concurrency'] = `${serverEntry.title}'s default model`;
  }

  let protocol = spec.proxy.protocol;
  if (!protocol) {
    protocol = spec.proxy.kind === 'none' ? 'http' : serverEntry.defaultProtocol;
    defaulted['proxy.protocol'] = `${serverEntry.title} speaks ${protocol} natively`;
  }

  let socket = spec.serve.socket;
  if (!socket) {
    // A unix socket cannot be reached from the network at all, and skips TCP overhead.
    socket = spec.proxy.kind === 'none' ? 'tcp' : serverEntry.defaultSocket;
    defaulted['serve.socket'] =
      socket === 'unix'
        ? 'a unix socket is unreachable from the network'
        : `${serverEntry.title} listens on TCP`;
  }

  // The app server's own kill (harakiri, gunicorn's timeout) must answer before the proxy
  // gives up: otherwise the client gets the proxy's 504 while the worker runs on.
  let read = spec.proxy.timeouts.read;
  if (!read) {
    read = `${spec.serve.timeout + READ_TIMEOUT_MARGIN_SECONDS}s`;
    defaulted['proxy.timeouts.read'] =
      `serve.timeout + ${READ_TIMEOUT_MARGIN_SECONDS} s: the app server's own timeout answers first`;
  }
  // The app's own account: the proxy's user (www-data) is shared with every other site.
  const user = spec.processes.user ?? spec.name;
  if (!spec.processes.user) defaulted['processes.user'] = "the stack's own system user";
  const group = spec.processes.group ?? spec.name;
  if (!spec.processes.group) defaulted['processes.group'] = "the stack's own group; the proxy joins it";

  return {
    ...spec,
    app: { ...spec.app, interface: iface, entry },
    serve: { ...spec.serve, server, concurrency, socket },
    proxy: {
      ...spec.proxy,
      protocol,
      listen: typeof spec.proxy.listen === 'string' ? [spec.proxy.listen] : spec.proxy.listen,
      tls: normalizeTls(spec.proxy.tls),
      timeouts: { ...spec.proxy.timeouts, read },
    },
    processes: { ...spec.processes, user, group },
    defaulted,
  };
}

/** proxy.tls with a one-address listen made a list. Pure. */
function normalizeTls(tls: StackSpec['proxy']['tls']): 'off' | NormalizedTls {
  if (tls === 'off') return 'off';
  return { ...tls, listen: typeof tls.listen === 'string' ? [tls.listen] : tls.listen };
}
