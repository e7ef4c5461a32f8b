// The gateway's own TLS against nginx's, on the same certificate (EC P-256 from a throwaway
// openssl CA) and the same uWSGI backend (uwsgi protocol, 2 processes), both with Mozilla's
// intermediate profile and session tickets off, driven by wrk over https on loopback in
// alternating rounds:
//   handshakes: every request on a new connection (`Connection: close`), so each one is a full
//               TLS handshake (no tickets, no session cache on either side) — handshakes/s;
//   keep-alive: the same 50 connections for the whole round — requests/s over TLS.
// The gateway is the built dist/ with `workers: auto`, nginx `worker_processes auto`, as in
// bench/gateway.ts. Besides req/s, the CPU the proxy's processes spent per 1000 requests
// (from /proc): on a shared machine other load moves req/s far more than it moves that. Knobs: BENCH_ROUNDS (5), BENCH_SECONDS (5), BENCH_CONNECTIONS (50),
// BENCH_TLS_GATEWAY_WORKERS (auto).

import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MOZILLA_INTERMEDIATE } from '../src/tls/mozilla.js';
import { makeTestCa } from '../test/helpers/tls-ca.js';
import { freePort, HELLO_APP, median, start, stopAll, type WrkResult, waitFor, wrk } from './gateway.js';

type Measured = WrkResult & { cpuMsPer1000: number };

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const WORKERS = process.env['BENCH_TLS_GATEWAY_WORKERS'] ?? 'auto';

/** CPU seconds (user + system) used so far by a process and its children (/proc). */
function cpuSeconds(rootPid: number): number {
  const ticks = (pid: string) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]) };
    } catch {
      return null;
    }
  };
  let total = ticks(String(rootPid))?.cpu ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const t = ticks(entry);
    if (t !== null && t.ppid === rootPid) total += t.cpu;
  }
  return total / 100; // USER_HZ
}

/** A wrk round and the CPU the proxy spent on it: requests/s and CPU ms per 1000 requests. */
async function measured(url: string, extra: readonly string[], pid: number) {
  const before = cpuSeconds(pid);
  const r = await wrk(url, SECONDS, extra);
  const cpuMsPer1000 = ((cpuSeconds(pid) - before) * 1000 * 1000) / (r.rps * SECONDS);
  return { ...r, cpuMsPer1000 };
}

export async function runTlsBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-tls-'));
  chmodSync(dir, 0o755);
  const cleanup = async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ca = makeTestCa(dir);
    const leaf = ca.issue('site', ['bench.test', '127.0.0.1']);
    chmodSync(leaf.key, 0o644);
    writeFileSync(join(dir, 'hello.py'), HELLO_APP);
    const sock = join(dir, 'uwsgi.sock');
    start('/usr/bin/uwsgi', [
      '--plugin',
      'python3',
      '--chmod-socket=666',
      '--processes',
      '2',
      '--master',
      '--socket',
      sock,
      '--wsgi-file',
      join(dir, 'hello.py'),
      '--callable',
      'app',
      '--disable-logging',
      '--die-on-term',
    ]);
    const nginxPort = await freePort();
    const gatewayPort = await freePort();
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/ngx-body; proxy_temp_path ${dir}/ngx-proxy;
  fastcgi_temp_path ${dir}/ngx-fcgi; uwsgi_temp_path ${dir}/ngx-uwsgi; scgi_temp_path ${dir}/ngx-scgi;
  server {
    listen 127.0.0.1:${nginxPort} ssl;
    ssl_certificate ${leaf.cert};
    ssl_certificate_key ${leaf.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ${MOZILLA_INTERMEDIATE.tls12Ciphers.join(':')};
    ssl_ecdh_curve ${MOZILLA_INTERMEDIATE.ecdhCurve};
    ssl_prefer_server_ciphers off;
    ssl_session_tickets off;
    location /uwsgi/ { include /etc/nginx/uwsgi_params; uwsgi_pass unix:${sock}; }
  }
}
`,
    );
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `listen: []
workers: ${WORKERS}
access_log: "off"
locations:
  - {path: /uwsgi/, upstream: ["uwsgi://unix:${sock}"]}
tls:
  cert: ${leaf.cert}
  key: ${leaf.key}
  listen: ["127.0.0.1:${gatewayPort}"]
  redirect_http: false
  http2: true
`,
    );
    await waitFor({ path: sock }, 'uWSGI');
    start('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
    await run(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
      },
    );
    const gateway = start(process.execPath, [
      join(ROOT, 'bin', 'stackgen.js'),
      'gateway',
      '--config',
      join(dir, 'gateway.yaml'),
    ]);
    await waitFor({ port: nginxPort }, 'nginx');
    await waitFor({ port: gatewayPort }, 'gateway');
    const nginxPid = Number(readFileSync(join(dir, 'nginx.pid'), 'utf8'));

    const modes = [
      { name: 'handshakes/s (new connection per request)', extra: ['-H', 'Connection: close'] },
      { name: 'keep-alive req/s over TLS', extra: [] },
    ];
    process.stdout.write(
      `wrk over https (HTTP/1.1), ${ROUNDS} alternating rounds × ${SECONDS}s; gateway workers: ${WORKERS}; EC P-256 certificate\n`,
    );
    const rows: string[] = [];
    for (const mode of modes) {
      const nginxUrl = `https://127.0.0.1:${nginxPort}/uwsgi/`;
      const gatewayUrl = `https://127.0.0.1:${gatewayPort}/uwsgi/`;
      await wrk(nginxUrl, 1, mode.extra);
      await wrk(gatewayUrl, 1, mode.extra);
      const n: Measured[] = [];
      const g: Measured[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        n.push(await measured(nginxUrl, mode.extra, nginxPid));
        g.push(await measured(gatewayUrl, mode.extra, gateway.pid as number));
        process.stdout.write(
          `  ${mode.name} round ${round + 1}: nginx ${n.at(-1)?.rps.toFixed(0)}, gateway ${g.at(-1)?.rps.toFixed(0)}\n`,
        );
      }
      const nr = median(n.map((r) => r.rps));
      const gr = median(g.map((r) => r.rps));
      const n99 = median(n.map((r) => r.p99ms));
      const g99 = median(g.map((r) => r.p99ms));
      const nCpu = median(n.map((r) => r.cpuMsPer1000));
      const gCpu = median(g.map((r) => r.cpuMsPer1000));
      rows.push(
        `| ${mode.name} | ${nr.toFixed(0)} | ${gr.toFixed(0)} | ${(gr / nr).toFixed(2)} | ${n99.toFixed(2)} | ${g99.toFixed(2)} | ${nCpu.toFixed(0)} | ${gCpu.toFixed(0)} | ${(nCpu / gCpu).toFixed(2)} |`,
      );
    }
    process.stdout.write(
      '\n| measure | nginx | gateway | ratio | nginx p99 ms | gateway p99 ms | nginx CPU ms/1000 | gateway CPU ms/1000 | CPU ratio |\n|---|---|---|---|---|---|---|---|---|\n' +
        `${rows.join('\n')}\n(medians over ${ROUNDS} rounds; CPU = user+system of the proxy's processes per 1000 requests, less sensitive than req/s to other load on the machine; CPU ratio = nginx/gateway, 1.0 = as efficient)\n`,
    );
  } finally {
    await cleanup();
  }
}
