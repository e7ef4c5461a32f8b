// Every probe app under templates/apps/, booted under a real server (gunicorn, uvicorn,
// the tornado runner; the CGI script executed with a CGI/1.1 environment), must answer
// the same contract (src/probes/contract.ts). Each server's concurrency model is proven
// from the slow probe's own timestamps: requests overlap exactly as far as the model allows.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  APP_SECURITY_HEADERS,
  type CountResponse,
  type EchoResponse,
  PROBE_APPS,
  PROBE_COMMON_DIR,
  PROBE_COUNTER_ENV,
  type ProbeFramework,
  type SlowResponse,
  TORNADO_RUNNER,
  parseStreamLine,
  probePaths,
} from '../../src/probes/contract.js';
import { describeWith, missingRequirements, type Requirements } from '../helpers/tools.js';
import { WebSocketError, connectWebSocket } from '../helpers/websocket-client.js';

const PYTHON = '/usr/bin/python3';
const TEMPLATES = resolve(import.meta.dirname, '../../templates');
const COMMON_DIR = join(TEMPLATES, PROBE_COMMON_DIR);
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

const workDir = mkdtempSync(join(tmpdir(), 'stackgen-probe-apps-'));

// --- the server matrix -----------------------------------------------------------------

interface ServerCase {
  name: string;
  framework: ProbeFramework;
  requires: Requirements;
  /** argv (first element is the program) for a server on 127.0.0.1:port. */
  command: (port: number) => string[];
  /** How many of three simultaneous slow requests the model runs at once. */
  parallelism: number;
  /** Worker processes: more than one must all count into the same file. */
  workers: number;
  /** The response body reaches the client while the app is still producing it. */
  streams: boolean;
  /**
   * What the app makes of a chunked (Content-Length-less) upload sent straight to the
   * server: the whole body, an empty one, or a 400 from the framework itself.
   */
  readsChunkedBody: true | 'empty' | 'refused';
  websocket: boolean;
}

const appDir = (framework: ProbeFramework) => join(TEMPLATES, PROBE_APPS[framework].dir);
const entry = (framework: ProbeFramework) => PROBE_APPS[framework].entry;

function gunicorn(framework: ProbeFramework, workerArgs: string[]): (port: number) => string[] {
  return (port) => [
    PYTHON,
    '-m',
    'gunicorn',
    '--bind',
    `127.0.0.1:${port}`,
    ...workerArgs,
    '--graceful-timeout',
    '5',
    '--chdir',
    appDir(framework),
    entry(framework),
  ];
}

function uvicorn(framework: ProbeFramework): (port: number) => string[] {
  return (port) => [
    PYTHON,
    '-m',
    'uvicorn',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--ws',
    'websockets',
    '--app-dir',
    appDir(framework),
    entry(framework),
  ];
}

function tornadoRunner(framework: ProbeFramework, mode: '--app' | '--wsgi'): (port: number) => string[] {
  return (port) => [
    PYTHON,
    join(TEMPLATES, TORNADO_RUNNER),
    '--app-dir',
    appDir(framework),
    mode,
    entry(framework),
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
  ];
}

const WSGI_SERVER = { streams: true, readsChunkedBody: true as const, websocket: false };
const ASGI_SERVER = {
  parallelism: 3,
  workers: 1,
  streams: true,
  readsChunkedBody: true as const,
  websocket: true,
};

const CASES: ServerCase[] = [
  {
    name: 'flask under gunicorn (sync, 2 workers)',
    framework: 'flask',
    requires: { pythonModules: ['flask', 'gunicorn'] },
    command: gunicorn('flask', ['--worker-class', 'sync', '--workers', '2']),
    parallelism: 2,
    workers: 2,
    ...WSGI_SERVER,
  },
  {
    name: 'flask under gunicorn (gevent)',
    framework: 'flask',
    requires: { pythonModules: ['flask', 'gunicorn', 'gevent'] },
    command: gunicorn('flask', ['--worker-class', 'gevent', '--workers', '1']),
    parallelism: 3,
    workers: 1,
    ...WSGI_SERVER,
  },
  {
    name: 'bottle under gunicorn (gthread, 4 threads)',
    framework: 'bottle',
    requires: { pythonModules: ['bottle', 'gunicorn'] },
    command: gunicorn('bottle', ['--worker-class', 'gthread', '--workers', '1', '--threads', '4']),
    parallelism: 3,
    workers: 1,
    ...WSGI_SERVER,
    // gunicorn de-chunks the body but keeps HTTP_TRANSFER_ENCODING; Bottle 0.12 then
    // de-chunks it again and answers 400 ("Error while parsing chunked transfer body").
    readsChunkedBody: 'refused',
  },
  {
    name: 'plain WSGI under gunicorn (sync, 1 worker)',
    framework: 'wsgi',
    requires: { pythonModules: ['gunicorn'] },
    command: gunicorn('wsgi', ['--worker-class', 'sync', '--workers', '1']),
    parallelism: 1,
    workers: 1,
    ...WSGI_SERVER,
  },
  {
    name: 'django (WSGI) under gunicorn (sync, 1 worker)',
    framework: 'django',
    requires: { pythonModules: ['django', 'gunicorn'] },
    command: gunicorn('django', ['--worker-class', 'sync', '--workers', '1']),
    parallelism: 1,
    workers: 1,
    ...WSGI_SERVER,
    // Django 3.2's request.body reads CONTENT_LENGTH bytes only; gunicorn passes none.
    readsChunkedBody: 'empty',
  },
  {
    name: 'fastapi under uvicorn',
    framework: 'fastapi',
    requires: { pythonModules: ['fastapi', 'uvicorn', 'websockets'] },
    command: uvicorn('fastapi'),
    ...ASGI_SERVER,
  },
  {
    name: 'starlette under uvicorn',
    framework: 'starlette',
    requires: { pythonModules: ['starlette', 'uvicorn', 'websockets'] },
    command: uvicorn('starlette'),
    ...ASGI_SERVER,
  },
  {
    name: 'plain ASGI under uvicorn',
    framework: 'asgi',
    requires: { pythonModules: ['uvicorn', 'websockets'] },
    command: uvicorn('asgi'),
    ...ASGI_SERVER,
  },
  {
    name: 'django (ASGI) under uvicorn',
    framework: 'django-asgi',
    requires: { pythonModules: ['django', 'uvicorn', 'websockets'] },
    command: uvicorn('django-asgi'),
    ...ASGI_SERVER,
  },
  {
    name: 'tornado under the tornado runner',
    framework: 'tornado',
    requires: { pythonModules: ['tornado'] },
    command: tornadoRunner('tornado', '--app'),
    ...ASGI_SERVER,
  },
  {
    // tornado 6.2's WSGIContainer calls the app on the IOLoop thread, buffers the whole
    // response, and passes neither CONTENT_LENGTH nor wsgi.input_terminated for a
    // chunked upload. These expectations pin that, so an upgrade that lifts a limit
    // shows up here.
    name: 'flask under tornado WSGIContainer',
    framework: 'flask',
    requires: { pythonModules: ['flask', 'tornado'] },
    command: tornadoRunner('flask', '--wsgi'),
    parallelism: 1,
    workers: 1,
    streams: false,
    readsChunkedBody: 'empty',
    websocket: false,
  },
];

// --- processes -------------------------------------------------------------------------

interface RunningServer {
  port: number;
  child: ChildProcess;
  log: () => string;
}

const pythonPath = (framework: ProbeFramework) => [appDir(framework), COMMON_DIR].join(delimiter);

/** Free loopback ports, all held open together so parallel servers never get the same one. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((done, fail) => {
          const server = createServer();
          server.once('error', fail);
          server.listen(0, '127.0.0.1', () => done(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

function counterFile(name: string): string {
  return join(workDir, `${name.replace(/[^a-z0-9]+/gi, '-')}.count`);
}

/** Spawn in its own process group (so teardown reaches every worker) and keep a log tail. */
function spawnInGroup(argv: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; log: () => string } {
  const [program, ...args] = argv;
  const child = spawn(program!, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-6000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, log: () => tail };
}

async function startServer(serverCase: ServerCase, port: number): Promise<RunningServer> {
  const argv = serverCase.command(port);
  const { child, log } = spawnInGroup(argv, {
    ...process.env,
    PYTHONPATH: pythonPath(serverCase.framework),
    PYTHONDONTWRITEBYTECODE: '1',
    [PROBE_COUNTER_ENV]: counterFile(serverCase.name),
  });
  const server = { port, child, log };
  running.push(server);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${argv.join(' ')} exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    }
    try {
      const answer = await httpRequest(port, probePaths.pid());
      if (answer.status === 200) return server;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${argv.join(' ')} not ready within ${READY_TIMEOUT_MS} ms:\n${log()}`);
}

/** SIGTERM the process group, SIGKILL it after a grace period; resolves when the leader is gone. */
async function stopServer(server: RunningServer): Promise<void> {
  const { child } = server;
  const exited = new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', () => done());
  });
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
  // Workers may outlive a master that crashed: make sure the whole group is gone.
  signalGroup(child, 'SIGKILL');
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function groupAlive(child: ChildProcess): boolean {
  try {
    process.kill(-child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

const running: RunningServer[] = [];
const started = new Map<string, Promise<RunningServer>>();

beforeAll(async () => {
  const eligible = CASES.filter((serverCase) => missingRequirements(serverCase.requires).length === 0);
  const ports = await freePorts(eligible.length);
  eligible.forEach((serverCase, i) => {
    const start = startServer(serverCase, ports[i]!);
    start.catch(() => {}); // reported by the case's own beforeAll
    started.set(serverCase.name, start);
  });
  await Promise.allSettled(started.values());
});

afterAll(async () => {
  await Promise.all(running.map(stopServer));
  rmSync(workDir, { recursive: true, force: true });
  const leftovers = running.filter((server) => groupAlive(server.child));
  expect(leftovers.map((server) => server.child.pid)).toEqual([]);
});

// --- HTTP --------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** performance.now() of each body chunk's arrival. */
  arrivals: number[];
}

interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Send the body as these pieces, without Content-Length (chunked transfer coding). */
  chunkedBody?: Buffer[];
}

/** One request on its own connection (no agent), so concurrent requests really are concurrent. */
function httpRequest(port: number, path: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((done, fail) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body) headers['Content-Length'] = String(options.body.length);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers,
        agent: false,
        timeout: 20_000,
      },
      (res) => {
        const parts: Buffer[] = [];
        const arrivals: number[] = [];
        res.on('data', (chunk: Buffer) => {
          parts.push(chunk);
          arrivals.push(performance.now());
        });
        res.on('end', () =>
          done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), arrivals }),
        );
        res.on('error', fail);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', fail);
    if (options.chunkedBody) {
      for (const piece of options.chunkedBody) req.write(piece);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

async function getJson<T>(port: number, path: string, options: RequestOptions = {}): Promise<T> {
  const answer = await httpRequest(port, path, options);
  expect(answer.status, answer.body.toString()).toBe(200);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  return JSON.parse(answer.body.toString('utf8')) as T;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Largest number of [start, end] intervals in progress at one moment (touching ends don't count). */
function maxOverlap(intervals: Array<{ start: number; end: number }>): number {
  const slack = 0.02; // seconds: a sequential successor may start a hair before its predecessor's end stamp
  let best = 0;
  for (const { start } of intervals) {
    const at = start + slack;
    best = Math.max(best, intervals.filter((other) => other.start <= at && other.end > at).length);
  }
  return best;
}

// --- the contract, per server ------------------------------------------------------------

/** A path with a 2-byte and a 3-byte UTF-8 character (€ is outside latin-1). */
const UNICODE_PATH = '/caf%C3%A9/%E2%82%AC';
const UNICODE_PATH_DECODED = '/café/€';
const QUERY = 'x=1&y=%C3%A9&z=a+b&empty=';

for (const serverCase of CASES) {
  const app = PROBE_APPS[serverCase.framework];

  describeWith(serverCase.requires)(serverCase.name, () => {
    let port = 0;

    beforeAll(async () => {
      const server = await started.get(serverCase.name);
      if (!server) throw new Error('server was not started (missing requirements?)');
      port = server.port;
    });

    it('echoes method, raw query, decoded non-ASCII path and headers', async () => {
      const echo = await getJson<EchoResponse>(port, `${UNICODE_PATH}?${QUERY}`, {
        headers: { 'X-Probe-Token': 'tok-123', 'X-Forwarded-For': '203.0.113.7', Proxy: 'http://evil:1' },
      });
      expect(echo).toMatchObject({
        app: serverCase.framework,
        interface: app.interface,
        method: 'GET',
        path: UNICODE_PATH_DECODED,
        script_name: '',
        query: QUERY,
        scheme: 'http',
        host: `127.0.0.1:${port}`,
        server_port: port,
        body_length: 0,
        body_sha256: sha256(Buffer.alloc(0)),
      });
      expect(echo.headers['x-probe-token']).toBe('tok-123');
      // Sent straight to the server, a Proxy header does become HTTP_PROXY: proof the
      // field observes it, so "null behind the proxy" means the proxy dropped it.
      expect(echo.environ.HTTP_PROXY).toBe('http://evil:1');
      expect(echo.environ.HTTP_X_FORWARDED_FOR).toBe('203.0.113.7');
      expect(echo.environ.SERVER_PROTOCOL).toBe('HTTP/1.1');
      expect(echo.environ.CONTENT_LENGTH).toBeNull();
      // WSGI reports the server's PEP 3333 native string; the others report text.
      const wsgiNative = Buffer.from(UNICODE_PATH_DECODED, 'utf8').toString('latin1');
      expect(echo.environ.PATH_INFO).toBe(app.interface === 'wsgi' ? wsgiNative : UNICODE_PATH_DECODED);
      if (app.interface === 'wsgi') {
        expect(typeof echo.multiprocess).toBe('boolean');
        expect(typeof echo.multithread).toBe('boolean');
      } else {
        expect([echo.multiprocess, echo.multithread]).toEqual([null, null]);
      }
    });

    it('hashes a POSTed body byte for byte', async () => {
      const body = randomBytes(256 * 1024);
      const echo = await getJson<EchoResponse>(port, '/upload', {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      expect(echo.method).toBe('POST');
      expect(echo.body_length).toBe(body.length);
      expect(echo.body_sha256).toBe(sha256(body));
      expect(echo.environ.CONTENT_LENGTH).toBe(String(body.length));
      expect(echo.headers['content-type']).toBe('application/octet-stream');
    });

    it(
      serverCase.readsChunkedBody === true
        ? 'reads a chunked upload to its end'
        : `loses a chunked upload (known gap: ${serverCase.readsChunkedBody})`,
      async () => {
        const pieces = [randomBytes(1000), randomBytes(70_000), Buffer.from('tail')];
        const whole = Buffer.concat(pieces);
        if (serverCase.readsChunkedBody === 'refused') {
          const answer = await httpRequest(port, '/chunked', { method: 'PUT', chunkedBody: pieces });
          expect(answer.status).toBe(400);
          return;
        }
        const echo = await getJson<EchoResponse>(port, '/chunked', { method: 'PUT', chunkedBody: pieces });
        expect(echo.headers['transfer-encoding']).toBe('chunked');
        expect(echo.body_length).toBe(serverCase.readsChunkedBody === true ? whole.length : 0);
        if (serverCase.readsChunkedBody === true) expect(echo.body_sha256).toBe(sha256(whole));
      },
    );

    it(`sleeps the requested time, ${serverCase.parallelism} of 3 at once`, async () => {
      const ms = 400;
      const answers = await Promise.all(
        [0, 1, 2].map(() => getJson<SlowResponse>(port, probePaths.slow(ms))),
      );
      for (const slow of answers) {
        expect(slow.ms).toBe(ms);
        // time.sleep and asyncio.sleep may wake a clock tick early; never 10 ms early.
        expect(slow.end - slow.start).toBeGreaterThanOrEqual(ms / 1000 - 0.01);
      }
      expect(maxOverlap(answers)).toBe(serverCase.parallelism);
      if (serverCase.workers > 1) {
        expect(new Set(answers.map((slow) => slow.pid)).size).toBe(serverCase.workers);
      }
    });

    it(
      serverCase.streams ? 'streams chunks as they are produced' : 'buffers the stream (known gap)',
      async () => {
        const chunks = 4;
        const intervalMs = 150;
        const answer = await httpRequest(port, probePaths.stream(chunks, intervalMs));
        expect(answer.status).toBe(200);
        const lines = answer.body.toString('utf8').split('\n').filter(Boolean).map(parseStreamLine);
        expect(lines.map((line) => line?.index)).toEqual([0, 1, 2, 3]);
        const stamps = lines.map((line) => line!.at);
        for (let i = 1; i < stamps.length; i++) {
          expect(stamps[i]! - stamps[i - 1]!).toBeGreaterThanOrEqual(intervalMs / 1000 - 0.01);
        }
        const spread = answer.arrivals.at(-1)! - answer.arrivals[0]!;
        if (serverCase.streams) {
          expect(answer.arrivals.length).toBeGreaterThanOrEqual(2);
          expect(spread).toBeGreaterThanOrEqual(2 * intervalMs);
        } else {
          expect(spread).toBeLessThan(intervalMs);
        }
      },
    );

    it('answers the stream below any prefix, with X-Accel-Buffering only on ?accel=1', async () => {
      const plain = await httpRequest(port, probePaths.stream(2, 0));
      expect(plain.headers['x-accel-buffering']).toBeUndefined();
      const accel = await httpRequest(port, probePaths.stream(2, 0, { accel: true }));
      expect(accel.headers['x-accel-buffering']).toBe('no');
      const below = await httpRequest(port, probePaths.stream(2, 0, { prefix: '/events/' }));
      expect(below.status).toBe(200);
      const lines = below.body.toString('utf8').split('\n').filter(Boolean).map(parseStreamLine);
      expect(lines.map((line) => line?.index)).toEqual([0, 1]);
    });

    it('counts requests from every worker in one file', async () => {
      const before = await getJson<CountResponse>(port, probePaths.count());
      expect(before.count).toEqual(expect.any(Number));
      await Promise.all([0, 1, 2, 3].map(() => httpRequest(port, '/counted')));
      const after = await getJson<CountResponse>(port, probePaths.count());
      expect(after.count! - before.count!).toBe(4);
    });

    it('answers the requested status and rejects bad probe requests', async () => {
      const teapot = await httpRequest(port, probePaths.status(418), { method: 'POST' });
      expect(teapot.status).toBe(418);
      expect(JSON.parse(teapot.body.toString())).toEqual({ status: 418 });
      const unavailable = await httpRequest(port, probePaths.status(503));
      expect(unavailable.status).toBe(503);
      const empty = await httpRequest(port, probePaths.status(204));
      expect([empty.status, empty.body.length]).toEqual([204, 0]);
      const malformed = await httpRequest(port, '/__probe/slow?ms=soon');
      expect(malformed.status).toBe(400);
      expect(JSON.parse(malformed.body.toString())).toEqual({ error: expect.stringContaining('ms') });
      const unknown = await httpRequest(port, '/__probe/nope');
      expect(unknown.status).toBe(404);
    });

    it('sets its own security headers on /__probe/frame (X-Frame-Options: DENY)', async () => {
      const frame = await httpRequest(port, probePaths.frame());
      expect(frame.status).toBe(200);
      for (const [name, value] of APP_SECURITY_HEADERS) expect(frame.headers[name.toLowerCase()]).toBe(value);
      expect(JSON.parse(frame.body.toString())).toEqual({
        headers: Object.fromEntries(APP_SECURITY_HEADERS),
      });
    });

    if (serverCase.websocket) {
      it('echoes WebSocket text and binary messages', async () => {
        expect(app.websocket).toBe(true);
        const socket = await connectWebSocket(`ws://127.0.0.1:${port}${probePaths.ws()}`);
        socket.sendText('héllo ✓');
        const text = await socket.receive();
        expect([text.type, text.data.toString('utf8')]).toEqual(['text', 'héllo ✓']);
        // 70 000 bytes needs the 64-bit length form in both directions.
        const blob = randomBytes(70_000);
        socket.sendBinary(blob);
        const binary = await socket.receive();
        expect(binary.type).toBe('binary');
        expect(sha256(binary.data)).toBe(sha256(blob));
        const closed = await socket.close(1000, 'done');
        expect(closed.code).toBe(1000);
      });
    } else {
      it('refuses a WebSocket handshake', async () => {
        const attempt = connectWebSocket(`ws://127.0.0.1:${port}${probePaths.ws()}`);
        await expect(attempt).rejects.toBeInstanceOf(WebSocketError);
        await expect(attempt).rejects.toMatchObject({ code: 'WS_HANDSHAKE' });
      });
    }
  });
}

// --- CGI: the script run per request with an RFC 3875 environment ------------------------

interface CgiAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  arrivals: number[];
}

const CGI_SCRIPT = join(appDir('cgi'), entry('cgi'));
const CGI_COUNTER = counterFile('cgi');

/** Execute the script as a gateway would (RFC 3875 §4.1 meta-variables, body on stdin). */
function runCgi(
  pathInfo: string,
  {
    method = 'GET',
    query = '',
    body,
    headers = {},
    unannouncedStdin,
  }: RequestOptions & { query?: string; unannouncedStdin?: Buffer } = {},
): Promise<CgiAnswer> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    PYTHONPATH: COMMON_DIR,
    PYTHONDONTWRITEBYTECODE: '1',
    [PROBE_COUNTER_ENV]: CGI_COUNTER,
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: method,
    SCRIPT_NAME: '/cgi-bin/probe.cgi',
    PATH_INFO: pathInfo,
    QUERY_STRING: query,
    REMOTE_ADDR: '127.0.0.1',
    SERVER_NAME: 'localhost',
    SERVER_PORT: '8080',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_SOFTWARE: 'stackgen-test',
    HTTP_HOST: 'localhost:8080',
  };
  if (body) {
    env['CONTENT_LENGTH'] = String(body.length);
    env['CONTENT_TYPE'] = 'application/octet-stream';
  }
  for (const [name, value] of Object.entries(headers))
    env[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = value;
  return new Promise((done, fail) => {
    // Executed directly: the shebang line and the executable bit are part of what is tested.
    const child = spawn(CGI_SCRIPT, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const parts: Buffer[] = [];
    const arrivals: number[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      arrivals.push(performance.now());
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`probe.cgi exited ${code}: ${stderr}`));
      done({ ...parseCgiResponse(Buffer.concat(parts)), arrivals });
    });
    child.stdin.on('error', () => {}); // EPIPE when the script rightly leaves stdin unread
    child.stdin.end(body ?? unannouncedStdin);
  });
}

/** RFC 3875 §6: header lines, a blank line, the body; `Status:` carries the code (default 200). */
function parseCgiResponse(output: Buffer): Omit<CgiAnswer, 'arrivals'> {
  const end = output.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no header end in CGI output: ${output.toString().slice(0, 200)}`);
  const headers: Record<string, string> = {};
  for (const line of output.subarray(0, end).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number.parseInt(headers['status'] ?? '200', 10);
  return { status, headers, body: output.subarray(end + 4) };
}

const cgiJson = <T>(answer: CgiAnswer): T => JSON.parse(answer.body.toString('utf8')) as T;

describeWith({ tools: ['python3'] })('CGI script executed per request', () => {
  it('echoes the CGI environment: method, path, query, headers, body', async () => {
    const body = randomBytes(100_000);
    const answer = await runCgi(UNICODE_PATH_DECODED, {
      method: 'POST',
      query: QUERY,
      body,
      headers: { 'X-Probe-Token': 'tok-123' },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    const echo = cgiJson<EchoResponse>(answer);
    expect(echo).toMatchObject({
      app: 'cgi',
      interface: 'cgi',
      method: 'POST',
      path: UNICODE_PATH_DECODED,
      script_name: '/cgi-bin/probe.cgi',
      query: QUERY,
      scheme: 'http',
      host: 'localhost:8080',
      server_port: 8080,
      remote_addr: '127.0.0.1',
      multiprocess: null,
      multithread: null,
      body_length: body.length,
      body_sha256: sha256(body),
    });
    expect(echo.headers['x-probe-token']).toBe('tok-123');
    expect(echo.environ.HTTP_PROXY).toBeNull();
    expect(echo.environ.CONTENT_LENGTH).toBe(String(body.length));
  });

  it('reads no more than CONTENT_LENGTH from stdin', async () => {
    const answer = await runCgi('/x', { method: 'POST', body: Buffer.from('0123456789') });
    expect(cgiJson<EchoResponse>(answer).body_length).toBe(10);
    // No CONTENT_LENGTH: no body, even though stdin has bytes (RFC 3875 §4.2).
    const unannounced = await runCgi('/x', { method: 'POST', unannouncedStdin: Buffer.from('ignored') });
    expect(cgiJson<EchoResponse>(unannounced).body_length).toBe(0);
  });

  it('sets its own security headers on /__probe/frame', async () => {
    const frame = await runCgi('/__probe/frame');
    expect(frame.status).toBe(200);
    for (const [name, value] of APP_SECURITY_HEADERS) expect(frame.headers[name.toLowerCase()]).toBe(value);
  });

  it('maps /__probe/status to the Status header and rejects bad parameters', async () => {
    const teapot = await runCgi('/__probe/status', { query: 'code=418' });
    expect([teapot.status, teapot.headers['status']]).toEqual([418, "418 I'm a Teapot"]);
    const empty = await runCgi('/__probe/status', { query: 'code=304' });
    expect([empty.status, empty.body.length, empty.headers['content-type']]).toEqual([304, 0, undefined]);
    const malformed = await runCgi('/__probe/stream', { query: 'chunks=0' });
    expect(malformed.status).toBe(400);
  });

  it('sleeps, streams over time and counts every run', async () => {
    const before = cgiJson<CountResponse>(await runCgi('/__probe/count')).count!;
    const slow = cgiJson<SlowResponse>(await runCgi('/__probe/slow', { query: 'ms=200' }));
    expect(slow.end - slow.start).toBeGreaterThanOrEqual(0.19);
    const stream = await runCgi('/__probe/stream', { query: 'chunks=3&interval_ms=150' });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-length']).toBeUndefined();
    const lines = stream.body.toString().split('\n').filter(Boolean).map(parseStreamLine);
    expect(lines.map((line) => line?.index)).toEqual([0, 1, 2]);
    expect(stream.arrivals.length).toBeGreaterThanOrEqual(2);
    expect(stream.arrivals.at(-1)! - stream.arrivals[0]!).toBeGreaterThanOrEqual(200);
    const after = cgiJson<CountResponse>(await runCgi('/__probe/count')).count!;
    expect(after - before).toBe(2);
  });
});
