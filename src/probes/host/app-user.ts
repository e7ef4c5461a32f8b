// app-user: the app's processes run as the app's own account, never as the proxy's user,
// and the proxy reaches the app's unix socket through the socket's group — seen from the
// kernel (/proc), not from the probe app, so it holds for any app the stack serves. The
// app's processes are the ones holding its listening sockets (a prefork master and its
// workers alike); the proxy's are the non-root holders of the front's listening port
// (nginx's workers, the gateway).

import { readdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BoundEndpoint } from '../../render/plan.js';
import { readAccountBook } from '../../runtime/users.js';
import { PROXIES } from '../../topology/catalog/proxies.js';
import { SERVERS } from '../../topology/catalog/servers.js';
import { fail, pass, type ProbeDefinition } from '../types.js';
import { parseProcNetTcp, readProc, socketHolders } from './sockets.js';

/** A process as /proc/PID/status tells it: real uid, gid and every group it holds. */
export interface ProcessIds {
  pid: number;
  uid: number;
  gid: number;
  groups: number[];
  command: string;
}

/** Uid, Gid and Groups lines of a /proc/PID/status text (real ids: the first column). Pure. */
export function idsOfStatus(text: string): { uid: number; gid: number; groups: number[] } | null {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const uid = field('Uid')?.split(/\s+/)[0];
  const gid = field('Gid')?.split(/\s+/)[0];
  if (uid === undefined || gid === undefined) return null;
  const groups = (field('Groups') ?? '').split(/\s+/).filter(Boolean).map(Number);
  return { uid: Number(uid), gid: Number(gid), groups };
}

/** Inodes of listening unix sockets bound to `path`, from /proc/net/unix text. Pure. */
export function unixSocketInodes(text: string, path: string): number[] {
  return [...listeningUnixSockets(text)].filter(([, p]) => p === path).map(([inode]) => inode);
}

/** Listening unix sockets in /proc/net/unix text, by inode, with their paths. Pure. */
export function listeningUnixSockets(text: string): Map<number, string> {
  const ACCEPTCON = 0x10000;
  return new Map(
    text
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f.length >= 8 && (Number.parseInt(f[3]!, 16) & ACCEPTCON) !== 0)
      .map((f) => [Number(f[6]), f[7]!] as [number, string]),
  );
}

/**
 * Does a command line show this process title? The kernel keeps a title written over argv
 * (mod_wsgi's display-name) cut to the length of the original argv[0] (`/usr/sbin/apache2`:
 * 17 characters), so a prefix of at least `(wsgi:` and one more character counts; the rest
 * of the command line (`-k start`) follows as it was. `argv0`: the first NUL-separated field. Pure.
 */
export function showsTitle(argv0: string, title: string): boolean {
  const shown = argv0.trim();
  return shown.length > 0 && (shown.startsWith(title) || (title.startsWith(shown) && shown.length > 6));
}

/** Processes (every pid of /proc) whose command line shows this title. */
function processesTitled(title: string): ProcessIds[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      const cmdline = readProc(`/proc/${d}/cmdline`);
      if (!showsTitle(cmdline.split('\0')[0] ?? '', title)) return [];
      const command = cmdline.replace(/\0/g, ' ').trim();
      const ids = idsOfStatus(readProc(`/proc/${d}/status`));
      return ids ? [{ pid: Number(d), ...ids, command: command.slice(0, 80) }] : [];
    });
}

/** Every process holding one of these socket inodes. */
function holders(inodes: ReadonlySet<number>): ProcessIds[] {
  const pids = new Set<number>();
  for (const [inode, held] of socketHolders()) if (inodes.has(inode)) for (const pid of held) pids.add(pid);
  return [...pids].flatMap((pid) => {
    const ids = idsOfStatus(readProc(`/proc/${pid}/status`));
    return ids
      ? [{ pid, ...ids, command: readProc(`/proc/${pid}/cmdline`).replace(/\0/g, ' ').trim().slice(0, 80) }]
      : [];
  });
}

/** The processes holding the listening sockets of these endpoints (a prefork master and its workers). */
export function listeningHolders(endpoints: readonly BoundEndpoint[]): ProcessIds[] {
  return holders(new Set(endpoints.flatMap(listeningInodes)));
}

function listeningInodes(ep: BoundEndpoint): number[] {
  if (ep.kind === 'unix') return unixSocketInodes(readProc('/proc/net/unix'), ep.path);
  return [...parseProcNetTcp(readProc('/proc/net/tcp'), 4), ...parseProcNetTcp(readProc('/proc/net/tcp6'), 6)]
    .filter((s) => s.port === ep.port)
    .map((s) => s.inode);
}

type SocketFile =
  | {
      path: string;
      uid: number;
      gid: number;
      mode: number;
      /** Mode of the directory holding it: others reach the socket only through it. */
      dirMode: number;
    }
  | { path: string; missing: true };

interface Observed {
  /** The front runs the app's code itself (CGI under the gateway): its processes are the app's. */
  frontRunsApp: boolean;
  /**
   * It runs it as its own worker user, as documented (Apache's mod_cgid: catalog
   * cgiAsProxyUser): its processes must then be the proxy's user, never root or another.
   */
  asProxyDocumented: boolean;
  /**
   * The app server is a module of the front (mod_wsgi): its processes found by their title,
   * and the listening sockets they hold (the front makes them, for its own user alone).
   */
  inFront: { title: string; sockets: SocketFile[] } | null;
  app: ProcessIds[];
  proxy: ProcessIds[];
  sockets: SocketFile[];
  accounts: { app: number | null; group: number | null; proxy: number | null };
}

/** A socket file's owner and mode, and its directory's mode. */
function socketFile(path: string): SocketFile {
  try {
    const st = statSync(path);
    const dirMode = statSync(dirname(path)).mode & 0o777;
    return { path, uid: st.uid, gid: st.gid, mode: st.mode & 0o777, dirMode };
  } catch {
    return { path, missing: true };
  }
}

const names = (ps: ProcessIds[]) => ps.map((p) => `${p.pid} (${p.command.split(' ')[0]})`).join(', ');

export const appUserProbe: ProbeDefinition<Observed> = {
  id: 'app-user',
  title: "the app runs as its own user, and the proxy reaches its socket through the socket's group",
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) => (ctx.plan.upstream === null ? 'no proxy: the app server faces clients itself' : null),
  expect: (ctx) => {
    const u = ctx.plan.site.users;
    return `app processes ${u.app}:${u.group} (not ${u.proxy}); socket group ${u.group}, no access for others; ${u.proxy}'s proxy processes hold group ${u.group}`;
  },
  async observe(ctx) {
    const endpoints = ctx.plan.upstream!.endpoints;
    const book = readAccountBook();
    const u = ctx.plan.site.users;
    const accounts = {
      app: book.accounts.find((a) => a.name === u.app)?.uid ?? null,
      group: book.groups.find((g) => g.name === u.group)?.gid ?? null,
      proxy: book.accounts.find((a) => a.name === u.proxy)?.uid ?? null,
    };
    // No app server behind the front: the front (the gateway spawning CGI scripts) is the app's process.
    const inFront = SERVERS[ctx.plan.spec.serve.server].inFront;
    if (inFront) {
      const title = inFront.processTitle.replace('{name}', ctx.plan.name);
      const daemons = processesTitled(title);
      const listening = listeningUnixSockets(readProc('/proc/net/unix'));
      const held = new Set(daemons.map((d) => d.pid));
      const paths = [...socketHolders()]
        .filter(([inode, pids]) => listening.has(inode) && pids.some((pid) => held.has(pid)))
        .map(([inode]) => listening.get(inode)!);
      return {
        frontRunsApp: false,
        asProxyDocumented: false,
        inFront: { title, sockets: [...new Set(paths)].map(socketFile) },
        app: daemons,
        proxy: [],
        sockets: [],
        accounts,
      };
    }
    const frontRunsApp = endpoints.length === 0;
    const front = listeningHolders([ctx.plan.front.listen]).filter((p) => p.uid !== 0);
    return {
      frontRunsApp,
      inFront: null,
      asProxyDocumented:
        frontRunsApp &&
        ctx.plan.upstream?.protocol === 'cgi' &&
        PROXIES[ctx.plan.front.kind].cgiAsProxyUser !== undefined,
      app: frontRunsApp ? front : listeningHolders(endpoints),
      // The front's root master (nginx) only binds; its workers, as the proxy's user, connect.
      proxy: frontRunsApp ? [] : front,
      sockets: endpoints.flatMap((ep) => (ep.kind === 'unix' ? [socketFile(ep.path)] : [])),
      accounts,
    };
  },
  judge(o, ctx) {
    const u = ctx.plan.site.users;
    const { app: appUid, group: gid, proxy: proxyUid } = o.accounts;
    if (appUid === null || gid === null) return fail(`no account ${u.app} or group ${u.group} on the host`);
    if (o.proxy.length > 0 && (u.app === u.proxy || appUid === proxyUid))
      return fail(
        `the app's user ${u.app} is the proxy's user: processes.user must be an account of its own`,
      );
    if (o.inFront) return judgeInFront(o, o.inFront, ctx.plan.site.users);
    if (o.app.length === 0) return fail('no process holds the app server’s listening socket');
    if (o.asProxyDocumented) {
      const other = o.app.filter((p) => p.uid !== proxyUid);
      if (other.length > 0)
        return fail(
          `the front's processes that run the CGI scripts are not ${u.proxy}: ${other.map((p) => `${p.pid} uid ${p.uid}`).join(', ')}`,
        );
      return pass(
        `${o.app.length} front processes as ${u.proxy} (uid ${proxyUid}) run the CGI scripts, as documented: ${PROXIES[ctx.plan.front.kind].cgiAsProxyUser!.message}`,
      );
    }
    const problems: string[] = [];
    const asProxy = o.app.filter((p) => p.uid === proxyUid);
    if (asProxy.length > 0)
      problems.push(`app processes run as the proxy's user ${u.proxy}: ${names(asProxy)}`);
    const wrong = o.app.filter((p) => p.uid !== appUid || p.gid !== gid);
    if (wrong.length > 0)
      problems.push(
        `app processes not ${u.app}:${u.group}: ${wrong.map((p) => `${p.pid} ${p.uid}:${p.gid}`).join(', ')}`,
      );
    for (const s of o.sockets) {
      if ('missing' in s) {
        problems.push(`${s.path} does not exist`);
        continue;
      }
      const mode = s.mode.toString(8).padStart(3, '0');
      if (s.gid !== gid) problems.push(`${s.path} is group ${s.gid}, not ${u.group} (${gid})`);
      if ((s.mode & 0o060) !== 0o060) problems.push(`${s.path} mode ${mode}: the group cannot connect`);
      // uvicorn chmods its socket 666 whatever the umask; what keeps others out then is the
      // runtime directory (0750, the app's group): connecting needs search permission on it.
      if ((s.mode & 0o007) !== 0 && (s.dirMode & 0o001) !== 0)
        problems.push(
          `${s.path} mode ${mode} in a directory others may enter (${s.dirMode.toString(8)}): others can connect`,
        );
    }
    const unix = o.sockets.length > 0;
    if (unix) {
      if (o.proxy.length === 0) problems.push("no proxy process holds the front's listening socket");
      const outside = o.proxy.filter((p) => p.gid !== gid && !p.groups.includes(gid));
      if (outside.length > 0) problems.push(`proxy processes without group ${u.group}: ${names(outside)}`);
    }
    if (problems.length > 0) return fail(problems.join('; '));
    return pass(
      `${o.app.length} app processes as ${u.app}:${u.group} (uid ${appUid}, proxy ${u.proxy} is ${proxyUid})` +
        (o.frontRunsApp
          ? ': the front runs the CGI scripts itself, as the app'
          : unix
            ? `; ${o.sockets.map((s) => ('mode' in s ? `${s.path} ${s.mode.toString(8)} in a ${s.dirMode.toString(8)} directory` : s.path)).join(', ')}; ${o.proxy.length} proxy processes hold group ${u.group}`
            : '; TCP upstream: no socket file'),
    );
  },
};

/**
 * An app server inside the front (mod_wsgi's daemons): they run as the app's account, never
 * as the proxy's user or root, and the socket the front made for them is the proxy user's
 * alone (mode 0700: no other account can reach the app through it). Pure.
 */
function judgeInFront(
  o: Observed,
  inFront: NonNullable<Observed['inFront']>,
  u: { app: string; group: string; proxy: string },
) {
  const { app: appUid, group: gid, proxy: proxyUid } = o.accounts;
  if (o.app.length === 0)
    return fail(`no process shows the title ${inFront.title} (the daemons did not start)`);
  const problems: string[] = [];
  const wrong = o.app.filter((p) => p.uid !== appUid || p.gid !== gid);
  if (wrong.length > 0)
    problems.push(
      `daemon processes not ${u.app}:${u.group}: ${wrong.map((p) => `${p.pid} ${p.uid}:${p.gid}`).join(', ')}`,
    );
  if (inFront.sockets.length === 0) problems.push('the daemons hold no listening unix socket');
  for (const s of inFront.sockets) {
    if ('missing' in s) {
      problems.push(`${s.path} does not exist`);
      continue;
    }
    if (s.uid !== proxyUid) problems.push(`${s.path} is owned by uid ${s.uid}, not ${u.proxy} (${proxyUid})`);
    if ((s.mode & 0o077) !== 0)
      problems.push(`${s.path} mode ${s.mode.toString(8)}: others than ${u.proxy} can connect`);
  }
  if (problems.length > 0) return fail(problems.join('; '));
  return pass(
    `${o.app.length} daemon processes ${inFront.title} as ${u.app}:${u.group} (uid ${appUid}, proxy ${u.proxy} is ${proxyUid}); ${inFront.sockets.map((s) => ('mode' in s ? `${s.path} ${s.mode.toString(8)}, ${u.proxy}'s` : s.path)).join(', ')}`,
  );
}
