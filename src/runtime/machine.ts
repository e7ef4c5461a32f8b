// A throwaway real host made from this one (../shared/THROWAWAY-MACHINE.md): this host's
// root filesystem under an overlay whose upper layer is a tmpfs, new pid/mount/net/uts/ipc/
// cgroup namespaces, pivot_root, and systemd as PID 1 — Debian's stock services included.
//
// Everything lives in ONE holder process (a shell in a private mount namespace): it mounts
// the tmpfs and the overlay in its own namespace, so the host's mount table never changes,
// and it starts and kills the machine when told on its stdin. When the holder's stdin
// closes (we exited, even by SIGKILL) it kills the machine and exits, and the kernel drops
// the mounts with the last process that sees them: nothing is left on the host.
//
// WARNING: systemd must never start on this host's own root (its boot empties /tmp and
// starts every enabled service). The boot script refuses unless the marker file exists,
// and the marker is only ever written into the throwaway layer.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { StackgenError } from '../errors.js';
import { findProgram } from '../doctor/probe.js';
import { sleep } from './process.js';
import { DISTRO_REDIS_SERVICE } from '../topology/catalog/tasks.js';
import { DISTRO_PROXIES, PROXIES } from '../topology/catalog/proxies.js';
import type { ProxyKind } from '../stack/schema.js';

/** The file that marks the throwaway layer's root; the boot script refuses to start without it. */
export const MARKER = '.machine-root';
/** Environment variable naming the process that owns a machine (see machineProcesses). */
export const OWNER_ENV = 'STACKGEN_MACHINE_OWNER';
/** Where the holder mounts the layer: a directory every Debian has, covered in its namespace only. */
const LAYER_MOUNT = '/mnt';
const SYSTEMD = '/lib/systemd/systemd';
/** The environment commands inside get (systemd's own PATH, no host session variables). */
const INSIDE_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/root',
  TERM: 'dumb',
};

/**
 * Services enabled on this host that a proof does not need and that only cost boot time or
 * reach for a network the machine does not have. nginx and supervisor stay: they are the point.
 * The other web servers a test host may have installed (Debian enables apache2 and lighttpd on
 * install, and either takes port 80 from nginx at boot) are not part of a stock nginx server.
 * A proxy.kind lighttpd stack runs lighttpd as a unit of its own (catalog proxies.ts), so
 * Debian's lighttpd.service stays masked for it too. A proxy.kind apache stack is run by
 * Debian's apache2.service: machineMasks unmasks it for that stack (and masks nginx).
 * Debian's redis-server.service (loopback TCP, shared by every local user) is not what a
 * `tasks:` stack uses: it runs its own Redis on a unix socket.
 */
export const MASKED_UNITS = [
  DISTRO_REDIS_SERVICE,
  'apache2.service',
  'lighttpd.service',
  'php8.2-fpm.service',
  'postgresql.service',
  'systemd-timesyncd.service',
  'getty@tty1.service',
  'console-getty.service',
  'e2scrub_reap.service',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'e2scrub_all.timer',
  'fstrim.timer',
  'man-db.timer',
];

/**
 * The units a machine masks for a stack with this front. A front Debian runs as its own
 * service (catalog distro.unit: apache2.service) is unmasked for it, and the other
 * distribution fronts are masked instead: a stock Apache server has no nginx, whose default
 * site would hold port 80 that Debian's ports.conf gives Apache. Pure.
 */
export function machineMasks(front: ProxyKind): string[] {
  const own = PROXIES[front].distro?.unit;
  if (!own) return [...MASKED_UNITS];
  const others = DISTRO_PROXIES.filter((k) => k !== front).map(
    (k) => PROXIES[k].distro!.unit ?? `${PROXIES[k].distro!.service}.service`,
  );
  return [...MASKED_UNITS.filter((u) => u !== own), ...others.filter((u) => !MASKED_UNITS.includes(u))];
}

// Runs in the holder's private mount namespace. $1: layer mount point, $2: the boot script,
// then pairs HOST-PATH MACHINE-PATH the machine must see that the overlay does not show
// (another filesystem, or a directory the boot empties). Each gets an overlay of its own,
// copy-on-write like / itself: the machine may write there (install creates app.writable
// below an app root in a checkout under /tmp, as CI's is), the host's files never change.
// Where the overlay cannot be mounted (a lower filesystem overlayfs refuses, a path with a
// ':' or ','), a read-only bind instead: seen, never written.
const HOLDER = `
set -eu
D=$1; BOOT=$2; shift 2
mount -t tmpfs -o mode=0755 stackgen-machine "$D"
mkdir "$D/upper" "$D/work" "$D/root"
mount -t overlay stackgen-machine -o lowerdir=/,upperdir="$D/upper",workdir="$D/work" "$D/root"
n=0
while [ "$#" -ge 2 ]; do
  n=$((n + 1))
  mkdir -p "$D/root$2" "$D/view$n/upper" "$D/view$n/work"
  if ! mount -t overlay stackgen-machine -o lowerdir="$1",upperdir="$D/view$n/upper",workdir="$D/view$n/work" "$D/root$2" 2>/dev/null; then
    mount --rbind "$1" "$D/root$2"
    mount -o remount,bind,ro "$D/root$2"
  fi
  shift 2
done
: > "$D/root/${MARKER}"
echo layer
pid=
halt() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi
}
while read -r cmd; do
  case "$cmd" in
    boot)
      unshare --fork --kill-child --pid --mount --net --uts --ipc --cgroup --propagation private \\
        /bin/sh -c "$BOOT" machine-boot "$D/root" </dev/null 1>&2 &
      pid=$!
      echo "booted $pid";;
    halt) halt; echo halted;;
  esac
done
halt
`;

// Runs as the first process of the new namespaces. $1: the overlay root.
export const BOOT = `
set -eu
R=$1
if [ ! -f "$R/${MARKER}" ]; then
  echo "stackgen machine: no $R/${MARKER}: refusing to start systemd on anything but the throwaway layer" >&2
  exit 97
fi
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
exec ${SYSTEMD} --system
`;

/** Why a throwaway machine cannot be made here, in words; empty when it can. */
export function machineProblems(): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not root: mounts and namespaces need root');
  let filesystems = '';
  try {
    filesystems = readFileSync('/proc/filesystems', 'utf8');
  } catch {
    // reported below
  }
  if (!/\toverlay$/m.test(filesystems)) problems.push('the kernel has no overlayfs (/proc/filesystems)');
  if (!existsSync(SYSTEMD)) problems.push(`no ${SYSTEMD}: apt-get install systemd`);
  for (const tool of ['unshare', 'nsenter'])
    if (findProgram(tool) === null) problems.push(`no ${tool}: apt-get install util-linux`);
  if (!isDirectory(LAYER_MOUNT)) problems.push(`no ${LAYER_MOUNT} directory to mount the layer on`);
  return problems;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Mount points under which the host's files are not part of the root filesystem (need a bind). */
export function nestedMountsCovering(paths: string[], mounts: string[]): string[] {
  const out = new Set<string>();
  for (const path of paths) {
    const covering = mounts
      .filter((m) => m !== '/' && (path === m || path.startsWith(`${m}/`)))
      .sort((a, b) => b.length - a.length)[0];
    if (covering) out.add(covering);
  }
  return [...out].sort();
}

/**
 * Directories the machine empties at boot or hides from its units (PrivateTmp=): a host
 * path under one is bound elsewhere inside, below HOST_VIEW.
 */
export const HIDDEN_IN_MACHINE = ['/tmp', '/var/tmp', '/run', '/dev/shm'];
/** Where hidden host paths appear inside a machine (a checkout under /tmp, in CI). */
export const HOST_VIEW = '/opt/stackgen-host';

/**
 * How host paths appear inside a machine: binds for what the overlay of / does not show
 * (another filesystem: same path; a hidden directory: below HOST_VIEW), and the mapping of a
 * host path to its machine path. Pure.
 */
export function machineView(
  visible: string[],
  mounts: string[],
): { binds: Array<{ from: string; to: string }>; inside: (path: string) => string } {
  const hidden = (p: string) => HIDDEN_IN_MACHINE.some((d) => p === d || p.startsWith(`${d}/`));
  const candidates = [...new Set(visible.filter(hidden))].sort();
  // A path below another bound one is already there.
  const moved = candidates.filter((p) => !candidates.some((q) => q !== p && p.startsWith(`${q}/`)));
  const binds = [
    ...nestedMountsCovering(
      visible.filter((p) => !hidden(p)),
      mounts,
    ).map((m) => ({ from: m, to: m })),
    ...moved.map((p) => ({ from: p, to: `${HOST_VIEW}${p}` })),
  ];
  const inside = (path: string) => {
    const base = moved.find((m) => path === m || path.startsWith(`${m}/`));
    return base ? `${HOST_VIEW}${path}` : path;
  };
  return { binds, inside };
}

function hostMounts(): string[] {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith('/'))
      .map((m) => m.replace(/\\040/g, ' '));
  } catch {
    return [];
  }
}

export interface MachineOptions {
  /** Host paths the machine must see (the stackgen checkout, the stack's files). */
  visible: string[];
  /** Seconds to wait for `systemctl is-system-running` to settle. */
  bootSeconds?: number;
  /** Where the holder's and systemd's console output goes. */
  log?: (line: string) => void;
  /** The units to mask (default MASKED_UNITS; machineMasks says which a stack needs). */
  masked?: readonly string[];
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Machine {
  /** PID 1 of the machine, as the host sees it. */
  readonly pid: number;
  /** Milliseconds the last boot took, until systemd said running (or degraded). */
  readonly bootMs: number;
  /** systemd's verdict after boot: running, or degraded with the failed units. */
  readonly state: string;
  /** The machine's path of a host path (its `visible` paths under /tmp appear below HOST_VIEW). */
  inside(hostPath: string): string;
  /** The same for a command line: plain paths and file:// URLs are mapped. */
  insideArgv(argv: string[]): string[];
  /** Run a command inside: every namespace of PID 1, its root and working directory. */
  exec(argv: string[], options?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Start a command inside with piped stdio (a long-running pass streaming events). */
  spawn(argv: string[]): ChildProcess;
  /**
   * The host path of a path inside the machine (through /proc/PID1/root), for this
   * process's own file calls. Never hand it to a tool that canonicalizes paths: realpath
   * resolves /proc/PID/root to the host's own / (run such tools inside with exec()).
   */
  path(inside: string): string;
  /** Power cycle: SIGKILL PID 1 (no shutdown runs), boot again on the same disk layer. */
  reboot(): Promise<void>;
  /** Throw the machine away: SIGKILL PID 1, the layer and its mounts go with the holder. */
  dispose(): Promise<void>;
}

/** Boot a throwaway machine; throws SG_ERR_MACHINE_UNAVAILABLE when this host cannot. */
export async function bootMachine(options: MachineOptions): Promise<Machine> {
  const problems = machineProblems();
  if (problems.length > 0)
    throw new StackgenError(
      'SG_ERR_MACHINE_UNAVAILABLE',
      `cannot make a throwaway machine here: ${problems.join('; ')}`,
      {
        hint: 'run as root on a Debian host with systemd installed, or use --target sandbox (the default)',
      },
    );
  const log = options.log ?? (() => {});
  const { binds, inside } = machineView(options.visible, hostMounts());
  const holder = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      HOLDER,
      'stackgen-holder',
      LAYER_MOUNT,
      BOOT,
      ...binds.flatMap((b) => [b.from, b.to]),
    ],
    // The owner's pid in the environment of the holder and the machine's PID 1: leak checks
    // can tell whose machine a process belongs to.
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, [OWNER_ENV]: String(process.pid) } },
  );
  const lines = createInterface({ input: holder.stdout! });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  createInterface({ input: holder.stderr! }).on('line', log);
  let holderExited = false;
  holder.once('exit', () => {
    holderExited = true;
    for (const w of waiting.splice(0)) w('exited');
  });
  const nextLine = (timeoutMs: number) =>
    new Promise<string>((resolve) => {
      if (holderExited) return resolve('exited');
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const fail = async (why: string): Promise<never> => {
    holder.stdin!.end();
    holder.kill('SIGKILL');
    throw new StackgenError('SG_ERR_MACHINE_UNAVAILABLE', `the throwaway machine did not boot: ${why}`, {
      hint: 'run with STACKGEN_DEBUG=1 to see systemd’s console output',
    });
  };
  if ((await nextLine(10_000)) !== 'layer') return fail('the overlay layer could not be mounted');
  const holderPid = holder.pid!;
  const layerRoot = `/proc/${holderPid}/root${LAYER_MOUNT}/root`;
  // Mask what a proof does not need before the first boot (the upper layer only).
  for (const unit of options.masked ?? MASKED_UNITS) {
    const link = `${layerRoot}/etc/systemd/system/${unit}`;
    try {
      rmSync(link, { force: true });
      symlinkSync('/dev/null', link);
    } catch (err) {
      log(`could not mask ${unit}: ${(err as Error).message}`);
    }
  }
  let pid = 0;
  let bootMs = 0;
  let state = '';

  const exec: Machine['exec'] = async (argv, o = {}) => {
    const r = await execa('nsenter', ['-t', String(pid), '-a', '-r', '-w', ...argv], {
      reject: false,
      input: o.input,
      stdin: o.input === undefined ? 'ignore' : undefined,
      timeout: o.timeoutMs ?? 120_000,
      env: INSIDE_ENV,
      extendEnv: false,
    });
    return { code: r.exitCode ?? null, stdout: r.stdout, stderr: r.stderr };
  };

  const boot = async (): Promise<void> => {
    const t0 = Date.now();
    holder.stdin!.write('boot\n');
    const answer = await nextLine(10_000);
    const unsharePid = Number(/^booted (\d+)$/.exec(answer)?.[1]);
    if (!unsharePid) return fail(`no machine process (${answer})`);
    // PID 1 is the child unshare forked into the new pid namespace.
    const deadline = Date.now() + (options.bootSeconds ?? 60) * 1000;
    while (pid === 0 || !isSystemd(pid)) {
      pid = childOf(unsharePid) ?? 0;
      if (Date.now() > deadline) return fail('systemd did not start');
      if (holderExited) return fail('the holder exited');
      await sleep(20);
    }
    for (;;) {
      const r = await exec(['systemctl', 'is-system-running'], { timeoutMs: 10_000 });
      state = r.stdout.trim();
      if (state === 'running' || state === 'degraded') break;
      if (Date.now() > deadline)
        return fail(`systemd still says "${state}" after ${options.bootSeconds ?? 60} s`);
      await sleep(50);
    }
    if (state === 'degraded') {
      const failed = await exec(['systemctl', '--failed', '--no-legend', '--plain']);
      state = `degraded (failed: ${failed.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0])
        .join(', ')})`;
    }
    bootMs = Date.now() - t0;
  };

  const halt = async (): Promise<void> => {
    if (holderExited) return;
    const old = pid;
    holder.stdin!.write('halt\n');
    await nextLine(10_000);
    // The pid namespace dies with its PID 1; wait until the kernel has reaped it.
    const deadline = Date.now() + 10_000;
    while (old && existsSync(`/proc/${old}`) && Date.now() < deadline) await sleep(20);
    pid = 0;
  };

  await boot();
  return {
    get pid() {
      return pid;
    },
    get bootMs() {
      return bootMs;
    },
    get state() {
      return state;
    },
    inside,
    insideArgv: (argv) =>
      argv.map((a) =>
        a.startsWith('file://')
          ? pathToFileURL(inside(fileURLToPath(a))).href
          : a.startsWith('/')
            ? inside(a)
            : a,
      ),
    exec,
    spawn: (argv) =>
      spawn('nsenter', ['-t', String(pid), '-a', '-r', '-w', ...argv], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: INSIDE_ENV,
      }),
    path: (inside) => `/proc/${pid}/root${inside}`,
    reboot: async () => {
      await halt();
      await boot();
    },
    dispose: async () => {
      await halt();
      holder.stdin!.end();
      if (!holderExited) await new Promise((done) => holder.once('exit', done));
    },
  };
}

/** The first child of a process (unshare --fork's child is the new namespace's PID 1). */
function childOf(pid: number): number | null {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    const first = Number(children[0]);
    return first > 0 ? first : null;
  } catch {
    return null;
  }
}

function isSystemd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'systemd';
  } catch {
    return false;
  }
}

/**
 * Live processes of throwaway machines on this host (for leak checks): holder shells, and
 * systemd running as PID 1 of a pid namespace other than ours — of the machines these
 * owner processes booted, or of all. Zombies are dead: skipped.
 */
export function machineProcesses(owners?: number[]): number[] {
  const out: number[] = [];
  let ours = '';
  try {
    ours = readlinkSync('/proc/self/ns/pid');
  } catch {
    // no /proc: nothing to find either
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const holder = cmd.includes('stackgen-holder') || cmd.includes('machine-boot');
      const pid1 = cmd.startsWith(`${SYSTEMD}\0--system`) && readlinkSync(`/proc/${entry}/ns/pid`) !== ours;
      if (!holder && !pid1) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      const owner = new RegExp(`(?:^|\\0)${OWNER_ENV}=(\\d+)`).exec(environ)?.[1];
      if (owners === undefined || owners.includes(Number(owner))) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}
