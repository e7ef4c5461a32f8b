// proxy.tls.acme at nginx and at the gateway, proven in the sandbox against a real ACME
// server: Debian's pebble (on free loopback ports, its mock DNS answering 127.0.0.1) issues
// the certificate to certbot through the generated challenge location; the sandbox's rendered
// deploy hook relinks what the front reads and reloads it (the gateway: its unit's root
// copies, then SIGHUP); a forced renewal under load swaps it. Shown able to fail: the same
// stack with the hook's reload taken out never serves the certificate, and a gateway whose
// hook reloads only the first time fails the renewal probe. On the probe app and on apps
// nobody here wrote (httpbin, Radicale). The machine target's runs of the examples are in
// verify-machine.test.ts.

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

const work = mkdtempSync(join(tmpdir(), 'stackgen-acme-'));
chmodSync(work, 0o755);
const names = new Set<string>();
afterAll(() => {
  for (const entry of readdirSync(tmpdir()))
    if ([...names].some((n) => entry.startsWith(`stackgen-verify-${n}-`)))
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const ACME = '  server_name: shop.example\n  tls: {acme: {email: ops@shop.example}}\n';

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

const ownerOf = (name: string) => {
  if (process.getuid?.() !== 0) return undefined;
  const book = readAccountBook();
  const { app, group } = sandboxAccounts(book, { app: name, group: name, proxy: 'www-data' }).users;
  return resolveIds(book, app, group);
};

const probe = (r: StackReport, id: string) => r.passes[0]!.probes.find((p) => p.probe === id);

function flaskStack(name: string): string {
  names.add(name);
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
app: {framework: flask, entry: 'app:app', root: ${join(ROOT, 'examples/apps/flask')}}
serve: {server: uwsgi, workers: 1}
proxy:
  kind: nginx
  protocol: uwsgi
${ACME}processes: {manager: none}
`,
  );
  return file;
}

/** The gateway in front of gunicorn, under systemd (its unit copies certbot's key for it). */
function gatewayStack(name: string): string {
  names.add(name);
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
app: {framework: flask, entry: 'app:app', root: ${join(ROOT, 'examples/apps/flask')}}
serve: {server: gunicorn, workers: 1}
proxy:
  kind: gateway
  protocol: http
${ACME}processes: {manager: systemd}
`,
  );
  return file;
}

describeWith({
  tools: ['nginx', 'uwsgi', 'gunicorn', 'openssl', 'certbot', 'pebble', 'pebble-challtestsrv'],
  pythonModules: ['flask', 'httpbin', 'radicale'],
})('ACME at nginx: certbot and pebble in the sandbox', () => {
  it('pebble issues through the challenge path; a forced renewal under load swaps the certificate', async () => {
    const r = await verifyStack(readStackSpec(flaskStack('acme-flask')), options());
    expect(r.passes[0]!.notReady, JSON.stringify(r.passes[0]!.notReady)).toBeNull();
    const failed = r.passes[0]!.probes.filter((p) => p.status === 'fail').map((p) => `${p.key}: ${p.actual}`);
    expect(failed).toEqual([]);
    for (const id of ['tls', 'https-redirect', 'hsts', 'acme-certificate', 'acme-renewal'])
      expect(probe(r, id)?.status, id).toBe('pass');
    expect(probe(r, 'acme-certificate')?.actual).toMatch(/issued by "Pebble Intermediate CA/);
    expect(probe(r, 'acme-renewal')?.actual).toMatch(/^serial \w+ → \w+ .*; 0 of \d+ requests failed$/);
    expect(r.notes.join('\n')).toMatch(/proxy\.tls\.acme: in the sandbox, pebble/);
  }, 180_000);

  it('fails without the deploy hook’s reload: nginx never serves the issued certificate', async () => {
    const hook = (a: Artifact): Artifact =>
      a.path === 'certbot/acme-noreload-deploy-hook.sh'
        ? { ...a, content: a.content.replace(/^nginx -t -q .*$/m, 'true') }
        : a;
    const r = await verifyStack(readStackSpec(flaskStack('acme-noreload')), options(hook));
    expect(r.passes[0]!.notReady?.component).toBe('certbot');
    expect(r.passes[0]!.notReady?.cause).toMatch(/the deploy hook did not reload the front/);
  }, 180_000);

  it('the gateway: issued through its challenge location, renewed under load by its reload', async () => {
    const r = await verifyStack(readStackSpec(gatewayStack('acme-gw')), options());
    expect(r.passes[0]!.notReady, JSON.stringify(r.passes[0]!.notReady)).toBeNull();
    const failed = r.passes[0]!.probes.filter((p) => p.status === 'fail').map((p) => `${p.key}: ${p.actual}`);
    expect(failed).toEqual([]);
    for (const id of ['tls', 'https-redirect', 'acme-certificate', 'acme-renewal'])
      expect(probe(r, id)?.status, id).toBe('pass');
    expect(probe(r, 'acme-renewal')?.actual).toMatch(/^serial \w+ → \w+ .*; 0 of \d+ requests failed$/);
  }, 180_000);

  it('the gateway fails acme-renewal when the hook reloads it only once (the first issuance)', async () => {
    // The first issuance reloads (so acme-certificate passes); every later run of the hook —
    // the forced renewal — relinks the files but sends no SIGHUP: the old certificate stays.
    const hook = (a: Artifact): Artifact =>
      a.path === 'certbot/acme-gw-once-deploy-hook.sh'
        ? {
            ...a,
            content: a.content.replace(
              /^(\/usr\/bin\/install .*kill -HUP .*)$/m,
              '[ -e "$lineage.reloaded-once" ] || { touch "$lineage.reloaded-once"; $1; }',
            ),
          }
        : a;
    const r = await verifyStack(readStackSpec(gatewayStack('acme-gw-once')), options(hook));
    expect(r.passes[0]!.notReady, JSON.stringify(r.passes[0]!.notReady)).toBeNull();
    expect(probe(r, 'acme-certificate')?.status).toBe('pass');
    expect(probe(r, 'acme-renewal')?.status).toBe('fail');
    expect(probe(r, 'acme-renewal')?.actual).toMatch(/the front did not load the new certificate/);
  }, 180_000);

  const REAL = CONFORMANCE_STACKS.filter(
    (c) =>
      (c.path.proxy === 'nginx' &&
        ((c.app === 'httpbin' && c.path.protocol === 'http') ||
          (c.app === 'radicale' && c.path.protocol === 'scgi'))) ||
      (c.path.proxy === 'gateway' && c.app === 'httpbin' && c.path.protocol === 'http' && !c.mount),
  );
  it.each(REAL.map((c) => [c.name, c] as const))(
    '%s (a real app) with ACME: issued, served, renewed under load',
    async (_n, c) => {
      const dir = join(work, `${c.name}-acme`);
      await stageConformanceApp(c, join(dir, 'app'), join(dir, 'app'), ownerOf(c.name));
      const file = join(dir, 'stack.yaml');
      names.add(c.name);
      writeFileSync(
        file,
        conformanceYaml(c, join(dir, 'app'))
          // ACME validates on port 80 (the sandbox maps it to a free port).
          .replace('  listen: "8080"\n', '  listen: "80"\n')
          .replace('  max_body: 64m\n', `  max_body: 64m\n${ACME}`),
      );
      const r = await verifyStack(readStackSpec(file), {
        ...options(),
        probeApp: false,
        readyDeadlineMs: 30_000,
      });
      expect(r.passes[0]!.notReady, JSON.stringify(r.passes[0]!.notReady)).toBeNull();
      const failed = r.passes[0]!.probes.filter((p) => p.status === 'fail').map(
        (p) => `${p.key}: ${p.actual}`,
      );
      expect(failed).toEqual([]);
      for (const id of ['tls', 'acme-certificate', 'acme-renewal'])
        expect(probe(r, id)?.status, id).toBe('pass');
    },
    180_000,
  );
});
