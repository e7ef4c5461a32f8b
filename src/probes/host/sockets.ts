// Listening TCP sockets of this host and the systemd unit of the process that holds each:
// read from /proc (net/tcp, net/tcp6, fd links, cgroup), so the listeners probe needs no
// tool that a minimal Debian might lack. Parsing is pure; readListeners is the I/O.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface Listener {
  address: string;
  port: number;
  /** 127.0.0.0/8 or ::1 (or ::ffff:127.x): unreachable from the network. */
  loopback: boolean;
  inode: number;
  pid: number | null;
  command: string | null;
  /** systemd unit of the process (`nginx.service`), from its cgroup; null when none. */
  unit: string | null;
}

const LISTEN = '0A';

/** IPv4 in /proc/net/tcp: 8 hex digits, little-endian. Pure. */
function ipv4(hex: string): string {
  const bytes = hex.match(/../g)!.map((b) => Number.parseInt(b, 16));
  return bytes.reverse().join('.');
}

/** IPv6 in /proc/net/tcp6: four 32-bit words, each little-endian; RFC 5952 text. Pure. */
function ipv6(hex: string): string {
  const words = hex.match(/.{8}/g)!.map((w) => w.match(/../g)!.reverse().join(''));
  const groups = words
    .join('')
    .match(/.{4}/g)!
    .map((g) => Number.parseInt(g, 16).toString(16));
  // The longest run of two or more zero groups becomes "::".
  let best = { at: -1, len: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  const head = groups.slice(0, best.at).join(':');
  const tail = groups.slice(best.at + best.len).join(':');
  return `${head}::${tail}`;
}

/** Listening sockets in the text of /proc/net/tcp or tcp6 (without owners). Pure. */
export function parseProcNetTcp(
  text: string,
  family: 4 | 6,
): Array<Omit<Listener, 'pid' | 'command' | 'unit'>> {
  const out: Array<Omit<Listener, 'pid' | 'command' | 'unit'>> = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== LISTEN) continue;
    const [addrHex = '', portHex = ''] = f[1]!.split(':');
    const address = family === 4 ? ipv4(addrHex) : ipv6(addrHex);
    out.push({
      address,
      port: Number.parseInt(portHex, 16),
      loopback: /^127\./.test(address) || address === '::1' || /^::ffff:7f/i.test(address),
      inode: Number(f[9]),
    });
  }
  return out;
}

/** The systemd unit in a /proc/PID/cgroup text (`…/system.slice/x.service`). Pure. */
export function unitOfCgroup(text: string): string | null {
  for (const line of text.split('\n')) {
    const m = /\/([^/]+\.(?:service|scope))(?:\/|$)/.exec(line.split(':')[2] ?? '');
    if (m) return m[1]!;
  }
  return null;
}

/** A /proc file's text, or '' when it is gone (the process exited meanwhile). */
export function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Every socket inode held open on this host, with the pids holding it (first opener first). */
export function socketHolders(): Map<number, number[]> {
  const held = new Map<number, number[]>();
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (!m) continue;
        const pids = held.get(Number(m[1])) ?? [];
        if (!pids.includes(Number(pid))) pids.push(Number(pid));
        held.set(Number(m[1]), pids);
      } catch {
        // closed meanwhile
      }
    }
  }
  return held;
}

/** Every listening TCP socket of this host with its process and unit. */
export function readListeners(): Listener[] {
  const sockets = [
    ...parseProcNetTcp(readProc('/proc/net/tcp'), 4),
    ...parseProcNetTcp(readProc('/proc/net/tcp6'), 6),
  ];
  const held = socketHolders();
  return sockets.map((s) => {
    const pid = held.get(s.inode)?.[0] ?? null;
    return {
      ...s,
      pid,
      command: pid === null ? null : readProc(`/proc/${pid}/cmdline`).replace(/\0/g, ' ').trim() || null,
      unit: pid === null ? null : unitOfCgroup(readProc(`/proc/${pid}/cgroup`)),
    };
  });
}
