// HTTPS at the stackgen gateway (proxy.kind gateway, proxy.tls with certificate files), proven
// in the sandbox as systemd would run it: the throwaway key is root's (mode 600) and, as root,
// the gateway runs as www-data, so it serves only through the private copies its unit's
// ExecStartPre=+ lines make. Every TLS probe passes against it, the app sees https and sets its
// cookie Secure; each proof is shown able to fail on a render with its guarding line taken out.

import { readdirSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Artifact } from '../../src/render/artifacts.js';
import type { StackReport } from '../../src/report/types.js';
import { readAccountBook } from '../../src/runtime/users.js';
import { type VerifyOptions, verifyStack } from '../../src/runtime/verify.js';
import { readStackSpec } from '../../src/stack/parse.js';
import { describeWith } from '../helpers/tools.js';
import { ROOT } from '../helpers/verify-cli.js';

const work = mkdtempSync(join(tmpdir(), 'stackgen-gateway-tls-'));
const names = new Set<string>();
afterAll(() => {
  for (const entry of readdirSync(tmpdir()))
    if ([...names].some((n) => entry.startsWith(`stackgen-verify-${n}-`)))
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** Flask on gunicorn behind the gateway for shop.example, under systemd, with `tls` options. */
function stack(name: string, tls = ''): string {
  names.add(name);
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
app: {framework: flask, entry: app:app, root: ${join(ROOT, 'examples/apps/flask')}}
serve: {server: gunicorn, workers: 1}
proxy:
  kind: gateway
  listen: "8080"
  server_name: shop.example
  tls: {cert: /etc/ssl/certs/${name}.pem, key: /etc/ssl/private/${name}.key, listen: ["8443"]${tls}}
processes: {manager: systemd}
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

const edit =
  (path: RegExp, change: (text: string) => string) =>
  (a: Artifact): Artifact =>
    path.test(a.path) ? { ...a, content: change(a.content) } : a;

const probe = (r: StackReport, id: string) => r.passes[0]!.probes.find((p) => p.probe === id);

describeWith({ tools: ['gunicorn', 'openssl', 'systemd-analyze'], pythonModules: ['flask'] })(
  'HTTPS at the gateway with certificate files',
  () => {
    it('every TLS probe passes; the app sees https and sets its cookie Secure', async () => {
      const r = await verifyStack(readStackSpec(stack('gwtls-ok')), options());
      for (const id of ['tls', 'https-redirect', 'hsts', 'headers', 'secure-cookie', 'unknown-host'])
        expect(probe(r, id), id).toMatchObject({ status: 'pass' });
      expect(probe(r, 'tls')?.actual).toMatch(/TLSv1\.2 and TLSv1\.3 verified; .*ALPN h2/);
      expect(probe(r, 'headers')?.actual).toMatch(/scheme https, app builds https:\/\//);
      expect(r.outcome).toBe('pass');
    }, 120_000);

    it('http2 off: ALPN picks http/1.1 and the tls probe holds', async () => {
      const r = await verifyStack(readStackSpec(stack('gwtls-noh2', ', http2: false')), options());
      expect(probe(r, 'tls')).toMatchObject({ status: 'pass', actual: /ALPN http\/1\.1/ });
    }, 120_000);

    it('gunicorn not told which header carries the scheme: the app sees http, headers and secure-cookie fail', async () => {
      const r = await verifyStack(
        readStackSpec(stack('gwtls-noproto')),
        options(
          edit(/^gunicorn\//, (t) =>
            t.replace(/^secure_scheme_headers = .*$/m, 'secure_scheme_headers = {}'),
          ),
        ),
      );
      expect(probe(r, 'headers')).toMatchObject({
        status: 'fail',
        actual: /scheme seen as http \(want https\)/,
      });
      expect(probe(r, 'secure-cookie')).toMatchObject({
        status: 'fail',
        actual: /has no Secure: the app saw http/,
      });
    }, 120_000);

    it('HSTS dropped from the gateway config: hsts fails', async () => {
      const r = await verifyStack(
        readStackSpec(stack('gwtls-nohsts')),
        options(edit(/^gateway\//, (t) => t.replace(/^ {2}hsts:\n(?: {4}.*\n)+/m, '  hsts: "off"\n'))),
      );
      expect(probe(r, 'hsts')).toMatchObject({ status: 'fail', actual: /Strict-Transport-Security absent/ });
    }, 120_000);

    // As root the gateway runs as www-data and the key is root's, mode 600: without the copies
    // its unit makes, it cannot start (the render the old refusal stood for).
    it.runIf(process.getuid?.() === 0)(
      'the config naming the root-only key itself: the gateway cannot read it and never gets ready',
      async () => {
        const r = await verifyStack(readStackSpec(stack('gwtls-nocopy')), {
          ...options(),
          mutateArtifacts: (artifacts, plan) =>
            artifacts.map(
              edit(/^gateway\//, (t) =>
                t.replace(/^ {2}key: ".*"$/m, `  key: ${JSON.stringify(plan.site.tls!.key)}`),
              ),
            ),
        });
        expect(r.passes[0]!.notReady?.logTail.join('\n') ?? '').toMatch(
          /tls\.key .*cannot read it \(EACCES\)/,
        );
      },
      120_000,
    );
  },
);
