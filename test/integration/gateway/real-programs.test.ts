// Real CGI and FastCGI programs behind the gateway, configured the way a user would in one
// command (the flag form: --upstream URL, --env NAME=value), served by the real front and the
// real transports in this process:
// - the echo fixture through the real CLI: repeated --env flags, a fixed PATH, one log prefix;
// - cgit (a C program, /usr/lib/cgit/cgit.cgi) as a CGI script: it must run by itself (no
//   python3 in front), find its cgitrc through --env CGIT_CONFIG, and route by PATH_INFO;
// - the same cgit through fcgiwrap with ?root=/usr/lib/cgit (SCRIPT_FILENAME = root + script);
// - php-fpm (Debian php8.2-fpm) with its own pool in a temp dir on a unix socket: the status
//   page, an upload, a redirect, PATH_INFO, --env as a FastCGI param, and one kept-open
//   connection (FCGI_KEEP_CONN) serving every request.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gatewayConfigFromFlags, type GatewayFlags } from '../../../src/gateway/config.js';
import type { GatewayLogger } from '../../../src/gateway/log.js';
import { createGatewayServer, type GatewayServer } from '../../../src/gateway/server.js';
import type { Transport } from '../../../src/gateway/transport.js';
import type { FastcgiTransport } from '../../../src/gateway/transports/fastcgi.js';
import { createTransport } from '../../../src/gateway/transports/registry.js';
import { startGateway } from '../../helpers/gateway-process.js';
import { type ClientResponse, httpCall, json } from '../../helpers/http-client.js';
import { freePort, waitUntilConnectable } from '../../helpers/ports.js';
import { type StartedProcess, startProcess } from '../../helpers/processes.js';
import { describeWith } from '../../helpers/tools.js';

const CGIT = '/usr/lib/cgit/cgit.cgi';
/** The log view's column header: on /demo/log/, never on the index. */
const LOG_PAGE = 'Commit message';
const PHP_FPM = '/usr/sbin/php-fpm8.2';
const ROOT_USER = process.getuid?.() === 0;

interface Front {
  server: GatewayServer;
  port: number;
  transports: Transport[];
  logs: string[];
  get(path: string, headers?: string[]): Promise<ClientResponse>;
  close(): Promise<void>;
}

/** The gateway, configured from flags, in this process with the real transports. */
async function startFront(flags: GatewayFlags): Promise<Front> {
  const port = await freePort();
  const config = {
    ...gatewayConfigFromFlags({ listen: `127.0.0.1:${port}`, ...flags }, process.cwd()),
    accessLog: { kind: 'off' as const },
  };
  const logs: string[] = [];
  const logger: GatewayLogger = {
    error: (m) => logs.push(`error: ${m}`),
    warn: (m) => logs.push(`warn: ${m}`),
    info: (m) => logs.push(`info: ${m}`),
  };
  const transports: Transport[] = [];
  const server = createGatewayServer({
    config,
    logger,
    createTransport: (target, log) => {
      const t = createTransport(target, log);
      transports.push(t);
      return t;
    },
  });
  await server.listen();
  return {
    server,
    port,
    transports,
    logs,
    get: (path, headers) => httpCall(port, { path, headers }),
    close: () => server.shutdown(0),
  };
}

/** A bare git repository with one commit, and a cgitrc listing it as `demo`. */
function cgitFixture(dir: string, virtualRoot: string): string {
  const repo = join(dir, 'demo.git');
  execFileSync('git', ['init', '-q', '--bare', repo]);
  const work = join(dir, 'work');
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  const git = (...args: string[]) =>
    execFileSync('git', [
      '-C',
      work,
      '-c',
      'user.name=stackgen',
      '-c',
      'user.email=t@stackgen.test',
      ...args,
    ]);
  git('commit', '-q', '--allow-empty', '-m', 'first commit seen through cgit');
  git('push', '-q', repo, 'main');
  execFileSync('git', ['-C', repo, 'symbolic-ref', 'HEAD', 'refs/heads/main']);
  const rc = join(dir, 'cgitrc');
  writeFileSync(
    rc,
    [
      'cache-size=0',
      `virtual-root=${virtualRoot}`,
      'repo.url=demo',
      `repo.path=${repo}`,
      'repo.desc=repository only this cgitrc lists',
      '',
    ].join('\n'),
  );
  return rc;
}

describeWith({ tools: [CGIT, 'git'] })('cgit (a C program) as a cgi: upstream', () => {
  let dir: string;
  let front: Front;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stackgen-cgit-'));
    const rc = cgitFixture(dir, '/');
    front = await startFront({ upstream: [`cgi:${CGIT}`], env: [`CGIT_CONFIG=${rc}`] });
  });
  afterAll(async () => {
    await front?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs by itself (no interpreter) and reads the cgitrc --env names', async () => {
    const index = await front.get('/');
    expect(index.status).toBe(200);
    expect(index.body.toString()).toContain('repository only this cgitrc lists');
  });

  it('routes by PATH_INFO: /demo/log/ is the log, not the index', async () => {
    const index = await front.get('/');
    const log = await front.get('/demo/log/');
    expect(log.status).toBe(200);
    expect(log.body.toString()).toContain('first commit seen through cgit');
    expect(index.body.toString()).not.toContain(LOG_PAGE);
  });
});

describeWith({ tools: ['/usr/bin/python3'] })(
  'a Python CGI script: --env on the real command line, stderr in the log',
  () => {
    const echo = join(import.meta.dirname, '../../fixtures/gateway/echo.cgi');
    let front: Front;
    beforeAll(async () => {
      front = await startFront({ upstream: [`cgi:${echo}`] });
    });
    afterAll(async () => {
      await front?.close();
    });

    it('takes repeated --env flags on the real command line, and gives the script a fixed PATH', async () => {
      const port = await freePort();
      const gateway = await startGateway([
        '--listen',
        `127.0.0.1:${port}`,
        '--upstream',
        `cgi:${echo}`,
        '--env',
        'STACKGEN_A=1',
        '--env',
        'STACKGEN_B=two words=2',
      ]);
      try {
        const seen = json<{ environ: Record<string, string> }>(await httpCall(port, { path: '/x' }));
        expect(seen.environ).toMatchObject({
          STACKGEN_A: '1',
          STACKGEN_B: 'two words=2',
          PATH: '/usr/local/bin:/usr/bin:/bin',
        });
      } finally {
        await gateway.proc.stop();
      }
    });

    it('is one line per line, named once: the target, then the text', async () => {
      expect((await front.get('/x?mode=stderr&n=2')).status).toBe(200);
      const lines = front.logs.filter((l) => l.includes('warning line'));
      expect(lines).toEqual([
        `warn: cgi:${echo} stderr: warning line 0`,
        `warn: cgi:${echo} stderr: warning line 1`,
      ]);
    });
  },
);

describeWith({ tools: [CGIT, 'git', 'fcgiwrap'] })('cgit through fcgiwrap: fastcgi:// with ?root=', () => {
  let dir: string;
  let fcgiwrap: StartedProcess;
  let front: Front;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stackgen-fcgiwrap-'));
    const rc = cgitFixture(dir, '/cgit.cgi/');
    const socket = join(dir, 'fcgiwrap.sock');
    fcgiwrap = startProcess('/usr/sbin/fcgiwrap', ['-c', '2', '-s', `unix:${socket}`], {
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
    });
    await waitUntilConnectable({ path: socket });
    front = await startFront({
      upstream: [`fastcgi://unix:${socket}?root=/usr/lib/cgit`],
      env: [`CGIT_CONFIG=${rc}`],
    });
  });
  afterAll(async () => {
    await front?.close();
    await fcgiwrap?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs root + script (SCRIPT_FILENAME /usr/lib/cgit/cgit.cgi) with the rest as PATH_INFO', async () => {
    const index = await front.get('/cgit.cgi/');
    expect(index.status).toBe(200);
    expect(index.body.toString()).toContain('repository only this cgitrc lists');
    const log = await front.get('/cgit.cgi/demo/log/');
    expect(log.status).toBe(200);
    expect(log.body.toString()).toContain('first commit seen through cgit');
    expect(log.body.toString()).toContain(LOG_PAGE);
    expect(index.body.toString()).not.toContain(LOG_PAGE);
  });
});

const PHP_APP: Record<string, string> = {
  'index.php': `<?php
header('Content-Type: application/json');
echo json_encode([
  'script_filename' => $_SERVER['SCRIPT_FILENAME'],
  'script_name' => $_SERVER['SCRIPT_NAME'],
  'path_info' => $_SERVER['PATH_INFO'] ?? null,
  'document_root' => $_SERVER['DOCUMENT_ROOT'],
  'php_self' => $_SERVER['PHP_SELF'],
  'query' => $_GET,
  'env' => getenv('STACKGEN_GREETING'),
]);
`,
  'upload.php': `<?php
if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
  header('Location: /index.php/after-redirect?from=upload', true, 303);
  exit;
}
$f = $_FILES['file'];
header('Content-Type: application/json');
echo json_encode([
  'name' => $f['name'],
  'size' => $f['size'],
  'error' => $f['error'],
  'sha256' => hash_file('sha256', $f['tmp_name']),
  'note' => $_POST['note'] ?? null,
]);
`,
  'slow.php': `<?php
usleep(200000);
echo getmypid(), "\n";
`,
  'warn.php': `<?php
error_log('one line for the gateway log');
echo "warned\\n";
`,
};

describeWith({ tools: [PHP_FPM] })('php-fpm as a fastcgi:// upstream with ?root= (FCGI_KEEP_CONN)', () => {
  let dir: string;
  let www: string;
  let fpm: StartedProcess;
  let front: Front;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stackgen-php-fpm-'));
    www = join(dir, 'www');
    execFileSync('mkdir', ['-p', www]);
    for (const [name, text] of Object.entries(PHP_APP)) writeFileSync(join(www, name), text);
    // Unprivileged: as root the pool's children run as nobody, who must read the app.
    chmodSync(dir, 0o755);
    chmodSync(www, 0o755);
    const socket = join(dir, 'php-fpm.sock');
    writeFileSync(
      join(dir, 'php-fpm.conf'),
      [
        '[global]',
        `pid = ${join(dir, 'php-fpm.pid')}`,
        // A file: node's stdio pipes are socket pairs, which php-fpm cannot open as /proc/self/fd/2.
        `error_log = ${join(dir, 'php-fpm.log')}`,
        'daemonize = no',
        '[stackgen-test]',
        ...(ROOT_USER ? ['user = nobody', 'group = nogroup'] : []),
        `listen = ${socket}`,
        // One child: every request below is served by it, over the one kept-open connection.
        'pm = static',
        'pm.max_children = 1',
        'pm.status_path = /status',
        // The pool's environment is not the master's: only what the gateway sends as params.
        'clear_env = yes',
        '',
      ].join('\n'),
    );
    // -n: no php.ini (the defaults: uploads on, 2M each); -R: the master may run as root.
    fpm = startProcess(PHP_FPM, ['-n', '-y', join(dir, 'php-fpm.conf'), ...(ROOT_USER ? ['-R'] : [])]);
    await waitUntilConnectable({ path: socket }).catch((error: unknown) => {
      const log = readFileSync(join(dir, 'php-fpm.log'), { encoding: 'utf8', flag: 'a+' });
      throw new Error(`php-fpm did not start: ${fpm.output()}${log}`, { cause: error });
    });
    front = await startFront({
      upstream: [`fastcgi://unix:${socket}?root=${www}`],
      env: ['STACKGEN_GREETING=hello from --env'],
    });
  });
  afterAll(async () => {
    await front?.close();
    await fpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits the path as php-fpm expects it: SCRIPT_FILENAME, SCRIPT_NAME, PATH_INFO, DOCUMENT_ROOT', async () => {
    const res = await front.get('/index.php/users/7?tab=a');
    expect(res.status).toBe(200);
    expect(json(res)).toEqual({
      script_filename: join(www, 'index.php'),
      script_name: '/index.php',
      path_info: '/users/7',
      document_root: www,
      php_self: '/index.php/users/7',
      query: { tab: 'a' },
      env: 'hello from --env',
    });
  });

  it('cannot be made to run a file outside the root: dot segments are resolved first, as nginx does', async () => {
    expect((await front.get('/%2e%2e/%2e%2e/etc/passwd')).status).toBe(400);
    const inside = await front.get('/nowhere/..%2Findex.php/x');
    expect(json(inside)).toMatchObject({ script_filename: join(www, 'index.php'), path_info: '/x' });
  });

  it('serves the index for a directory URL', async () => {
    const res = await front.get('/');
    expect(json(res)).toMatchObject({ script_filename: join(www, 'index.php'), script_name: '/index.php' });
  });

  it('answers a redirect from the app as the app wrote it', async () => {
    const res = await front.get('/upload.php');
    expect([res.status, res.headers['location']]).toEqual([303, '/index.php/after-redirect?from=upload']);
  });

  it('takes a multipart upload intact', async () => {
    const file = Buffer.alloc(300 * 1024, 'stackgen ');
    const boundary = 'stackgen-boundary-7';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nsee attached\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n` +
          'Content-Type: text/plain\r\n\r\n',
      ),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await httpCall(front.port, {
      method: 'POST',
      path: '/upload.php',
      headers: ['Content-Type', `multipart/form-data; boundary=${boundary}`],
      body,
    });
    expect(res.status).toBe(200);
    const { createHash } = await import('node:crypto');
    expect(json(res)).toEqual({
      name: 'big.txt',
      size: file.length,
      error: 0,
      sha256: createHash('sha256').update(file).digest('hex'),
      note: 'see attached',
    });
  });

  it("logs the script's stderr (FCGI_STDERR) with one prefix", async () => {
    const res = await front.get('/warn.php');
    expect(res.body.toString()).toBe('warned\n');
    const lines = front.logs.filter((l) => l.includes('one line for the gateway log'));
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line.startsWith(`warn: fastcgi://unix:${join(dir, 'php-fpm.sock')} stderr: `)).toBe(true);
    expect(line.split('stderr:')).toHaveLength(2);
  });

  it("serves php-fpm's status page, and every request came over one kept-open connection", async () => {
    const fastcgi = front.transports[0] as FastcgiTransport;
    type FpmStatus = { pool: string; 'accepted conn': number };
    const status = async (): Promise<FpmStatus> => {
      const res = await front.get('/status?json');
      expect(res.status).toBe(200);
      return json<FpmStatus>(res);
    };
    const first = await status();
    expect(first.pool).toBe('stackgen-test');
    const before = fastcgi.stats();
    for (let i = 0; i < 5; i++) expect((await front.get(`/index.php?i=${i}`)).status).toBe(200);
    const second = await status();
    const after = fastcgi.stats();
    // php-fpm counted the six requests ("accepted conn" counts requests); the gateway opened no
    // connection for them: all six went over the one it opened for the first request of this
    // file, kept open by FCGI_KEEP_CONN (nginx: fastcgi_keep_conn on).
    expect(second['accepted conn'] - first['accepted conn']).toBe(6);
    expect(after.created).toBe(1);
    expect(after.reused - before.reused).toBe(6);
    expect(after.reused).toBeGreaterThanOrEqual(10);
  });

  it('serves more concurrent requests than php-fpm has workers: no worker stays pinned to an idle connection', async () => {
    const fastcgi = front.transports[0] as FastcgiTransport;
    const unpinnedBefore = fastcgi.stats().unpinned;
    // One worker (pm.max_children = 1), three requests at once: each new connection waits in
    // php-fpm's accept queue until the worker lets go of the connection it served.
    const started = Date.now();
    const answers = await Promise.all(
      [0, 1, 2].map(() => httpCall(front.port, { path: '/slow.php', timeoutMs: 8_000 })),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.toString())).size).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fastcgi.stats().unpinned).toBeGreaterThan(unpinnedBefore);
  });
});
