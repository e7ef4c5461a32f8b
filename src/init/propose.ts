// From a detection and the flags given, the stack init proposes: each choice in the order a
// request meets it (interface → server → concurrency → protocol → proxy → manager) with the
// reason for it, read from the catalog — never a branch on a framework's or server's name.
// Pure: the caller shows the reasons, asks, validates and writes.

import type {
  AppInterface,
  Concurrency,
  Framework,
  Manager,
  Protocol,
  ProxyKind,
  ServerName,
} from '../stack/enums.js';
import { djangoAllowsHost } from '../topology/catalog/app-contracts.js';
import { FALLBACK_SERVER, FRAMEWORKS } from '../topology/catalog/frameworks.js';
import { DEFAULT_PROXY } from '../topology/catalog/names.js';
import { MANAGERS, PROTOCOLS, PROXIES } from '../topology/catalog/proxies.js';
import { SERVERS } from '../topology/catalog/servers.js';
import type { Detection } from './detect.js';

/** The stack.yaml choices init makes, each given by a flag or proposed. */
export interface Choices {
  framework: Framework;
  interface: AppInterface;
  server: ServerName;
  concurrency: Concurrency;
  protocol: Protocol;
  proxy: ProxyKind;
  manager: Manager;
}

export type ChoiceKey = keyof Choices;

/** Why a choice was made: the flag, the project's files, or the catalog's default. */
export interface Reason {
  key: ChoiceKey;
  value: string;
  why: string;
}

/** The choices, in the order a request meets them (and the order init asks). */
export const CHOICE_ORDER: readonly ChoiceKey[] = [
  'framework',
  'interface',
  'server',
  'concurrency',
  'protocol',
  'proxy',
  'manager',
];

/** Everything but the choices: what a first stack needs, from detection and flags. */
export interface AppFields {
  entry?: string;
  root: string;
  static: Record<string, string>;
  env: Record<string, string>;
  writable: string[];
  websockets: boolean;
  python?: string;
  venv?: string;
}

/** Propose each choice not given, given the earlier ones (a flag for server changes the concurrency proposed). */
export function proposeChoices(
  detection: Detection | null,
  given: Partial<Choices>,
): { choices: Choices; reasons: Reason[] } {
  const reasons: Reason[] = [];
  const take = <K extends ChoiceKey>(key: K, proposed: Choices[K], why: string): Choices[K] => {
    const value = given[key] ?? proposed;
    reasons.push({ key, value, why: given[key] !== undefined ? `--${key} ${value}` : why });
    return value;
  };

  const detectedFramework = detection?.framework;
  const framework = take(
    'framework',
    detectedFramework ?? 'wsgi',
    detection
      ? `${FRAMEWORKS[detection.framework].title}: ${detection.evidence[0]}`
      : 'nothing recognizable in the directory: a plain WSGI callable is assumed',
  );
  const fw = FRAMEWORKS[framework];
  const detectedInterface = framework === detectedFramework ? detection?.interface : undefined;
  const iface = take(
    'interface',
    detectedInterface ?? fw.defaultInterface,
    detectedInterface
      ? (detection?.evidence.find((e) => e.includes('ASGI')) ??
          `${fw.title} app detected as ${detectedInterface}`)
      : `${fw.title} is served through ${fw.defaultInterface.toUpperCase()}`,
  );

  // A server the project already depends on, if it is a production server for this interface.
  const wanted = framework === detectedFramework ? (detection?.dependsOn ?? []) : [];
  const depended = wanted.find((s) => SERVERS[s].suggested && SERVERS[s].interfaces.includes(iface));
  const usual = fw.defaultServer[iface] ?? FALLBACK_SERVER;
  const server = take(
    'server',
    depended ?? usual,
    depended
      ? `the project's requirements name ${SERVERS[depended].title}, which serves ${iface.toUpperCase()}`
      : `${SERVERS[usual].title} is the usual server for ${fw.title} over ${iface.toUpperCase()}${SERVERS[usual].processModel === 'master-workers' ? ': a master respawns dead workers and reloads on a signal' : ''}`,
  );
  const entry = SERVERS[server];
  const models = entry.interfaceModels[iface]?.models;
  const websockets = detection?.websockets === true;
  const fitting = websockets
    ? entry.websocketConcurrency.find((m) => !models || models.includes(m))
    : undefined;
  const concurrency = take(
    'concurrency',
    fitting ?? models?.[0] ?? entry.defaultConcurrency,
    fitting
      ? `${entry.title} holds WebSocket connections under ${fitting}`
      : models
        ? `${entry.title} runs ${iface.toUpperCase()} apps under ${models[0]}`
        : `what ${entry.title} does best`,
  );
  const protocol = take(
    'protocol',
    entry.defaultProtocol,
    `${entry.title} speaks ${PROTOCOLS[entry.defaultProtocol].title}: ${PROTOCOLS[entry.defaultProtocol].why}`,
  );
  const proxy = take(
    'proxy',
    DEFAULT_PROXY,
    `${PROXIES[DEFAULT_PROXY].title} in front: it buffers slow clients, limits bodies and serves the static files`,
  );
  const manager = take(
    'manager',
    'systemd',
    `${MANAGERS.systemd.title} starts, restarts and hardens the processes`,
  );
  return { choices: { framework, interface: iface, server, concurrency, protocol, proxy, manager }, reasons };
}

/** The stack.yaml document: choices and app fields, defaults left out where the schema has them. */
export function stackDocument(name: string, choices: Choices, app: AppFields): Record<string, unknown> {
  const fw = FRAMEWORKS[choices.framework];
  const appDoc: Record<string, unknown> = { framework: choices.framework };
  if (choices.interface !== fw.defaultInterface) appDoc['interface'] = choices.interface;
  if (app.entry !== undefined) appDoc['entry'] = app.entry;
  if (app.root !== '.') appDoc['root'] = app.root;
  if (Object.keys(app.static).length > 0) appDoc['static'] = app.static;
  if (Object.keys(app.env).length > 0) appDoc['env'] = app.env;
  if (app.writable.length > 0) appDoc['writable'] = app.writable;
  if (app.websockets) appDoc['websockets'] = true;
  if (app.python !== undefined) appDoc['python'] = app.python;
  if (app.venv !== undefined) appDoc['venv'] = app.venv;
  return {
    name,
    app: appDoc,
    serve: { server: choices.server, concurrency: choices.concurrency },
    proxy: { kind: choices.proxy, protocol: choices.protocol },
    processes: { manager: choices.manager },
  };
}

/** The reasons as the lines init prints before writing: "server: gunicorn — because …". */
export function formatReasons(reasons: readonly Reason[]): string {
  return reasons.map((r) => `  ${r.key.padEnd(11)} ${r.value.padEnd(20)} ${r.why}`).join('\n');
}

/**
 * A note when the proxy passes a Host the app's own host check refuses (every request would
 * be a 400: Django's DisallowedHost). init writes stack.yaml only, never the app's settings.
 */
export function hostNote(detection: Detection | null, serverName: string | undefined): string | null {
  const check = detection?.allowedHosts;
  if (!check || serverName === undefined || serverName === '_') return null;
  const refused = serverName.split(/\s+/).filter((h) => h && !djangoAllowsHost(check.hosts, h));
  if (refused.length === 0) return null;
  return `${check.where} does not allow ${refused.join(', ')} (--server-name): every request would be a 400 — add ${refused.map((h) => `'${h}'`).join(', ')} to ALLOWED_HOSTS`;
}
