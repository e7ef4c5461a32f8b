// The CGI transport spawning the real Python fixture scripts (test/fixtures/gateway/*.cgi,
// #!/usr/bin/python3) once per request.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Transport, UpstreamTarget } from '../../../src/gateway/transport.js';
import {
  type CgiTransportOptions,
  createCgiTransport,
  SAFE_SCRIPT_PATH,
} from '../../../src/gateway/transports/cgi.js';
import {
  gatewayRequest,
  memoryBody,
  patternBytes,
  readBody,
  rejection,
} from '../../helpers/gateway-request.js';
import { isAlive } from '../../helpers/processes.js';
import { describeWith } from '../../helpers/tools.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/gateway');
const ECHO = join(FIXTURES, 'echo.cgi');
const TIMEOUTS = { connectMs: 2000, readMs: 10_000, sendMs: 10_000 };

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const waitFor = async (check: () => boolean, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return check();
};

describeWith({ tools: ['/usr/bin/python3'] })('cgi transport with real scripts', () => {
  const transports: Transport[] = [];
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
  });

  function transport(path = ECHO, options: CgiTransportOptions = {}, interpreter?: string): Transport {
    const target: UpstreamTarget = { scheme: 'cgi', address: { kind: 'script', path, interpreter } };
    const t = createCgiTransport(target, options);
    transports.push(t);
    return t;
  }

  async function echo(t: Transport, overrides = {}) {
    const response = await t.request(gatewayRequest(overrides), TIMEOUTS);
    return {
      response,
      seen: JSON.parse((await readBody(response.body)).toString()) as {
        environ: Record<string, string>;
        body_sha256: string;
        body_length: number;
      },
    };
  }

  it('runs the script with the CGI environment and honours its Status header', async () => {
    const { response, seen } = await echo(transport(), {
      rawTarget: '/cgi/echo.cgi/extra?a=1',
      scriptName: '/cgi/echo.cgi',
      pathInfo: '/extra',
      rawHeaders: ['Host', 'site.test', 'X-Dup', 'a', 'X-Dup', 'b', 'Proxy', 'http://evil:1', 'X_Under', 'u'],
    });
    expect([response.status, response.statusText]).toEqual([201, 'Created']);
    expect(response.headers).toEqual([
      ['Content-Type', 'application/json'],
      ['X-Script', 'echo'],
    ]);
    expect(seen.environ).toMatchObject({
      GATEWAY_INTERFACE: 'CGI/1.1',
      SCRIPT_FILENAME: ECHO,
      SCRIPT_NAME: '/cgi/echo.cgi',
      PATH_INFO: '/extra',
      QUERY_STRING: 'a=1',
      HTTP_HOST: 'site.test',
      HTTP_X_DUP: 'a, b',
    });
    expect(seen.environ['PATH']).toBeTruthy();
    // httpoxy matters most here: HTTP_PROXY would be a real environment variable of the script.
    expect(seen.environ).not.toHaveProperty('HTTP_PROXY');
    expect(seen.environ).not.toHaveProperty('HTTP_X_UNDER');
  });

  it('passes a non-ASCII PATH_INFO as UTF-8 text in the environment', async () => {
    const { seen } = await echo(transport(), { pathInfo: '/caf\u00e9/\u65e5' });
    expect(seen.environ['PATH_INFO']).toBe('/caf\u00e9/\u65e5');
  });

  it('feeds a 5 MB body to stdin intact (sha256 computed by the script)', async () => {
    const body = patternBytes(5 * 1024 * 1024 + 3);
    const chunks = [];
    for (let at = 0; at < body.length; at += 65536) chunks.push(body.subarray(at, at + 65536));
    const { seen } = await echo(transport(), { method: 'POST', body: memoryBody(...chunks) });
    expect([seen.body_length, seen.body_sha256]).toEqual([body.length, sha256(body)]);
  });

  it('streams a 20 MB response', async () => {
    const n = 20 * 1024 * 1024;
    const response = await transport().request(gatewayRequest({ rawTarget: `/x?mode=big&n=${n}` }), TIMEOUTS);
    const body = await readBody(response.body);
    expect(body.length).toBe(n);
    expect(sha256(body)).toBe(sha256(patternBytes(n)));
  });

  it("gives the script a fixed PATH, never the gateway's own", async () => {
    const own = process.env['PATH'];
    process.env['PATH'] = `/root/.pyenv/shims:${own ?? ''}`;
    try {
      const { seen } = await echo(transport());
      expect(seen.environ['PATH']).toBe(SAFE_SCRIPT_PATH);
    } finally {
      process.env['PATH'] = own;
    }
  });

  it("passes the target's env (a location's env:, --env) to the script; it may set PATH", async () => {
    const target: UpstreamTarget = {
      scheme: 'cgi',
      address: { kind: 'script', path: ECHO },
      env: [
        ['STACKGEN_PROBE_COUNTER', '/tmp/counter'],
        ['PATH', '/opt/tools/bin:/usr/bin:/bin'],
      ],
    };
    const t = createCgiTransport(target);
    transports.push(t);
    const { seen } = await echo(t);
    expect(seen.environ['STACKGEN_PROBE_COUNTER']).toBe('/tmp/counter');
    expect(seen.environ['PATH']).toBe('/opt/tools/bin:/usr/bin:/bin');
  });

  it('runs a script through an interpreter when one is configured', async () => {
    const { seen } = await echo(transport(ECHO, {}, '/usr/bin/python3'), { rawTarget: '/x?via=interp' });
    expect(seen.environ['QUERY_STRING']).toBe('via=interp');
  });

  it('reports a local redirect (RFC 3875 §6.2.2) and a client redirect (§6.2.3)', async () => {
    const local = await transport().request(
      gatewayRequest({ rawTarget: '/x?mode=redirect-local' }),
      TIMEOUTS,
    );
    expect(local.localRedirect).toBe('/elsewhere?x=1');
    await readBody(local.body);
    const client = await transport().request(
      gatewayRequest({ rawTarget: '/x?mode=redirect-client' }),
      TIMEOUTS,
    );
    expect([client.status, client.localRedirect]).toEqual([302, undefined]);
    expect(client.headers).toContainEqual(['Location', 'http://example.com/x']);
    await readBody(client.body);
  });

  it('passes an NPH script’s raw response through, de-chunking its body', async () => {
    const response = await transport(join(FIXTURES, 'nph-echo.cgi')).request(
      gatewayRequest({ rawTarget: '/nph?q=1' }),
      TIMEOUTS,
    );
    expect([response.status, response.statusText]).toEqual([202, 'Accepted']);
    expect(response.headers).toEqual([
      ['Content-Type', 'text/plain'],
      ['X-Nph', 'yes'],
    ]);
    expect((await readBody(response.body)).toString()).toBe('nph q=1');
  });

  it('a script that dies before its head is SG_ERR_UPSTREAM_RESET with the stderr tail', async () => {
    const err = await rejection(
      transport().request(gatewayRequest({ rawTarget: '/x?mode=crash' }), TIMEOUTS),
    );
    expect(err.code).toBe('SG_ERR_UPSTREAM_RESET');
    expect(err.details).toMatchObject({ exitCode: 3 });
    expect(err.details?.['stderrTail']).toContain('Traceback: something broke');
  });

  it('a script that exits 0 without output is SG_ERR_UPSTREAM_MALFORMED', async () => {
    const err = await rejection(
      transport().request(gatewayRequest({ rawTarget: '/x?mode=nohead' }), TIMEOUTS),
    );
    expect(err.code).toBe('SG_ERR_UPSTREAM_MALFORMED');
  });

  it('a missing script is SG_ERR_UPSTREAM_CONNECT, nothing run', async () => {
    const err = await rejection(transport(join(FIXTURES, 'missing.cgi')).request(gatewayRequest(), TIMEOUTS));
    expect(err.code).toBe('SG_ERR_UPSTREAM_CONNECT');
    expect(err).toMatchObject({ sentAnything: false });
  });

  it('sends stderr to the logger, capped per request', async () => {
    const lines: string[] = [];
    const t = transport(ECHO, { logger: (line) => lines.push(line), stderrLimitBytes: 100 });
    const response = await t.request(gatewayRequest({ rawTarget: '/x?mode=stderr&n=500' }), TIMEOUTS);
    expect((await readBody(response.body)).toString()).toBe('ok');
    expect(lines[0]).toMatch(/warning line 0$/);
    expect(lines.length).toBeLessThan(12);
    expect(lines.at(-1)).toContain('stderr truncated');
  });

  it('a script too slow to answer is SG_ERR_UPSTREAM_TIMEOUT and gets killed', async () => {
    const lines: string[] = [];
    const t = transport(ECHO, { logger: (line) => lines.push(line), killGraceMs: 500 });
    const err = await rejection(
      t.request(gatewayRequest({ rawTarget: '/x?mode=slow&s=5' }), { ...TIMEOUTS, readMs: 400 }),
    );
    expect(err.code).toBe('SG_ERR_UPSTREAM_TIMEOUT');
    const pid = Number(/pid (\d+)/.exec(lines.join('\n'))?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(await waitFor(() => !isAlive(pid), 2000)).toBe(true);
  });

  it('a client abort kills the script (SIGTERM to its process group)', async () => {
    const lines: string[] = [];
    const t = transport(ECHO, { logger: (line) => lines.push(line) });
    const controller = new AbortController();
    const pending = t.request(
      gatewayRequest({ rawTarget: '/x?mode=slow&s=5', signal: controller.signal }),
      TIMEOUTS,
    );
    await waitFor(() => lines.some((l) => l.includes('pid ')), 3000);
    controller.abort();
    const err = await rejection(pending);
    expect(err.code).toBe('SG_ERR_CLIENT_ABORTED');
    const pid = Number(/pid (\d+)/.exec(lines.join('\n'))?.[1]);
    expect(await waitFor(() => !isAlive(pid), 2000)).toBe(true);
  });

  it('a consumer that stops reading the body kills the script', async () => {
    const t = transport();
    const response = await t.request(
      gatewayRequest({ rawTarget: `/x?mode=big&n=${200 * 1024 * 1024}` }),
      TIMEOUTS,
    );
    for await (const _chunk of response.body) break;
    await t.close();
  });
});
