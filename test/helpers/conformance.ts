// What real clients do with three third-party apps nobody here wrote — httpbin (Flask),
// Mercurial's hgweb (a real `hg` clone and push) and Radicale (CalDAV) — each case a
// request sequence and what must come back. The same cases run from this process against
// a sandbox, and from inside a throwaway machine against the installed production render
// (this file is also a script: `node --import tsx conformance.ts APP HOST PORT WORKDIR`
// prints the results as JSON).

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';

const run = promisify(execFile);

export type ConformanceApp = 'httpbin' | 'hgweb' | 'radicale';

export interface Front {
  host: string;
  port: number;
  /** app.mount of the stack ('' or absent at /): the app's URLs are below it. */
  mount?: string;
  /** The front refuses every chunked upload with this status (a catalogued gap: Apache's 411). */
  chunkedRefusal?: number | undefined;
}

export interface CaseResult {
  name: string;
  ok: boolean;
  detail: string;
  ms: number;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  ms: number;
  /** ms from the request to the first body byte. */
  firstByteMs: number | null;
}

interface Send {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Send the body as these chunks with Transfer-Encoding: chunked. */
  chunks?: Buffer[];
  /** Ask for 100-continue and send the body only after it. */
  expectContinue?: boolean;
}

/** One request on its own connection. */
export function send(front: Front, path: string, o: Send = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const body = typeof o.body === 'string' ? Buffer.from(o.body) : o.body;
    const headers: Record<string, string> = { ...o.headers };
    if (body) headers['Content-Length'] = String(body.length);
    if (o.expectContinue) headers['Expect'] = '100-continue';
    // A client that reads big response heads (Node's default stops at 16 KiB).
    const req = request(
      {
        host: front.host,
        port: front.port,
        path,
        method: o.method ?? 'GET',
        headers,
        agent: false,
        maxHeaderSize: 64 * 1024,
      },
      (res) => {
        const parts: Buffer[] = [];
        let firstByteMs: number | null = null;
        res.on('data', (c: Buffer) => {
          firstByteMs ??= performance.now() - t0;
          parts.push(c);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
            ms: performance.now() - t0,
            firstByteMs,
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    if (o.expectContinue) {
      req.on('continue', () => req.end(body));
      return;
    }
    if (o.chunks) {
      for (const c of o.chunks) req.write(c);
      req.end();
    } else req.end(body);
  });
}

const json = (a: Answer) => JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

type Case = { name: string; run: (front: Front, work: string) => Promise<string | null> };

/** null when `cond`, else the problem (for one-line checks). */
const check = (cond: boolean, problem: string) => (cond ? null : problem);

const HTTPBIN: Case[] = [
  {
    name: 'status codes pass through (418, 204 without a body)',
    run: async (f) => {
      const teapot = await send(f, '/status/418');
      const empty = await send(f, '/status/204');
      return check(
        teapot.status === 418 && empty.status === 204 && empty.body.length === 0,
        `418→${teapot.status}, 204→${empty.status} (${empty.body.length} bytes)`,
      );
    },
  },
  {
    name: 'a relative redirect stays relative',
    run: async (f) => {
      const a = await send(f, '/redirect-to?url=/get');
      return check(
        a.status === 302 && a.headers['location'] === '/get',
        `${a.status} Location ${a.headers['location']}`,
      );
    },
  },
  {
    name: 'an absolute redirect keeps the host and port the client used',
    run: async (f) => {
      const a = await send(f, '/absolute-redirect/1');
      // The client sends Host without the port when it is the scheme's default.
      const want = `http://${f.host}${f.port === 80 ? '' : `:${f.port}`}/get`;
      return check(
        a.status === 302 && a.headers['location'] === want,
        `${a.status} Location ${a.headers['location']} (want ${want})`,
      );
    },
  },
  {
    name: 'a gzip answer arrives compressed and intact',
    run: async (f) => {
      const a = await send(f, '/gzip', { headers: { 'Accept-Encoding': 'gzip' } });
      if (a.status !== 200 || a.headers['content-encoding'] !== 'gzip')
        return `${a.status}, Content-Encoding ${a.headers['content-encoding']}`;
      const doc = JSON.parse(gunzipSync(a.body).toString('utf8')) as { gzipped?: boolean };
      return check(doc.gzipped === true, 'body does not gunzip to httpbin’s answer');
    },
  },
  {
    name: 'a streamed answer (/stream/20) arrives whole',
    run: async (f) => {
      const a = await send(f, '/stream/20');
      const lines = a.body.toString('utf8').trim().split('\n');
      return check(a.status === 200 && lines.length === 20, `${a.status}, ${lines.length} lines`);
    },
  },
  {
    name: 'a drip over 1 s takes its time and arrives complete',
    run: async (f) => {
      const a = await send(f, '/drip?duration=1&numbytes=10&delay=0&code=200');
      return check(
        a.status === 200 && a.body.length === 10 && a.ms >= 900,
        `${a.status}, ${a.body.length} bytes in ${Math.round(a.ms)} ms`,
      );
    },
  },
  {
    name: 'a range request answers 206 with exactly that range',
    run: async (f) => {
      const a = await send(f, '/range/1024', { headers: { Range: 'bytes=10-19' } });
      return check(
        a.status === 206 && a.body.length === 10 && a.headers['content-range'] === 'bytes 10-19/1024',
        `${a.status}, ${a.body.length} bytes, ${a.headers['content-range']}`,
      );
    },
  },
  {
    name: 'a 1 MiB chunked upload reaches the app intact',
    run: async (f) => {
      const text = randomBytes(512 * 1024).toString('hex');
      const chunks = [
        Buffer.from(text.slice(0, 1000)),
        Buffer.from(text.slice(1000, 700_000)),
        Buffer.from(text.slice(700_000)),
      ];
      const a = await send(f, '/post', { method: 'POST', chunks, headers: { 'Content-Type': 'text/plain' } });
      if (f.chunkedRefusal !== undefined)
        return check(
          a.status === f.chunkedRefusal,
          `${a.status}, not the front's documented ${f.chunkedRefusal}`,
        );
      if (a.status !== 200) return `${a.status}`;
      const data = String(json(a)['data'] ?? '');
      return check(
        data.length === text.length && data === text,
        `${data.length} of ${text.length} characters arrived`,
      );
    },
  },
  {
    name: 'Expect: 100-continue: the body follows the 100 and arrives',
    run: async (f) => {
      const body = 'x'.repeat(200_000);
      const a = await send(f, '/post', {
        method: 'POST',
        body,
        expectContinue: true,
        headers: { 'Content-Type': 'text/plain' },
      });
      return check(a.status === 200 && String(json(a)['data']).length === body.length, `${a.status}`);
    },
  },
  {
    name: "the app's own X-Frame-Options: DENY arrives once (the proxy adds no SAMEORIGIN)",
    run: async (f) => {
      const a = await send(f, '/response-headers?X-Frame-Options=DENY');
      return check(
        a.status === 200 && a.headers['x-frame-options'] === 'DENY',
        `${a.headers['x-frame-options']}`,
      );
    },
  },
  {
    name: 'spoofed forwarding headers never reach the app (/headers, /ip)',
    run: async (f) => {
      const spoof = {
        'X-Forwarded-For': '6.6.6.6',
        'X-Real-IP': '6.6.6.6',
        Forwarded: 'for=6.6.6.6;proto=https',
        'X-Forwarded-Ssl': 'on',
        'Front-End-Https': 'on',
      };
      const seen = JSON.stringify(json(await send(f, '/headers', { headers: spoof }))['headers']);
      // httpbin's /ip is X-Forwarded-For or REMOTE_ADDR: the proxy's value, never the client's.
      const ip = String(json(await send(f, '/ip', { headers: spoof }))['origin']);
      return check(
        !seen.includes('6.6.6.6') &&
          !/X-Forwarded-Ssl|Front-End-Https|"Forwarded"/i.test(seen) &&
          ip !== '6.6.6.6',
        `headers ${seen}, origin ${ip}`,
      );
    },
  },
  {
    name: 'a 16 KB response header passes',
    run: async (f) => {
      // 16,000 bytes: the request line that asks for it still fits nginx's 16 KiB line buffer.
      const big = 'b'.repeat(16_000);
      const a = await send(f, `/response-headers?X-Big=${big}`);
      return check(
        a.status === 200 && a.headers['x-big'] === big,
        `${a.status}, X-Big ${String(a.headers['x-big'] ?? 'absent').length} characters`,
      );
    },
  },
];

const hg = (args: string[], cwd?: string) =>
  run(
    'hg',
    ['--config', 'ui.username=conformance <c@example.invalid>', '--config', 'ui.interactive=false', ...args],
    {
      cwd,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, HGPLAIN: '1', HOME: cwd ?? '/tmp' },
    },
  );

const HGWEB: Case[] = [
  {
    // hgweb builds its links from SCRIPT_NAME: mounted at /hg, the index must link /hg/repo/.
    name: "the index links the repository below the app's mount point",
    run: async (f) => {
      const index = await send(f, `${f.mount ?? ''}/`);
      const href = `href="${f.mount ?? ''}/repo/"`;
      return check(
        index.status === 200 && index.body.toString('utf8').includes(href),
        `GET ${f.mount ?? ''}/ answered ${index.status}${index.body.includes(href) ? '' : `, no ${href} in the index`}`,
      );
    },
  },
  {
    name: 'hg clone, commit a 5 MB binary, hg push, clone again: identical',
    run: async (f, work) => {
      const url = `http://${f.host}:${f.port}${f.mount ?? ''}/repo`;
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      const first = join(work, 'first');
      try {
        await hg(['clone', url, first], work);
        const blob = randomBytes(5 * 1024 * 1024);
        writeFileSync(join(first, 'blob.bin'), blob);
        writeFileSync(join(first, 'README'), 'pushed by the stackgen conformance suite\n');
        await hg(['add', 'blob.bin', 'README'], first);
        await hg(['commit', '-m', 'a 5 MB binary'], first);
        await hg(['push', url], first);
        const second = join(work, 'second');
        await hg(['clone', url, second], work);
        const back = readFileSync(join(second, 'blob.bin'));
        const log = (await hg(['log', '--template', '{desc}\\n'], second)).stdout.trim();
        return check(
          sha(back) === sha(blob) && log === 'a 5 MB binary',
          `re-clone: sha256 ${sha(back) === sha(blob) ? 'equal' : 'differs'}, log ${JSON.stringify(log)}`,
        );
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        return `${e.message.split('\n')[0]} ${e.stderr?.trim().split('\n').slice(-3).join(' | ') ?? ''}`;
      }
    },
  },
];

const ICS =
  'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//stackgen//conformance//EN\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260102T100000Z\r\nSUMMARY:conformance\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
const AUTH = { Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` };
const REPORT =
  '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>';

const RADICALE: Case[] = [
  {
    name: 'CalDAV: PROPFIND, MKCALENDAR, PUT, REPORT, MOVE, DELETE (If-Match → 412, then 200)',
    run: async (f) => {
      const steps: string[] = [];
      const expect = (what: string, a: Answer, status: number) => {
        steps.push(`${what} ${a.status}`);
        if (a.status !== status)
          throw new Error(
            `${what} answered ${a.status}, not ${status}: ${a.body.toString('utf8').slice(0, 160)}`,
          );
      };
      const cal = `/u/cal-${randomBytes(3).toString('hex')}/`;
      try {
        expect(
          'PROPFIND',
          await send(f, '/u/', { method: 'PROPFIND', headers: { ...AUTH, Depth: '1' } }),
          207,
        );
        expect('MKCALENDAR', await send(f, cal, { method: 'MKCALENDAR', headers: AUTH }), 201);
        expect(
          'PUT',
          await send(f, `${cal}e1.ics`, {
            method: 'PUT',
            body: ICS,
            headers: { ...AUTH, 'Content-Type': 'text/calendar' },
          }),
          201,
        );
        const report = await send(f, cal, {
          method: 'REPORT',
          body: REPORT,
          headers: { ...AUTH, Depth: '1', 'Content-Type': 'application/xml' },
        });
        expect('REPORT', report, 207);
        if (!report.body.includes('e1.ics')) throw new Error('REPORT does not list e1.ics');
        // The same authority the Host header carries (Radicale compares them as strings).
        const destination = `http://${f.host}${f.port === 80 ? '' : `:${f.port}`}${cal}e2.ics`;
        expect(
          'MOVE',
          await send(f, `${cal}e1.ics`, { method: 'MOVE', headers: { ...AUTH, Destination: destination } }),
          201,
        );
        expect(
          'DELETE If-Match wrong',
          await send(f, `${cal}e2.ics`, { method: 'DELETE', headers: { ...AUTH, 'If-Match': '"nope"' } }),
          412,
        );
        const got = await send(f, `${cal}e2.ics`, { headers: AUTH });
        expect('GET', got, 200);
        expect(
          'DELETE If-Match',
          await send(f, `${cal}e2.ics`, {
            method: 'DELETE',
            headers: { ...AUTH, 'If-Match': String(got.headers['etag']) },
          }),
          200,
        );
        return null;
      } catch (err) {
        return `${(err as Error).message} (after: ${steps.join(', ')})`;
      }
    },
  },
];

export const CASES: Record<ConformanceApp, Case[]> = { httpbin: HTTPBIN, hgweb: HGWEB, radicale: RADICALE };

/** Run every case of an app against a front; never throws. */
export async function runConformance(app: ConformanceApp, front: Front, work: string): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of CASES[app]) {
    const t0 = performance.now();
    let detail: string | null;
    try {
      detail = await c.run(front, work);
    } catch (err) {
      detail = (err as Error).message;
    }
    out.push({
      name: c.name,
      ok: detail === null,
      detail: detail ?? 'ok',
      ms: Math.round(performance.now() - t0),
    });
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [app, host, port, work, mount] = process.argv.slice(2);
  const results = await runConformance(
    app as ConformanceApp,
    { host: host!, port: Number(port), mount: mount ?? '' },
    work!,
  );
  process.stdout.write(`${JSON.stringify(results)}\n`);
}
