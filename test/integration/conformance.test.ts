// Real apps nobody here wrote, on every protocol path of both proxies, in the sandbox:
// httpbin (status codes, redirects that keep host:port, gzip, streams, drip, ranges, a
// 1 MiB chunked upload, 100-continue, a 16 KB response header), Mercurial's hgweb as WSGI
// (a .wsgi file) and as CGI (a real hg clone and a 5 MB push), and Radicale (CalDAV verbs,
// If-Match). Each stack first passes `stackgen verify` (with --keep), then the real clients.
// When one fails, the fix goes into stackgen, never into the app.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { verifyStack } from '../../src/runtime/verify.js';
import { readAccountBook, resolveIds, sandboxAccounts } from '../../src/runtime/users.js';
import { readStackSpec } from '../../src/stack/parse.js';
import { runConformance } from '../helpers/conformance.js';
import { CONFORMANCE_STACKS, conformanceYaml, stageConformanceApp } from '../helpers/conformance-stacks.js';
import { describeWith } from '../helpers/tools.js';
import { KNOWN_GAPS } from '../../src/topology/catalog/gaps.js';
import { ROOT, TSX_IMPORT } from '../helpers/verify-cli.js';

/** The status a front refuses every chunked upload with on this path, as gaps.ts catalogues it. */
const chunkedRefusalOf = (path: { proxy: string; protocol: string }) =>
  KNOWN_GAPS.find(
    (g) =>
      g.refusesChunkedBody !== undefined &&
      g.when.proxy === path.proxy &&
      (g.when.protocol === undefined || g.when.protocol === path.protocol),
  )?.refusesChunkedBody;

const work = mkdtempSync(join(tmpdir(), 'stackgen-conformance-'));
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describeWith({
  tools: ['nginx', 'uwsgi', 'gunicorn', 'fcgiwrap', 'hg'],
  pythonModules: ['httpbin', 'radicale', 'mercurial'],
})('third-party apps on every path (sandbox)', () => {
  const book = readAccountBook();
  // As root the app runs as its own account (or the sandbox's stand-in for it): it must own
  // what it writes (install does it on a host).
  const ownerOf = (name: string) => {
    if (process.getuid?.() !== 0) return undefined;
    const { app, group } = sandboxAccounts(book, { app: name, group: name, proxy: 'www-data' }).users;
    return resolveIds(book, app, group);
  };

  for (const s of CONFORMANCE_STACKS) {
    it(`${s.app} via ${s.path.proxy} → ${s.path.protocol}${s.mount ? ` mounted at ${s.mount}` : ''}`, async () => {
      const dir = join(work, s.name);
      const owner = ownerOf(s.name);
      await stageConformanceApp(s, join(dir, 'app'), join(dir, 'app'), owner);
      const file = join(dir, 'stack.yaml');
      writeFileSync(file, conformanceYaml(s, join(dir, 'app')));
      const report = await verifyStack(readStackSpec(file), {
        probeApp: false,
        keep: true,
        cores: 2,
        stackgenCommand: [process.execPath, '--import', TSX_IMPORT, join(ROOT, 'src/main.ts')],
        book,
        signal: new AbortController().signal,
        readyDeadlineMs: 30_000,
      });
      const pass = report.passes[0]!;
      try {
        const failed = pass.probes.filter((p) => p.status === 'fail').map((p) => `${p.key}: ${p.actual}`);
        expect(pass.notReady, JSON.stringify(pass.notReady)).toBeNull();
        expect(failed.join('\n')).toBe('');
        if (s.app === 'radicale')
          expect(pass.probes.find((p) => p.probe === 'check:propfind')?.status).toBe('pass');
        expect(pass.kept).not.toBeNull();
        const url = new URL(pass.kept!.urls[0]!);
        const results = await runConformance(
          s.app,
          {
            host: url.hostname,
            port: Number(url.port),
            mount: s.mount ?? '',
            chunkedRefusal: chunkedRefusalOf(s.path),
          },
          join(dir, 'client'),
        );
        expect(
          results
            .filter((r) => !r.ok)
            .map((r) => `${r.name}: ${r.detail}`)
            .join('\n'),
        ).toBe('');
        expect(results.length).toBeGreaterThan(0);
      } finally {
        if (pass.kept) execFileSync('sh', [pass.kept.stopCommand.replace(/^sh /, '')]);
        rmSync(pass.dir, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
