// Why a component is not ready, in one sentence a person can act on. Pure: the shell
// collects the facts (log tails, the nginx error log, owners and modes along a socket
// path, who holds a port) and these rules read them — the same facts always give the
// same explanation, and each rule is tested on a captured log line.

import type { ExitInfo } from './process.js';

/** Owner and mode of one directory or file along a socket's path. */
export interface PathFact {
  path: string;
  exists: boolean;
  mode: number;
  uid: number;
  gid: number;
  owner: string;
  group: string;
}

/** The proxy worker's identity, to decide whether it can reach a path. */
export interface Identity {
  user: string;
  uid: number;
  gids: number[];
}

export interface NotReadyFacts {
  component: string;
  program: string;
  /** The component's own output (stdout+stderr). */
  logTail: string;
  /** nginx's error log (nginx writes upstream failures there, not to stdout). */
  errorLog: string;
  exit: ExitInfo | null;
  /** Owners and modes along the socket a proxy failed to connect to. */
  socketPath: PathFact[];
  proxy: Identity | null;
  /** For "address in use": who holds the port. */
  portHolder: string | null;
  /** The app server's entry point and root, for import errors. */
  entry: string;
  appRoot: string;
  /** Last HTTP status the front answered readiness with (502 → upstream problem). */
  lastStatus: number | null;
}

const NGINX_CONNECT = /connect\(\) to (\S+?) failed \((\d+): ([^)]+)\)/;
const NGINX_CONNECT_TCP =
  /connect\(\) failed \((\d+): ([^)]+)\) while connecting to upstream.*?upstream: "([^"]+)"/;
const BIND_IN_USE =
  /bind\(\) to (\S+) failed \(98: Address already in use\)|Address already in use|\[Errno 98\]/;
const MODULE_NOT_FOUND = /ModuleNotFoundError: No module named '([^']+)'/;
/** The last line of a Python traceback: `SomeError: message`. */
const PYTHON_EXCEPTION = /^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.+)$/gm;
const NGINX_EMERG = /\[emerg\] \d+#\d+: (.+)/;

/** Unix permission check for `who` on a file with this owner and mode. Pure. */
export function permits(
  fact: PathFact,
  who: Identity,
  want: { read?: boolean; write?: boolean; exec?: boolean },
): boolean {
  if (who.uid === 0) return true;
  const shift = fact.uid === who.uid ? 6 : who.gids.includes(fact.gid) ? 3 : 0;
  const bits = (fact.mode >> shift) & 0o7;
  return (
    (!want.read || (bits & 4) !== 0) && (!want.write || (bits & 2) !== 0) && (!want.exec || (bits & 1) !== 0)
  );
}

const describeFact = (f: PathFact) =>
  `${f.path} is mode ${(f.mode & 0o777).toString(8)} owned by ${f.owner}:${f.group}`;

/** Where along the path the proxy user is stopped, in words (or null when nothing blocks). */
export function explainPermission(facts: PathFact[], who: Identity): string | null {
  const socket = facts.at(-1);
  for (const f of facts.slice(0, -1)) {
    if (!f.exists) continue;
    if (!permits(f, who, { exec: true }))
      return `the directory ${describeFact(f)}, and ${who.user} is neither ${f.owner} nor in group ${f.group}`;
  }
  if (socket?.exists && !permits(socket, who, { write: true }))
    return `the socket ${describeFact(socket)}, and ${who.user} is neither ${socket.owner} nor in group ${socket.group}`;
  return null;
}

/** The likely cause of a component not becoming ready. */
export function likelyCause(f: NotReadyFacts): string {
  const logs = `${f.errorLog}\n${f.logTail}`;
  const connect = NGINX_CONNECT.exec(f.errorLog);
  if (connect) {
    const [, target = '', errno, text = ''] = connect;
    const who = f.proxy ? `nginx worker (user ${f.proxy.user})` : 'nginx';
    if (errno === '13') {
      const where = f.proxy ? explainPermission(f.socketPath, f.proxy) : null;
      return `${who} cannot connect to ${target}: permission denied${where ? ` — ${where}` : ''}`;
    }
    if (errno === '2')
      return `${who} cannot connect to ${target}: no such file — nothing listens there (the proxy points at a socket the app server does not create)`;
    if (errno === '111')
      return `${who} cannot connect to ${target}: connection refused — the socket file exists but no server accepts on it`;
    return `${who} cannot connect to ${target}: ${text.toLowerCase()}`;
  }
  const tcp = NGINX_CONNECT_TCP.exec(f.errorLog);
  if (tcp) return `nginx cannot connect to ${tcp[3]}: ${tcp[2]?.toLowerCase()} — nothing listens there`;
  const inUse = BIND_IN_USE.exec(logs);
  if (inUse)
    return `${f.component} cannot listen${inUse[1] ? ` on ${inUse[1]}` : ''}: the address is already in use${f.portHolder ? ` by ${f.portHolder}` : ''}`;
  if (f.portHolder) return `${f.component} cannot listen: the port is already in use by ${f.portHolder}`;
  const missing = MODULE_NOT_FOUND.exec(f.logTail);
  if (missing)
    return `${f.program} cannot import module '${missing[1]}' (app.entry ${f.entry}, app.root ${f.appRoot}) — check app.entry and app.root, and that the module's packages are installed for the stack's python`;
  if (f.logTail.includes('Traceback (most recent call last)')) {
    const last = [...f.logTail.matchAll(PYTHON_EXCEPTION)].at(-1);
    if (last)
      return `${f.program} failed at start-up: ${last[1]}: ${last[2]?.trim()} (Python traceback in the log)`;
  }
  const emerg = NGINX_EMERG.exec(logs);
  if (emerg) return `nginx refused to start: ${emerg[1]?.trim()}`;
  if (/Permission denied/.test(f.logTail))
    return `${f.component} hit "permission denied" (see the log): the user it runs as cannot open a file or socket it needs`;
  if (f.lastStatus === 502 || f.lastStatus === 504)
    return `${f.component} answers ${f.lastStatus}: it cannot reach the app server`;
  if (f.exit) {
    const how =
      f.exit.reason === 'spawn-failed'
        ? `could not be started: ${f.exit.error}`
        : f.exit.signal
          ? `was killed by ${f.exit.signal}`
          : `exited with code ${f.exit.code}`;
    return `${f.component} ${how} during start-up`;
  }
  return `${f.component} did not answer before the deadline`;
}

/** The last `n` non-empty lines of a log. */
export function tailLines(text: string, n: number): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n);
}
