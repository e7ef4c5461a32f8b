// Gateway vs nginx in front of the same backends, driven by wrk on loopback, in alternation
// (nginx round, gateway round, …) so drift on a shared machine hits both alike.
//   uwsgi:   uWSGI (2 processes) ← nginx uwsgi_pass   | gateway uwsgi://
//   http:    gunicorn (2 workers) ← nginx proxy_pass  | gateway http://
//   fastcgi: uWSGI --fastcgi-socket ← nginx fastcgi_pass | gateway fastcgi://
//   post:    the uwsgi backend again, a POST with a 1 KiB body (the fast lane reads bodies too)
// Every protocol runs with the access logs off and on (nginx's access_log to a file, the
// gateway's access_log to a file): one nginx + one gateway per setting, all four alternating.
// Every round reads the proxy's CPU time (utime + stime of its processes, /proc/PID/stat)
// before and after wrk: µs per answered request, and the cores it kept busy. Next to the uwsgi
// rows without logs, bench/node-floor.mjs (the least a Node proxy can do there) runs too.
// Then: RSS of each proxy idle and holding BENCH_IDLE_CONNECTIONS (10,000) idle keep-alive
// connections (one answered request each); the bench raises its own fd limit (prlimit, which
// its children inherit) so that many loopback sockets fit.
// The gateway is the BUILT code (tsc → dist/, started as `node bin/stackgen.js gateway`), with
// `workers: auto` (BENCH_GATEWAY_WORKERS to try another count), as nginx runs
// `worker_processes auto`; both front the very same backends.
// Knobs: BENCH_ROUNDS (5), BENCH_SECONDS (5), BENCH_CONNECTIONS (50), BENCH_PROTOCOLS (uwsgi,http,fastcgi,post),
// BENCH_LOGS (off,on), BENCH_IDLE_CONNECTIONS (10000),
// BENCH_GATEWAY_NODE_ARGS (extra node flags for the gateway, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 50);
const PROTOCOLS = (process.env['BENCH_PROTOCOLS'] ?? 'uwsgi,http,fastcgi,post').split(',');
const LOGS = (process.env['BENCH_LOGS'] ?? 'off,on').split(',') as Array<'off' | 'on'>;
const WANTED_IDLE_CONNECTIONS = Number(process.env['BENCH_IDLE_CONNECTIONS'] ?? 10_000);
const GATEWAY_WORKERS = process.env['BENCH_GATEWAY_WORKERS'] ?? 'auto';

/** This process's open-files limit (soft, hard), from /proc/self/limits. */
function fdLimits(): { soft: number; hard: number } {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(
    readFileSync('/proc/self/limits', 'utf8'),
  );
  const n = (v: string | undefined) => (v === undefined || v === 'unlimited' ? 1_048_576 : Number(v));
  return { soft: n(m?.[1]), hard: n(m?.[2]) };
}
const TOOLS = ['/usr/sbin/nginx', '/usr/bin/uwsgi', '/usr/bin/gunicorn', '/usr/bin/wrk', '/usr/bin/python3'];

export const HELLO_APP = `from flask import Flask
app = Flask(__name__)

@app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
@app.route("/<path:path>", methods=["GET", "POST"])
def hello(path):
    return "Hello, World!"
`;

export interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  /** CPU (user + system) the proxy's processes spent per answered request, µs; NaN if not asked. */
  cpuUs: number;
  /** That CPU as a share of one core over the run (1 = one core busy all the time). */
  cores: number;
}

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** utime + stime (ticks) of `rootPid` and its children, from /proc. */
function cpuTicks(rootPid: number): number {
  let ticks = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return ticks;
}

/** `rootPid` and its direct children (nginx's workers, the gateway's cluster workers). */
function processTree(rootPid: number): number[] {
  const pids = [rootPid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === rootPid) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

const started: ChildProcess[] = [];
/** The last stderr lines of each started process, shown when a wrk run saw errors. */
const stderrTails = new Map<string, () => string>();

/** Start a process in its own group (so the whole tree can be stopped). */
export function start(command: string, args: string[], cwd?: string): ChildProcess {
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  stderrTails.set(`${command} ${args.slice(0, 3).join(' ')}`, () => tail);
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`bench: ${command} exited early (${signal ?? code}):\n${tail}\n`);
  });
  started.push(child);
  return child;
}

let stopping = false;

export async function stopAll(): Promise<void> {
  stopping = true;
  for (const child of started) {
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
  }
  await new Promise((r) => setTimeout(r, 1500));
  for (const child of started) {
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitFor(address: { port: number } | { path: string }, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = 'path' in address ? connect(address.path) : connect(address.port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** wrk latency value (`812.00us`, `1.20ms`, `2.01s`) → milliseconds. */
function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

/** wrk against `url` for `seconds`; `extra` are more wrk arguments (e.g. a header). */
export async function wrk(
  url: string,
  seconds: number,
  extra: readonly string[] = [],
  cpuOf?: number,
): Promise<WrkResult> {
  const ticksBefore = cpuOf === undefined ? 0 : cpuTicks(cpuOf);
  const startedAt = performance.now();
  const { stdout } = await run(
    '/usr/bin/wrk',
    ['-c', String(CONNECTIONS), '-t', '2', '-d', `${seconds}s`, '--latency', ...extra, url],
    {
      timeout: (seconds + 30) * 1000,
    },
  );
  const elapsedS = (performance.now() - startedAt) / 1000;
  const cpuS = cpuOf === undefined ? Number.NaN : (cpuTicks(cpuOf) - ticksBefore) / TICKS_PER_SECOND;
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '');
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1];
  if (errors) {
    const tails = [...stderrTails].map(([what, tail]) => `--- ${what}\n${tail().slice(-1500)}`).join('\n');
    throw new Error(`wrk saw ${errors} error responses from ${url}\n${tails}`);
  }
  return { rps, p50ms: p50, p99ms: p99, cpuUs: (cpuS / requests) * 1e6, cores: cpuS / elapsedS };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** VmRSS (KiB) of a process and its children, from /proc. */
function rssKiB(rootPid: number): { total: number; pids: number[] } {
  const pids = processTree(rootPid);
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += Number(m?.[1] ?? 0);
    } catch {}
  }
  return { total, pids };
}

/**
 * Open `n` keep-alive connections, one request on each, keep them open; measure RSS. Opened in
 * batches (a listen backlog is 511), each connection given 10 s, the whole at most 120 s.
 */
async function rssUnderConnections(port: number, path: string, pid: number, n: number) {
  const before = rssKiB(pid).total;
  const sockets: Socket[] = [];
  let answered = 0;
  const deadline = Date.now() + 120_000;
  const one = () =>
    new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`));
      sockets.push(s);
      const timer = setTimeout(resolve, 10_000);
      s.once('data', () => {
        answered++;
        clearTimeout(timer);
        resolve();
      });
      s.once('error', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  for (let opened = 0; opened < n && Date.now() < deadline; opened += 500)
    await Promise.all(Array.from({ length: Math.min(500, n - opened) }, one));
  await new Promise((r) => setTimeout(r, 1_000));
  const after = rssKiB(pid);
  const open = sockets.filter((s) => !s.destroyed).length;
  for (const s of sockets) s.destroy();
  // Let the proxy see the closes before the next measurement.
  await new Promise((r) => setTimeout(r, 2_000));
  return { before, after: after.total, processes: after.pids.length, answered, open };
}

const POST_SCRIPT = `wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
`;

/** One row of the bench table: `g` (the gateway, or the Node floor) against nginx's `n`. */
function tableRow(label: string, logs: string, n: WrkResult[], g: WrkResult[]): string {
  const nr = median(n.map((r) => r.rps));
  const gr = median(g.map((r) => r.rps));
  const n99 = median(n.map((r) => r.p99ms));
  const g99 = median(g.map((r) => r.p99ms));
  const ratios = g.map((r, i) => r.rps / (n[i] as WrkResult).rps);
  const latency = (rs: WrkResult[], p99: number) =>
    `${median(rs.map((r) => r.p50ms)).toFixed(2)} / ${p99.toFixed(2)}`;
  return `| ${label.padEnd(7)} | ${logs.padEnd(4)} | ${nr.toFixed(0).padStart(7)} | ${gr.toFixed(0).padStart(7)} | ${(gr / nr).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) | ${latency(n, n99)} | ${latency(g, g99)} | ${(g99 / n99).toFixed(2)} | ${median(n.map((r) => r.cpuUs)).toFixed(0)} / ${median(g.map((r) => r.cpuUs)).toFixed(0)} |`;
}

const loadText = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

export async function runGatewayBench(): Promise<void> {
  const missing = TOOLS.filter((t) => {
    try {
      readFileSync(t, { flag: 'r' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) throw new Error(`bench needs: ${missing.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-'));
  // nginx workers run as nobody when started by root: they must reach the sockets.
  chmodSync(dir, 0o755);
  const cleanup = async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.kill(process.pid, 'SIGINT')));
  try {
    writeFileSync(join(dir, 'hello.py'), HELLO_APP);
    const uwsgiSock = join(dir, 'uwsgi.sock');
    const fcgiSock = join(dir, 'fcgi.sock');
    const gunicornPort = await freePort();
    const uwsgiCommon = ['--plugin', 'python3', '--chmod-socket=666', '--processes', '2', '--master'];
    const uwsgiApp = [
      '--wsgi-file',
      join(dir, 'hello.py'),
      '--callable',
      'app',
      '--disable-logging',
      '--die-on-term',
    ];
    start('/usr/bin/uwsgi', [...uwsgiCommon, '--socket', uwsgiSock, ...uwsgiApp]);
    start('/usr/bin/uwsgi', [...uwsgiCommon, '--fastcgi-socket', fcgiSock, ...uwsgiApp]);
    start('/usr/bin/gunicorn', ['--bind', `127.0.0.1:${gunicornPort}`, '--workers', '2', 'hello:app'], dir);
    writeFileSync(join(dir, 'post.lua'), POST_SCRIPT);
    // Room for the idle connections: as many client sockets here and as many in each proxy
    // (they inherit this limit). The soft limit is raised to the hard one (no privilege needed;
    // raising the hard limit needs CAP_SYS_RESOURCE, which a container may not have): with
    // fewer fds than connections wanted, the bench measures as many as fit and says so.
    const limits = fdLimits();
    if (limits.soft < limits.hard)
      await run('/usr/bin/prlimit', ['--pid', String(process.pid), `--nofile=${limits.hard}:${limits.hard}`]);
    const FD_LIMIT = limits.hard;
    const IDLE_CONNECTIONS = Math.min(WANTED_IDLE_CONNECTIONS, FD_LIMIT - 1_024);
    if (IDLE_CONNECTIONS < WANTED_IDLE_CONNECTIONS)
      process.stdout.write(
        `bench: open-files limit ${FD_LIMIT}: measuring ${IDLE_CONNECTIONS} idle connections, not ${WANTED_IDLE_CONNECTIONS}\n`,
      );
    await waitFor({ path: uwsgiSock }, 'uWSGI (uwsgi)');
    await waitFor({ path: fcgiSock }, 'uWSGI (fastcgi)');
    await waitFor({ port: gunicornPort }, 'gunicorn');
    // Measure what users run: the compiled dist/ through bin/stackgen.js, never tsx (its loader
    // hooks and unminified source maps cost CPU on every worker).
    await run(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
      },
    );
    const gatewayArgs = (process.env['BENCH_GATEWAY_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
    /** One nginx and one gateway per access-log setting, in front of the same backends. */
    const pairs = new Map<
      'off' | 'on',
      { nginxPort: number; gatewayPort: number; gatewayPid: number; nginxDir: string }
    >();
    for (const logs of LOGS) {
      const nginxPort = await freePort();
      const gatewayPort = await freePort();
      const nginxDir = join(dir, `nginx-logs-${logs}`);
      mkdirSync(nginxDir, { mode: 0o755 });
      writeFileSync(
        join(nginxDir, 'nginx.conf'),
        `worker_processes auto;
worker_rlimit_nofile ${FD_LIMIT};
pid ${nginxDir}/nginx.pid;
error_log ${nginxDir}/nginx-error.log;
events { worker_connections ${IDLE_CONNECTIONS + 4096}; }
http {
  access_log ${logs === 'on' ? `${nginxDir}/access.log` : 'off'};
  client_body_temp_path ${nginxDir}/ngx-body; proxy_temp_path ${nginxDir}/ngx-proxy;
  fastcgi_temp_path ${nginxDir}/ngx-fcgi; uwsgi_temp_path ${nginxDir}/ngx-uwsgi; scgi_temp_path ${nginxDir}/ngx-scgi;
  upstream gunicorn { server 127.0.0.1:${gunicornPort}; keepalive 32; }
  server {
    listen 127.0.0.1:${nginxPort};
    location /uwsgi/ { include /etc/nginx/uwsgi_params; uwsgi_pass unix:${uwsgiSock}; }
    location /fastcgi/ { include /etc/nginx/fastcgi_params; fastcgi_pass unix:${fcgiSock}; }
    location /http/ {
      proxy_pass http://gunicorn; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr; proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
      );
      const gatewayYaml = join(dir, `gateway-logs-${logs}.yaml`);
      writeFileSync(
        gatewayYaml,
        `listen: ["127.0.0.1:${gatewayPort}"]
workers: ${GATEWAY_WORKERS}
access_log: ${logs === 'on' ? join(dir, `gateway-access-${logs}.log`) : 'off'}
locations:
  - {path: /uwsgi/, upstream: ["uwsgi://unix:${uwsgiSock}"]}
  - {path: /fastcgi/, upstream: ["fastcgi://unix:${fcgiSock}"]}
  - {path: /http/, upstream: ["http://127.0.0.1:${gunicornPort}"]}
`,
      );
      start('/usr/sbin/nginx', ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-g', 'daemon off;']);
      const gateway = start(process.execPath, [
        ...gatewayArgs,
        join(ROOT, 'bin', 'stackgen.js'),
        'gateway',
        '--config',
        gatewayYaml,
      ]);
      await waitFor({ port: nginxPort }, 'nginx');
      await waitFor({ port: gatewayPort }, 'gateway');
      pairs.set(logs, { nginxPort, gatewayPort, gatewayPid: gateway.pid as number, nginxDir });
    }

    const floorPort = await freePort();
    const floorProcess = start(process.execPath, [
      join(ROOT, 'bench', 'node-floor.mjs'),
      String(floorPort),
      uwsgiSock,
    ]);
    await waitFor({ port: floorPort }, 'the Node floor');
    const floor = { port: floorPort, pid: floorProcess.pid as number };

    process.stdout.write(
      `wrk -c ${CONNECTIONS} -t 2, ${ROUNDS} alternating rounds × ${SECONDS}s per proxy, protocol and access-log setting (${LOGS.join(', ')}); load average at start ${loadText()}\n`,
    );
    const rows: string[] = [];
    for (const proto of PROTOCOLS) {
      const path = proto === 'post' ? '/uwsgi/' : `/${proto}/`;
      const extra = proto === 'post' ? ['-s', join(dir, 'post.lua')] : [];
      for (const logs of LOGS) {
        const pair = pairs.get(logs) as NonNullable<ReturnType<typeof pairs.get>>;
        const nginxUrl = `http://127.0.0.1:${pair.nginxPort}${path}`;
        const gatewayUrl = `http://127.0.0.1:${pair.gatewayPort}${path}`;
        await wrk(nginxUrl, 1, extra);
        await wrk(gatewayUrl, 1, extra);
        const nginxPid = Number(readFileSync(join(pair.nginxDir, 'nginx.pid'), 'utf8'));
        // The Node floor runs beside the uwsgi rows without logs (it writes none).
        const withFloor = proto === 'uwsgi' && logs === 'off';
        const floorUrl = `http://127.0.0.1:${floor.port}${path}`;
        if (withFloor) await wrk(floorUrl, 1, extra);
        const n: WrkResult[] = [];
        const g: WrkResult[] = [];
        const f: WrkResult[] = [];
        const cpu = (r: WrkResult | undefined) =>
          `${r?.rps.toFixed(0)} req/s (${r?.cpuUs.toFixed(0)} µs/req on ${r?.cores.toFixed(2)} cores)`;
        for (let round = 0; round < ROUNDS; round++) {
          n.push(await wrk(nginxUrl, SECONDS, extra, nginxPid));
          g.push(await wrk(gatewayUrl, SECONDS, extra, pair.gatewayPid));
          if (withFloor) f.push(await wrk(floorUrl, SECONDS, extra, floor.pid));
          process.stdout.write(
            `  ${proto} logs ${logs} round ${round + 1}: nginx ${cpu(n.at(-1))}, gateway ${cpu(g.at(-1))}${withFloor ? `, Node floor ${cpu(f.at(-1))}` : ''} (ratio ${((g.at(-1)?.rps ?? 0) / (n.at(-1)?.rps ?? 1)).toFixed(2)}; load ${loadText()})\n`,
          );
        }
        rows.push(tableRow(proto, logs, n, g));
        if (withFloor) rows.push(tableRow(`${proto}, Node floor`, logs, n, f));
      }
    }
    process.stdout.write(
      '\n| backend | logs | nginx req/s | gateway req/s | ratio (per-round range) | nginx p50/p99 ms | gateway p50/p99 ms | p99 ratio | proxy CPU µs/req nginx / gateway |\n' +
        '|---|---|---|---|---|---|---|---|---|\n' +
        `${rows.join('\n')}\n(medians over ${ROUNDS} rounds; load average at end ${loadText()})\n`,
    );

    // RSS on the first pair (logs as LOGS[0]): idle, then with the idle keep-alive connections.
    const pair = pairs.get(LOGS[0] as 'off' | 'on') as NonNullable<ReturnType<typeof pairs.get>>;
    const rss = await rssUnderConnections(pair.gatewayPort, '/uwsgi/', pair.gatewayPid, IDLE_CONNECTIONS);
    process.stdout.write(
      `\ngateway RSS (${rss.processes} processes): ${(rss.before / 1024).toFixed(1)} MiB idle → ${(rss.after / 1024).toFixed(1)} MiB with ${IDLE_CONNECTIONS} keep-alive connections (${rss.answered} answered, ${rss.open} still open when measured)\n`,
    );
    const nginxPid = Number(readFileSync(join(pair.nginxDir, 'nginx.pid'), 'utf8'));
    const nginxRss = await rssUnderConnections(pair.nginxPort, '/uwsgi/', nginxPid, IDLE_CONNECTIONS);
    process.stdout.write(
      `nginx RSS (${nginxRss.processes} processes): ${(nginxRss.before / 1024).toFixed(1)} MiB idle → ${(nginxRss.after / 1024).toFixed(1)} MiB with ${IDLE_CONNECTIONS} keep-alive connections (${nginxRss.answered} answered, ${nginxRss.open} still open when measured)\n`,
    );
  } finally {
    await cleanup();
  }
}
