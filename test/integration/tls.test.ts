// HTTPS at nginx (proxy.tls with certificate files), proven in the sandbox: a throwaway CA
// signs the stack's certificate and the probes trust it alone. On every wire protocol the
// app learns the scheme is https (the headers probe; Django and Flask build https URLs);
// the handshake, protocol versions and ALPN, the http → https redirect and HSTS have probes
// of their own. Each proof is shown able to fail: the same stack with the guarding line
// taken out of (or put back into) the render fails the probe that guards it.

import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Artifact } from '../../src/render/artifacts.js';
import type { StackReport } from '../../src/report/types.js';
import { readAccountBook, resolveIds, sandboxAccounts } from '../../src/runtime/users.js';
import { type VerifyOptions, verifyStack } from '../../src/runtime/verify.js';
import { readStackSpec } from '../../src/stack/parse.js';

import { CONFORMANCE_STACKS, conformanceYaml, stageConformanceApp } from '../helpers/conformance-stacks.js';
import { describeWith } from '../helpers/tools.js';
import { ROOT } from '../helpers/verify-cli.js';

const work = mkdtempSync(join(tmpdir(), 'stackgen-tls-'));
// The apps run as their own accounts: they must reach the staged real apps below it.
chmodSync(work, 0o755);
const names = new Set<string>();
afterAll(() => {
  for (const entry of readdirSync(tmpdir()))
    if ([...names].some((n) => entry.startsWith(`stackgen-verify-${n}-`)))
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

interface Shape {
  framework: 'flask' | 'django' | 'wsgi';
  server: 'gunicorn' | 'uwsgi';
  protocol: 'http' | 'uwsgi' | 'fastcgi' | 'scgi';
  tls?: string;
}

const ENTRY = { flask: 'app:app', django: 'mysite.wsgi:application', wsgi: 'app:application' };

/** A stack for shop.example with proxy.tls certificate files (the sandbox's CA stands in for them). */
function stack(name: string, s: Shape): string {
  names.add(name);
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
app:
  framework: ${s.framework}
  entry: ${ENTRY[s.framework]}
  root: ${join(ROOT, 'examples/apps', s.framework)}
serve:
  server: ${s.server}
  workers: 1
proxy:
  kind: nginx
  protocol: ${s.protocol}
  server_name: shop.example
  tls: {cert: /etc/ssl/certs/${name}.pem, key: /etc/ssl/private/${name}.key${s.tls ?? ''}}
processes:
  manager: none
`,
  );
  return file;
}

const options = (mutate?: (a: Artifact) => Artifact): VerifyOptions => ({
  probeApp: true,
  keep: false,
  cores: 2,
  stackgenCommand: [process.execPath, join(ROOT, 'bin', 'stackgen.js')],
  book: readAccountBook(),
  signal: new AbortController().signal,
  readyDeadlineMs: 15_000,
  mutateArtifacts: mutate ? (artifacts) => artifacts.map(mutate) : undefined,
});

/** Rewrite the stack's own site file (nginx/<name>.conf), or every catch-all with `catchAll`. */
const edit =
  (name: string, change: (text: string) => string, catchAll = false) =>
  (a: Artifact): Artifact =>
    a.path === `nginx/${name}.conf` || (catchAll && a.path.startsWith('nginx/catch-all/'))
      ? { ...a, content: change(a.content) }
      : a;

/** As root the app runs as its own account (or a stand-in): it must own what it writes. */
const ownerOf = (name: string) => {
  if (process.getuid?.() !== 0) return undefined;
  const book = readAccountBook();
  const { app, group } = sandboxAccounts(book, { app: name, group: name, proxy: 'www-data' }).users;
  return resolveIds(book, app, group);
};

const probe = (r: StackReport, id: string) => r.passes[0]!.probes.find((p) => p.probe === id);
const TLS_PROBES = ['tls', 'https-redirect', 'hsts', 'headers', 'unknown-host'];

describeWith({
  tools: ['nginx', 'uwsgi', 'gunicorn', 'openssl'],
  pythonModules: ['flask', 'django', 'gunicorn', 'fastapi', 'uvicorn', 'httpbin', 'radicale', 'mercurial'],
})('HTTPS at nginx with certificate files', () => {
  const good: Array<[string, Shape]> = [
    ['tls-http', { framework: 'flask', server: 'gunicorn', protocol: 'http' }],
    ['tls-django-http', { framework: 'django', server: 'gunicorn', protocol: 'http' }],
    ['tls-uwsgi', { framework: 'flask', server: 'uwsgi', protocol: 'uwsgi' }],
    ['tls-fastcgi', { framework: 'wsgi', server: 'uwsgi', protocol: 'fastcgi' }],
    ['tls-scgi', { framework: 'wsgi', server: 'uwsgi', protocol: 'scgi' }],
  ];
  it.each(good)(
    '%s: every TLS probe passes and the app sees https',
    async (name, shape) => {
      const r = await verifyStack(readStackSpec(stack(name, shape)), options());
      for (const id of TLS_PROBES) expect(probe(r, id), id).toMatchObject({ status: 'pass' });
      expect(probe(r, 'headers')?.actual).toMatch(/scheme https/);
      if (shape.framework !== 'wsgi') expect(probe(r, 'headers')?.actual).toMatch(/app builds https:\/\//);
      // Flask's and Django's probe apps set a cookie Secure exactly when they see https.
      expect(probe(r, 'secure-cookie')?.status).toBe(shape.framework === 'wsgi' ? 'skip' : 'pass');
      expect(probe(r, 'tls')?.actual).toMatch(/TLSv1\.2 and TLSv1\.3 verified; .*ALPN h2/);
      expect(r.outcome).toBe('pass');
    },
    120_000,
  );

  it('FastAPI on uvicorn with WebSockets: wss:// through nginx echoes (the Upgrade over TLS)', async () => {
    names.add('tls-wss');
    const file = join(work, 'tls-wss.yaml');
    writeFileSync(
      file,
      `name: tls-wss
app: {framework: fastapi, entry: main:app, root: ${join(ROOT, 'examples/apps/fastapi')}, websockets: true}
serve: {server: uvicorn}
proxy:
  kind: nginx
  server_name: api.example
  tls: {cert: /etc/ssl/certs/api.pem, key: /etc/ssl/private/api.key}
processes: {manager: none}
`,
    );
    const r = await verifyStack(readStackSpec(file), options());
    for (const id of ['tls', 'websocket-echo', 'headers']) expect(probe(r, id)?.status, id).toBe('pass');
  }, 120_000);

  // The TLS probes on apps nobody here wrote (the conformance suite's): each answers with its
  // own pages, redirects and statuses, and the probes hold all the same.
  const REAL = CONFORMANCE_STACKS.filter(
    (c) =>
      c.path.proxy === 'nginx' &&
      ((c.app === 'httpbin' && c.path.protocol === 'http') ||
        (c.app === 'radicale' && c.path.protocol === 'scgi') ||
        (c.app === 'hgweb' && c.mount !== undefined)),
  );
  it.each(REAL.map((c) => [c.name, c] as const))(
    '%s (a real app) over TLS: the TLS probes pass',
    async (_n, c) => {
      const dir = join(work, `${c.name}-tls`);
      await stageConformanceApp(c, join(dir, 'app'), join(dir, 'app'), ownerOf(c.name));
      const file = join(dir, 'stack.yaml');
      names.add(c.name);
      writeFileSync(
        file,
        conformanceYaml(c, join(dir, 'app')).replace(
          '  max_body: 64m\n',
          '  max_body: 64m\n  server_name: conformance.example\n  tls: {cert: /etc/ssl/certs/c.pem, key: /etc/ssl/private/c.key}\n',
        ),
      );
      const r = await verifyStack(readStackSpec(file), {
        ...options(),
        probeApp: false,
        readyDeadlineMs: 30_000,
      });
      const failed = r.passes[0]!.probes.filter((p) => p.status === 'fail').map(
        (p) => `${p.key}: ${p.actual}`,
      );
      expect(r.passes[0]!.notReady, JSON.stringify(r.passes[0]!.notReady)).toBeNull();
      expect(failed).toEqual([]);
      for (const id of ['tls', 'https-redirect', 'hsts', 'unknown-host'])
        expect(probe(r, id)?.status, id).toBe('pass');
    },
    120_000,
  );

  // uWSGI takes the scheme from any of UWSGI_SCHEME, HTTPS, REQUEST_SCHEME and X-Forwarded-Proto
  // (removed, the client's own spoofed X-Forwarded-Proto would pass): each one says http here.
  it('uwsgi told http on a TLS listener: the app sees http, headers fails', async () => {
    const r = await verifyStack(
      readStackSpec(stack('tls-noscheme', { framework: 'flask', server: 'uwsgi', protocol: 'uwsgi' })),
      options(
        edit('tls-noscheme', (t) =>
          t.replace(/\$scheme;/g, 'http;').replace(/^ *uwsgi_param HTTPS .*\n/m, ''),
        ),
      ),
    );
    expect(probe(r, 'headers')).toMatchObject({
      status: 'fail',
      actual: /scheme seen as http \(want https\).*absolute URLs as http:\/\//,
    });
    expect(probe(r, 'secure-cookie')).toMatchObject({
      status: 'fail',
      actual: /has no Secure: the app saw http/,
    });
  }, 120_000);

  it('http2 left off the listen lines: tls fails on ALPN', async () => {
    const r = await verifyStack(
      readStackSpec(stack('tls-noh2', { framework: 'flask', server: 'gunicorn', protocol: 'http' })),
      options(edit('tls-noh2', (t) => t.replace(/ ssl http2;/g, ' ssl;'))),
    );
    expect(probe(r, 'tls')).toMatchObject({ status: 'fail', actual: /ALPN chose http\/1\.1 \(want h2\)/ });
  }, 120_000);

  it('catch-alls without ssl_protocols (nginx 1.22 defaults settle the version): tls fails on TLSv1.3', async () => {
    const r = await verifyStack(
      readStackSpec(stack('tls-catchproto', { framework: 'flask', server: 'gunicorn', protocol: 'http' })),
      options(edit('tls-catchproto', (t) => t.replace(/^ *ssl_protocols .*\n/m, ''), true)),
    );
    expect(probe(r, 'tls')).toMatchObject({ status: 'fail', actual: /TLSv1\.3: .*protocol version/ });
  }, 120_000);

  it('TLS 1.0 allowed again (protocols and SECLEVEL=0 ciphers): tls fails', async () => {
    const legacy = (t: string) =>
      t
        .replace(/ssl_protocols TLSv1\.2 TLSv1\.3;/g, 'ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;')
        .replace(
          /^( *)ssl_reject_handshake on;/m,
          '$1ssl_reject_handshake on;\n$1ssl_ciphers DEFAULT@SECLEVEL=0;',
        )
        .replace(/ssl_ciphers ECDHE[^;]*;/, 'ssl_ciphers DEFAULT@SECLEVEL=0;');
    const r = await verifyStack(
      readStackSpec(stack('tls-legacy', { framework: 'flask', server: 'gunicorn', protocol: 'http' })),
      options(edit('tls-legacy', legacy, true)),
    );
    expect(probe(r, 'tls')).toMatchObject({ status: 'fail', actual: /a TLSv1(\.1)? client was accepted/ });
  }, 120_000);

  it('a redirect that drops the query ($uri): https-redirect fails', async () => {
    const r = await verifyStack(
      readStackSpec(stack('tls-redirect', { framework: 'flask', server: 'gunicorn', protocol: 'http' })),
      options(edit('tls-redirect', (t) => t.replace('$request_uri;', '$uri;'))),
    );
    expect(probe(r, 'https-redirect')).toMatchObject({
      status: 'fail',
      actual: /want 301 https:\/\/shop\.example:\d+\/stackgen-verify\/redirect\?a=1&b=%2F/,
    });
  }, 120_000);

  it('redirect_http false: http serves the app without HSTS; HSTS sent on http too fails hsts', async () => {
    const shape: Shape = {
      framework: 'flask',
      server: 'gunicorn',
      protocol: 'http',
      tls: ', redirect_http: false',
    };
    const ok = await verifyStack(readStackSpec(stack('tls-plain', shape)), options());
    expect(probe(ok, 'hsts')).toMatchObject({ status: 'pass', actual: /http 200: none/ });
    // Served over plain http too: there the same cookie comes without Secure.
    expect(probe(ok, 'secure-cookie')).toMatchObject({ status: 'pass', actual: /http \(http\): no Secure/ });
    expect(probe(ok, 'https-redirect')?.status).toBe('skip');
    const r = await verifyStack(
      readStackSpec(stack('tls-hstshttp', shape)),
      options(
        edit('tls-hstshttp', (t) => t.replace(/(_hsts \{\n *on *("[^"]*");\n *default) '';/, '$1 $2;')),
      ),
    );
    expect(probe(r, 'hsts')).toMatchObject({
      status: 'fail',
      actual: /http 200 sent Strict-Transport-Security/,
    });
  }, 180_000);
});
