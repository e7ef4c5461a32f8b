// The front door: a stack with a real server_name refuses every other Host (nginx's
// catch-all closes with 444, the gateway answers 421), and the front answers on every
// listen address — IPv4 and IPv6. Each proof is shown able to fail: the same stack with the
// catch-all, the gateway's hosts list or the IPv6 listen line taken out of the render fails
// the probe that guards it.

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Artifact } from '../../src/render/artifacts.js';
import type { StackReport } from '../../src/report/types.js';
import { ipv6LoopbackAvailable } from '../../src/runtime/sandbox.js';
import { readAccountBook } from '../../src/runtime/users.js';
import { type VerifyOptions, verifyStack } from '../../src/runtime/verify.js';
import { readStackSpec } from '../../src/stack/parse.js';
import { describeWith } from '../helpers/tools.js';
import { ROOT } from '../helpers/verify-cli.js';

const work = mkdtempSync(join(tmpdir(), 'stackgen-front-door-'));
const names = new Set<string>();
afterAll(() => {
  for (const entry of readdirSync(tmpdir()))
    if ([...names].some((n) => entry.startsWith(`stackgen-verify-${n}-`)))
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** A flask + gunicorn stack for shop.example on the default listen addresses (80, [::]:80). */
function stack(name: string, proxy: 'nginx' | 'gateway'): string {
  names.add(name);
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
app:
  framework: flask
  entry: app:app
  root: ${join(ROOT, 'examples/apps/flask')}
serve:
  server: gunicorn
  workers: 1
proxy:
  kind: ${proxy}
  protocol: http
  server_name: shop.example
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

const probe = (r: StackReport, id: string) => r.passes[0]!.probes.find((p) => p.probe === id);

describeWith({ tools: ['nginx'], pythonModules: ['flask', 'gunicorn'] })('the front door', () => {
  it('nginx: another Host is closed without an answer; every listen address answers', async () => {
    const r = await verifyStack(readStackSpec(stack('door-nginx', 'nginx')), options());
    expect(probe(r, 'unknown-host')).toMatchObject({ status: 'pass', actual: /closed without an answer/ });
    const v6 = await ipv6LoopbackAvailable();
    expect(probe(r, 'listen-addresses')?.status).toBe(v6 ? 'pass' : 'skip');
    if (v6) expect(probe(r, 'listen-addresses')?.actual).toMatch(/127\.0\.0\.1:\d+ 200, \[::1\]:\d+ 200/);
    expect(r.outcome).toBe('pass');
  }, 120_000);

  it('nginx without the catch-all server (the old render): unknown-host fails', async () => {
    const r = await verifyStack(
      readStackSpec(stack('door-nocatch', 'nginx')),
      // The catch-all is a file of its own (shared by the stacks on an address): not included.
      options((a) =>
        a.path === 'nginx/nginx.conf'
          ? { ...a, content: a.content.replace(/^ *include [^\n]*\/catch-all\/[^\n]*\n/gm, '') }
          : a,
      ),
    );
    expect(probe(r, 'unknown-host')).toMatchObject({ status: 'fail', actual: /reached the app/ });
  }, 120_000);

  it('nginx with only its IPv4 listen line: listen-addresses fails on [::1]', async (ctx) => {
    if (!(await ipv6LoopbackAvailable())) ctx.skip();
    const r = await verifyStack(
      readStackSpec(stack('door-v4only', 'nginx')),
      options((a) =>
        a.path === 'nginx/door-v4only.conf'
          ? { ...a, content: a.content.replace(/^ *listen \[::1\][^\n]*\n/gm, '') }
          : a,
      ),
    );
    expect(probe(r, 'listen-addresses')).toMatchObject({
      status: 'fail',
      actual: /\[::1\]:\d+: .*ECONNREFUSED/,
    });
  }, 120_000);

  it('gateway: another Host gets 421; without the hosts list it reaches the app', async () => {
    const ok = await verifyStack(readStackSpec(stack('door-gw', 'gateway')), options());
    expect(probe(ok, 'unknown-host')).toMatchObject({ status: 'pass', actual: '421 from the front' });
    const v6 = await ipv6LoopbackAvailable();
    expect(probe(ok, 'listen-addresses')?.status).toBe(v6 ? 'pass' : 'skip');
    const open = await verifyStack(
      readStackSpec(stack('door-gwopen', 'gateway')),
      options((a) =>
        a.path === 'gateway/door-gwopen.yaml' ? { ...a, content: a.content.replace(/^hosts: .*\n/m, '') } : a,
      ),
    );
    expect(probe(open, 'unknown-host')).toMatchObject({ status: 'fail', actual: /reached the app/ });
  }, 180_000);
});
