// The gateway in front of real uWSGI speaking uwsgi, FastCGI and SCGI (one uWSGI per
// protocol, same WSGI app), and of a real CGI script: the same end-to-end checks for each.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../../helpers/gateway-process.js';
import { httpCall, json } from '../../helpers/http-client.js';
import { waitUntilConnectable } from '../../helpers/ports.js';
import { type StartedProcess, startProcess } from '../../helpers/processes.js';
import { describeWith } from '../../helpers/tools.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'gateway');

interface Echo {
  environ: Record<string, string>;
  path_info_utf8: string;
  body_sha256: string;
  body_length: number;
}

// uWSGI's option for each socket kind; `scgi-nph` keeps the raw status line as uwsgi does.
const PROTOCOLS = [
  { scheme: 'uwsgi', option: '--socket' },
  { scheme: 'fastcgi', option: '--fastcgi-socket' },
  { scheme: 'scgi', option: '--scgi-socket' },
] as const;

for (const { scheme, option } of PROTOCOLS) {
  describeWith({ tools: ['/usr/bin/uwsgi'] })(`gateway → uWSGI over ${scheme}`, () => {
    let dir: string;
    let uwsgi: StartedProcess;
    let gateway: RunningGateway;
    let port: number;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `sg-gw-${scheme}-`));
      const sock = join(dir, 'app.sock');
      uwsgi = startProcess('/usr/bin/uwsgi', [
        '--plugin',
        'python3',
        option,
        sock,
        '--processes',
        '2',
        '--master',
        '--die-on-term',
        '--buffer-size',
        '32768',
        '--wsgi-file',
        join(FIXTURES, 'echo_app.py'),
        '--disable-logging',
      ]);
      await waitUntilConnectable({ path: sock });
      gateway = await startGateway([
        '--listen',
        '127.0.0.1:0',
        '--upstream',
        `${scheme}://unix:${sock}`,
        '--max-body',
        '10m',
        '--workers',
        '2',
      ]);
      port = gateway.port;
    });

    afterAll(async () => {
      await gateway?.proc.stop();
      await uwsgi?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('GET with a query and a non-ASCII path', async () => {
      const res = await httpCall(port, { path: '/caf%C3%A9?q=%C3%A9&x=1' });
      expect(res.status).toBe(200);
      const echo = json<Echo>(res);
      expect(echo.path_info_utf8).toBe('/café');
      expect(echo.environ['QUERY_STRING']).toBe('q=%C3%A9&x=1');
      expect(echo.environ['REQUEST_METHOD']).toBe('GET');
      expect(echo.environ['SCRIPT_NAME'] ?? '').toBe('');
    });

    it('POST 5 MB arrives intact', async () => {
      const body = randomBytes(5 * 1024 * 1024);
      const echo = json<Echo>(await httpCall(port, { method: 'POST', path: '/up', body }));
      expect(echo.body_length).toBe(body.length);
      expect(echo.body_sha256).toBe(createHash('sha256').update(body).digest('hex'));
    });

    it('chunked upload arrives de-chunked with CONTENT_LENGTH', async () => {
      const parts = [randomBytes(10), randomBytes(100_000)];
      const echo = json<Echo>(await httpCall(port, { method: 'POST', path: '/up', body: parts }));
      expect(echo.environ['CONTENT_LENGTH']).toBe('100010');
      expect(echo.body_sha256).toBe(createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
    });

    it('streams a 20 MB response', async () => {
      const res = await httpCall(port, { path: '/big?n=20000000' });
      expect(res.body.length).toBe(20_000_000);
    });

    it('keeps duplicate response headers and the status', async () => {
      const res = await httpCall(port, { path: '/status/418' });
      expect(res.status).toBe(418);
      expect(res.rawHeaders.filter((_h, i, all) => i % 2 === 1 && all[i - 1] === 'X-Multi')).toEqual([
        'a',
        'b',
      ]);
    });

    it('drops Proxy and underscore headers, keeps duplicates joined', async () => {
      const env = json<Echo>(
        await httpCall(port, {
          path: '/h',
          headers: ['Proxy', 'http://evil', 'X_Under', '1', 'X-Dup', 'a', 'X-Dup', 'b'],
        }),
      ).environ;
      expect(env['HTTP_PROXY']).toBeUndefined();
      expect(env['HTTP_X_UNDER']).toBeUndefined();
      expect(env['HTTP_X_DUP']).toMatch(/^a, ?b$/);
    });
  });
}

describeWith({ tools: ['/usr/bin/uwsgi'] })('gateway error mapping on uwsgi', () => {
  let dir: string;
  let uwsgi: StartedProcess;
  let gateway: RunningGateway;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-gw-uwerr-'));
    const sock = join(dir, 'app.sock');
    uwsgi = startProcess('/usr/bin/uwsgi', [
      '--plugin',
      'python3',
      '--socket',
      sock,
      '--processes',
      '2',
      '--master',
      '--die-on-term',
      '--wsgi-file',
      join(FIXTURES, 'echo_app.py'),
      '--disable-logging',
    ]);
    await waitUntilConnectable({ path: sock });
    const yaml = join(dir, 'gw.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      yaml,
      `listen: ["127.0.0.1:0"]
timeouts: {read: 1s}
locations:
  - {path: /down/, upstream: ["uwsgi://unix:${dir}/missing.sock"]}
  - {path: /cgi/, upstream: ["cgi:${FIXTURES}/echo.cgi"], script_name: /cgi}
  - {path: /, upstream: ["uwsgi://unix:${sock}"]}
`,
    );
    gateway = await startGateway(['--config', yaml]);
  });

  afterAll(async () => {
    await gateway?.proc.stop();
    await uwsgi?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('502 when the socket is missing, naming the upstream on stderr', async () => {
    expect((await httpCall(gateway.port, { path: '/down/x' })).status).toBe(502);
    await gateway.waitForOutput(/upstream uwsgi:\/\/unix:\S+missing\.sock: /);
  });

  it('504 when the app is slower than the read timeout', async () => {
    const started = Date.now();
    expect((await httpCall(gateway.port, { path: '/slow?s=3' })).status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('serves a CGI script with SCRIPT_NAME/PATH_INFO and follows a local redirect', async () => {
    const res = await httpCall(gateway.port, { path: '/cgi/extra/p%C3%A4th?mode=echo' });
    expect(res.status).toBe(201);
    const env = json<Echo>(res).environ;
    expect(env['SCRIPT_NAME']).toBe('/cgi');
    expect(env['PATH_INFO']).toBe('/extra/päth');
    expect(env['QUERY_STRING']).toBe('mode=echo');
    const redirected = await httpCall(gateway.port, { path: '/cgi/?mode=redirect-local' });
    // The script's `Location: /elsewhere` is served internally (RFC 3875 §6.2.2) by `/`.
    expect(redirected.status).toBe(200);
    expect(json<Echo>(redirected).path_info_utf8).toBe('/elsewhere');
    expect(json<Echo>(redirected).environ['QUERY_STRING']).toBe('x=1');
  });
});
