// The kernel's view of the stack's processes, from /proc: which live processes belong to a
// run (by process group, or by a command line / working directory / environment naming the
// run's temp dir), and who holds a listening TCP port. Zombies are dead: they are skipped.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  pgid: number;
  state: string;
  cmdline: string;
}

/** Fields of /proc/<pid>/stat after the parenthesised comm (which may hold spaces). Pure. */
export function parseStat(text: string): { state: string; ppid: number; pgid: number } | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const [state = '', ppid = '0', pgid = '0'] = text.slice(close + 2).split(' ');
  return { state, ppid: Number(ppid), pgid: Number(pgid) };
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Every live (non-zombie) process on the machine. */
export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    const parsed = stat === null ? null : parseStat(stat);
    if (!parsed || parsed.state === 'Z' || parsed.state === 'X') continue;
    const cmdline = (read(`/proc/${entry}/cmdline`) ?? '').replace(/\0/g, ' ').trim();
    out.push({ pid: Number(entry), pgid: parsed.pgid, state: parsed.state, cmdline });
  }
  return out;
}

/** Live processes in any of these process groups. */
export function processesInGroups(pgids: ReadonlySet<number>): ProcInfo[] {
  return listProcesses().filter((p) => pgids.has(p.pgid));
}

/**
 * Processes that belong to a verify run: in one of its process groups, or naming its temp
 * dir in their command line, working directory or environment (supervisor's programs and
 * uvicorn's spawned workers are found this way).
 */
export function processesOfRun(dir: string, pgids: ReadonlySet<number>): ProcInfo[] {
  const self = process.pid;
  return listProcesses().filter((p) => {
    if (p.pid === self) return false;
    if (pgids.has(p.pgid) || p.cmdline.includes(dir)) return true;
    try {
      if (readlinkSync(`/proc/${p.pid}/cwd`).startsWith(dir)) return true;
    } catch {
      // gone, or not ours to read
    }
    return (read(`/proc/${p.pid}/environ`) ?? '').includes(dir);
  });
}

/** The inode of a socket listening on 127.0.0.1/0.0.0.0:port (from /proc/net/tcp), or null. */
export function listeningInode(port: number): string | null {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (read(table) ?? '').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; st 0A is LISTEN; inode is column 10.
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === '0A') return cols[9] ?? null;
    }
  }
  return null;
}

/** Who holds a listening port: "pid 123 (nginx: master process …)", or null. */
export function portHolder(port: number): string | null {
  const l = portListener(port);
  if (!l) return null;
  return l.pid === null ? l.cmdline : `pid ${l.pid} (${l.cmdline.slice(0, 80)})`;
}

/**
 * The process listening on a TCP port, with the systemd unit it runs in (null outside one),
 * or null when nothing listens there. A socket no process of ours can see (another user's,
 * a namespace's) is `pid: null`.
 */
export function portListener(
  port: number,
): { pid: number | null; cmdline: string; unit: string | null } | null {
  const inode = listeningInode(port);
  if (!inode) return null;
  const p = processHoldingSocket(inode);
  if (!p) return { pid: null, cmdline: 'another process', unit: null };
  return { pid: p.pid, cmdline: p.cmdline, unit: unitOfCgroup(read(`/proc/${p.pid}/cgroup`) ?? '') };
}

/** The systemd unit of a /proc/<pid>/cgroup text ("0::/system.slice/nginx.service"), or null. Pure. */
export function unitOfCgroup(text: string): string | null {
  const path =
    text
      .split('\n')
      .find((l) => l.startsWith('0::'))
      ?.slice(3) ?? '';
  const unit = path
    .split('/')
    .reverse()
    .find((part) => /\.(service|scope)$/.test(part));
  return unit ?? null;
}

/** The process holding a socket: the oldest (lowest pid) of those that do — a master, not its workers. */
function processHoldingSocket(inode: string): ProcInfo | null {
  for (const p of listProcesses().sort((a, b) => a.pid - b.pid)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p.pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${p.pid}/fd/${fd}`) === `socket:[${inode}]`) return p;
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
}
