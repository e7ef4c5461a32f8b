// uWSGI's fastcgi-socket and a large body read with wsgi.input.readline(), as Trac reads an
// attachment upload. uWSGI 2.0.21 takes an EAGAIN inside a partly received FastCGI record
// for an error ("[uwsgi-body-read] Error reading … Resource temporarily unavailable"), and
// the client gets a 502. post-buffering does not avoid it (its reader fails the same way;
// measured: behind nginx 7 of 30, behind the gateway 20 of 30 broken, against 5 and 13 of 30
// without it), so stackgen warns on uWSGI + fastcgi and points at the uwsgi protocol.
// Proven here, READS × 6 MiB behind nginx and behind the gateway: over the uwsgi protocol
// every body arrives whole; over fastcgi-socket some break — the gap the warning names.
// When that stops failing, uWSGI has fixed it: drop the warning (catalog protocolWarnings).

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readAccountBook } from '../../src/runtime/users.js';
import { verifyStack } from '../../src/runtime/verify.js';
import { readStackSpec } from '../../src/stack/parse.js';
import { httpCall, json } from '../helpers/http-client.js';
import { describeWith } from '../helpers/tools.js';
import { ROOT, TSX_IMPORT } from '../helpers/verify-cli.js';

const READS = Number(process.env['READLINE_READS'] ?? 30);
const APP = join(import.meta.dirname, '..', 'fixtures', 'readline');

const work = mkdtempSync(join(tmpdir(), 'stackgen-readline-'));
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A multipart-like body: 6 MiB of lines of varying length. */
function linesBody(): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  while (size < 6 * 1024 * 1024) {
    const line = Buffer.from(`${randomBytes(20 + (size % 3000)).toString('base64')}\r\n`);
    parts.push(line);
    size += line.length;
  }
  return Buffer.concat(parts);
}

/** Broken uploads over fastcgi-socket, per front (the gap is judged over both). */
const fastcgiBroken = new Map<string, number>();

describeWith({ tools: ['nginx', 'uwsgi'] })('uWSGI: large bodies read with readline()', () => {
  const cases = (['uwsgi', 'fastcgi'] as const).flatMap((protocol) =>
    (['nginx', 'gateway'] as const).map((proxy) => ({ protocol, proxy })),
  );
  for (const { protocol, proxy } of cases) {
    it(`${protocol} behind ${proxy}: ${READS} × 6 MiB read line by line`, async () => {
      const name = `${protocol}-${proxy}`;
      const dir = join(work, name);
      cpSync(APP, join(dir, 'app'), { recursive: true });
      chmodSync(dir, 0o755);
      const file = join(dir, 'stack.yaml');
      writeFileSync(
        file,
        [
          `name: readline-${name}`,
          'app: {framework: wsgi, entry: "app:application", root: app}',
          'serve: {server: uwsgi, workers: 2}',
          `proxy: {kind: ${proxy}, protocol: ${protocol}, max_body: 20m${proxy === 'gateway' ? ', listen: "127.0.0.1:8080"' : ''}}`,
          'processes: {manager: systemd}',
          '',
        ].join('\n'),
      );
      const report = await verifyStack(readStackSpec(file), {
        probeApp: false,
        keep: true,
        cores: 2,
        stackgenCommand: [process.execPath, '--import', TSX_IMPORT, join(ROOT, 'src/main.ts')],
        book: readAccountBook(),
        signal: new AbortController().signal,
        readyDeadlineMs: 30_000,
      });
      const pass = report.passes[0]!;
      try {
        expect(pass.notReady, JSON.stringify(pass.notReady)).toBeNull();
        const url = new URL(pass.kept!.urls[0]!);
        const body = linesBody();
        const sha256 = createHash('sha256').update(body).digest('hex');
        const broken: string[] = [];
        for (let i = 0; i < READS; i++) {
          const res = await httpCall(Number(url.port), {
            method: 'POST',
            path: '/upload',
            body,
            timeoutMs: 30_000,
          });
          const seen = res.status === 200 ? json<{ length: number; sha256: string }>(res) : null;
          if (!seen || seen.length !== body.length || seen.sha256 !== sha256)
            broken.push(
              `#${i}: ${res.status} ${seen ? `${seen.length} bytes` : res.body.toString().slice(0, 80)}`,
            );
        }
        console.log(`readline over ${protocol} behind ${proxy}: ${broken.length} of ${READS} broken`);
        if (protocol === 'uwsgi') expect(broken).toEqual([]);
        else fastcgiBroken.set(proxy, broken.length);
      } finally {
        if (pass.kept) execFileSync('sh', [pass.kept.stopCommand.replace(/^sh /, '')]);
        rmSync(pass.dir, { recursive: true, force: true });
      }
    }, 240_000);
  }

  it('fastcgi-socket still breaks some (the gap behind the uWSGI + fastcgi warning)', () => {
    expect(fastcgiBroken.size).toBe(2);
    expect([...fastcgiBroken.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
