// Request handling on one connection (RFC 9112, nginx as the reference): what reaches the
// backend after a refusal, what a client gets when bytes after an in-flight request are bad,
// pipelining order, absolute-form Host, which request lines and methods are served, and what
// the access log says. Every case runs behind each kind of lead request — a plain GET, a POST
// with a body (which node:http parsed until the fast lane took every request), none at all —
// since the same bytes must get the same answer whatever came before them on the connection.

import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCgiEnv } from '../../../src/gateway/cgi-env.js';
import type { GatewayRequest } from '../../../src/gateway/transport.js';
import { rawRequest } from '../../helpers/gateway-process.js';
import { answer, type Harness, scriptedLocation, startHarness } from '../../helpers/gateway-harness.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const H = 'Host: gw.test\r\n';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The lead request that decides which lane owns the connection first. */
const LEADS: Array<[string, string]> = [
  ['no lead', ''],
  ['fast lane lead (GET)', `GET /lead HTTP/1.1\r\n${H}\r\n`],
  ['node:http lead (POST)', `POST /lead HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nok`],
];

/** A gateway whose one backend answers `seen <path>` after `delayMs` and records every request. */
async function harness(delayMs = 0): Promise<Harness> {
  return startHarness({
    locations: [scriptedLocation('/', 'app')],
    scripts: {
      app: async (req) => {
        if (delayMs > 0) await sleep(delayMs);
        return answer(200, `seen ${req.method} ${req.rawTarget}\n`);
      },
    },
  });
}

const seen = (x: Harness) => (x.transports.get('app')?.[0]?.requests ?? []).map((r) => r.rawTarget);
const statuses = (raw: Buffer) =>
  [...raw.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

describe('nothing after a refused request reaches a backend', () => {
  const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
  // [name, refused request (a smuggled request follows it on the same connection), status]
  const REFUSED: Array<[string, string, number]> = [
    ['missing Host', 'GET /a HTTP/1.1\r\n\r\n', 400],
    ['duplicate Host', `GET /a HTTP/1.1\r\n${H}${H}\r\n`, 400],
    ['a .. path above the root', `GET /../a HTTP/1.1\r\n${H}\r\n`, 400],
    [
      'Transfer-Encoding: gzip, chunked (501; its chunked framing must not find the next request)',
      `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
      501,
    ],
    [
      'Transfer-Encoding on HTTP/1.0',
      `POST /a HTTP/1.0\r\n${H}Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      400,
    ],
    ['missing Host on a POST', 'POST /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n', 400],
  ];
  for (const [lead, leadBytes] of LEADS)
    it.each(REFUSED)(`${lead}: %s`, async (_name, refused, status) => {
      h = await harness();
      const res = await rawRequest(h.port, leadBytes + refused + SMUGGLED, 600);
      expect(statuses(res.raw)).toEqual([...(leadBytes === '' ? [] : [200]), status]);
      expect(res.raw.toString('latin1')).toMatch(/\r\nConnection: close\r\n/i);
      await sleep(50);
      expect(seen(h)).toEqual(leadBytes === '' ? [] : ['/lead']);
    });
});

describe('a request the backend ran is answered before the error or the close', () => {
  // [name, bytes after the in-flight request, statuses after its 200, requests the backend ran]
  const AFTER: Array<[string, (close: boolean) => string, number[]]> = [
    ['trailing garbage', () => 'xyz garbage\r\n\r\n', [400]],
    ['data after Connection: close', () => `GET /after HTTP/1.1\r\n${H}\r\n`, []],
  ];
  const IN_FLIGHT: Array<[string, (close: boolean) => string]> = [
    [
      'a POST (node:http)',
      (close) =>
        `POST /run HTTP/1.1\r\n${H}${close ? 'Connection: close\r\n' : ''}Content-Length: 3\r\n\r\nabc`,
    ],
    ['a GET (fast lane)', (close) => `GET /run HTTP/1.1\r\n${H}${close ? 'Connection: close\r\n' : ''}\r\n`],
  ];
  for (const [flight, first] of IN_FLIGHT)
    it.each(AFTER)(`${flight}, then %s`, async (name, after, more) => {
      h = await harness(100);
      const close = name.includes('Connection: close');
      const res = await rawRequest(h.port, first(close) + after(close), 600);
      expect(statuses(res.raw)).toEqual([200, ...more]);
      expect(res.raw.toString('latin1')).toContain(`seen ${flight.includes('POST') ? 'POST' : 'GET'} /run`);
      expect(seen(h)).toEqual(['/run']);
      const lines = await h.accessLines();
      expect(lines.filter((l) => l.includes('/run'))).toHaveLength(1);
      expect(lines).toHaveLength(1 + more.length);
    });

  it.each(IN_FLIGHT)(
    '%s on HTTP/1.0 without keep-alive, then a pipelined request: answered, then closed',
    async (flight) => {
      h = await harness(100);
      const first = flight.includes('POST')
        ? `POST /run HTTP/1.0\r\n${H}Content-Length: 3\r\n\r\nabc`
        : `GET /run HTTP/1.0\r\n${H}\r\n`;
      const res = await rawRequest(h.port, `${first}GET /after HTTP/1.1\r\n${H}\r\n`, 600);
      expect(res.raw.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
      expect(statuses(res.raw)).toEqual([200]);
      expect(seen(h)).toEqual(['/run']);
      expect(await h.accessLines()).toHaveLength(1);
    },
  );
});

describe('bytes arriving after an answer that closes', () => {
  it.each([
    ['GET (fast lane)', `GET /first HTTP/1.1\r\n${H}Connection: close\r\n\r\n`],
    ['POST (node:http)', `POST /first HTTP/1.1\r\n${H}Connection: close\r\nContent-Length: 1\r\n\r\na`],
    [
      'LABEL (fast lane, a body)',
      `LABEL /first HTTP/1.1\r\n${H}Connection: close\r\nContent-Length: 1\r\n\r\na`,
    ],
  ])(
    '%s with Connection: close, then a request sent after its answer: never served',
    async (_name, first) => {
      h = await harness();
      const harnessNow = h;
      const { answers, closed } = await new Promise<{ answers: string; closed: boolean }>((resolve) => {
        const socket = connect(harnessNow.port, '127.0.0.1');
        let all = '';
        let sentLate = false;
        socket.on('data', (d: Buffer) => {
          all += d.toString('latin1');
          if (!sentLate && all.includes('seen ')) {
            sentLate = true;
            socket.write(`GET /late HTTP/1.1\r\n${H}\r\n`, 'latin1');
          }
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve({ answers: all, closed: true }));
        setTimeout(() => {
          socket.destroy();
          resolve({ answers: all, closed: false });
        }, 1_000);
        socket.write(first, 'latin1');
      });
      expect(statuses(Buffer.from(answers, 'latin1'))).toEqual([200]);
      expect(closed).toBe(true);
      await sleep(50);
      expect(seen(h)).toEqual(['/first']);
    },
  );
});

describe('pipelined requests are processed in order, one at a time', () => {
  it.each([
    ['POST (node:http)', (i: number) => `POST /${i} HTTP/1.1\r\n${H}Content-Length: 1\r\n\r\n${i % 10}`],
    ['GET (fast lane)', (i: number) => `GET /${i} HTTP/1.1\r\n${H}\r\n`],
  ])('ten pipelined %s reach the backend 1..10, never two at once', async (_name, request) => {
    let inFlight = 0;
    let most = 0;
    h = await startHarness({
      locations: [scriptedLocation('/', 'app')],
      scripts: {
        app: async (req, n) => {
          inFlight++;
          most = Math.max(most, inFlight);
          // The first is the slowest: a lane that runs them in parallel lets the others pass it.
          await sleep(n === 1 ? 120 : 10);
          inFlight--;
          return answer(200, `seen ${req.rawTarget}\n`);
        },
      },
    });
    const all = Array.from({ length: 10 }, (_, i) => request(i + 1)).join('');
    const res = await rawRequest(h.port, all, 800);
    const expected = Array.from({ length: 10 }, (_, i) => `/${i + 1}`);
    expect(seen(h)).toEqual(expected);
    expect(most).toBe(1);
    expect([...res.raw.toString('latin1').matchAll(/seen (\/\d+)/g)].map((m) => m[1])).toEqual(expected);
  });
});

describe('absolute-form request-target (RFC 9112 §3.2.2)', () => {
  it.each([
    ['GET', `GET http://other.test/x?y=1 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`],
    ['POST', `POST http://other.test/x?y=1 HTTP/1.1\r\n${H}Connection: close\r\nContent-Length: 1\r\n\r\na`],
    ['GET, HTTP/1.0 without Host', 'GET http://other.test/x?y=1 HTTP/1.0\r\n\r\n'],
  ])('%s: the authority is the Host the app sees (HTTP_HOST = X-Forwarded-Host)', async (_name, bytes) => {
    h = await harness();
    expect((await rawRequest(h.port, bytes)).status).toBe(200);
    const req = h.transports.get('app')?.[0]?.requests[0] as GatewayRequest;
    expect(req.rawTarget).toBe('/x?y=1');
    const env = new Map(buildCgiEnv(req));
    expect(env.get('HTTP_HOST')).toBe('other.test');
    expect(env.get('HTTP_X_FORWARDED_HOST')).toBe('other.test');
    const hosts = req.rawHeaders.filter((_, i, all) => i % 2 === 1 && /^host$/i.test(all[i - 1] as string));
    expect(hosts).toEqual(['other.test']);
  });
});

describe('request lines: only HTTP/1.0 and HTTP/1.1', () => {
  const OTHER: Array<[string, string]> = [
    ['RTSP/1.0 GET', `GET / RTSP/1.0\r\n${H}\r\n`],
    ['RTSP/1.0 OPTIONS', `OPTIONS / RTSP/1.0\r\n${H}\r\n`],
    ['RTSP/1.0 POST with a body', `POST / RTSP/1.0\r\n${H}Content-Length: 1\r\n\r\na`],
    ['ICE/1.0 SOURCE', `SOURCE / ICE/1.0\r\n${H}\r\n`],
  ];
  // llhttp refuses this one itself (ICE/1.0 only with SOURCE), whichever lane parses it.
  const REFUSED_BY_BOTH: Array<[string, string]> = [['ICE/1.0 GET', `GET / ICE/1.0\r\n${H}\r\n`]];
  for (const [lead, leadBytes] of LEADS)
    it.each(OTHER)(`${lead}: %s → 400`, (_name, bytes) => refusedLine(leadBytes, bytes));
  for (const [lead, leadBytes] of LEADS)
    it.each(REFUSED_BY_BOTH)(`${lead}: %s → 400`, (_name, bytes) => refusedLine(leadBytes, bytes));
  async function refusedLine(leadBytes: string, bytes: string): Promise<void> {
    h = await harness();
    const res = await rawRequest(h.port, leadBytes + bytes, 600);
    expect(statuses(res.raw)).toEqual([...(leadBytes === '' ? [] : [200]), 400]);
    await sleep(50);
    expect(seen(h)).toEqual(leadBytes === '' ? [] : ['/lead']);
  }

  it.each([
    ['an invalid header line', `GET / HTTP/1.1\r\n${H}Bad Header\r\nX-More: `],
    ['a control byte in a value', `GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\nX-More: `],
    ['a bad request line', 'GET /\x01 HTTP/1.1\r\nX-More: '],
  ])('a head already invalid (%s) is refused at once, not at the header timeout', async (_name, bytes) => {
    h = await harness();
    const started = Date.now();
    const res = await rawRequest(h.port, bytes, 3_000);
    expect(res.status).toBe(400);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('requests pipelined after an Upgrade that is not tunnelled are answered', async () => {
    h = await harness();
    const res = await rawRequest(
      h.port,
      `GET /up HTTP/1.1\r\n${H}Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\nGET /next HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
      600,
    );
    expect(statuses(res.raw)).toEqual([200, 200]);
    expect(seen(h)).toEqual(['/up', '/next']);
  });
});

describe('every registered method token passes, as nginx passes them', () => {
  // DeltaV (RFC 3253), ordered collections (RFC 3648), redirect refs (RFC 4437), and an
  // unregistered one: node's parser knows none of them; nginx takes any method of upper-case
  // letters, `_` and `-`. PROPFIND (WebDAV, RFC 4918) is one node knows, for comparison.
  const EXTENSION = [
    'VERSION-CONTROL',
    'LABEL',
    'MKWORKSPACE',
    'ORDERPATCH',
    'MKREDIRECTREF',
    'UPDATEREDIRECTREF',
    'BASELINE-CONTROL',
    'X-CUSTOM_METHOD',
  ];
  const withoutBody = async (leadBytes: string, method: string) => {
    h = await harness();
    const res = await rawRequest(
      h.port,
      `${leadBytes}${method} /dav HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
      600,
    );
    expect(statuses(res.raw)).toEqual([...(leadBytes === '' ? [] : [200]), 200]);
    expect(res.raw.toString('latin1')).toContain(`seen ${method} /dav`);
  };
  const withBody = async (leadBytes: string, method: string) => {
    h = await harness();
    const res = await rawRequest(
      h.port,
      `${leadBytes}${method} /dav HTTP/1.1\r\n${H}Content-Type: text/xml\r\nContent-Length: 7\r\n\r\n<x/>abcGET /next HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
      600,
    );
    expect(statuses(res.raw)).toEqual([...(leadBytes === '' ? [] : [200]), 200, 200]);
    const reqs = h.transports.get('app')?.[0]?.requests ?? [];
    const req = reqs.find((r) => r.method === method);
    expect(req?.body?.length).toBe(7);
    expect(reqs.at(-1)?.rawTarget).toBe('/next');
  };
  for (const [lead, leadBytes] of LEADS) {
    it.each(EXTENSION)(`${lead}: %s without a body`, (m) => withoutBody(leadBytes, m));
    it.each(EXTENSION)(`${lead}: %s with a Content-Length body, then a pipelined GET`, (m) =>
      withBody(leadBytes, m),
    );
    it(`${lead}: PROPFIND (a method node knows) with and without a body`, async () => {
      await withoutBody(leadBytes, 'PROPFIND');
      await h?.close();
      await withBody(leadBytes, 'PROPFIND');
    });
    it.each(['M1', 'get', 'A.B'])(
      `${lead}: %s, a token nginx refuses, is 400 and reaches nothing`,
      async (method) => {
        h = await harness();
        const res = await rawRequest(h.port, `${leadBytes}${method} /dav HTTP/1.1\r\n${H}\r\n`, 600);
        expect(statuses(res.raw)).toEqual([...(leadBytes === '' ? [] : [200]), 400]);
        expect(seen(h)).toEqual(leadBytes === '' ? [] : ['/lead']);
      },
    );
  }

  it.each([
    [
      'in one piece',
      [
        'LABEL /v HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<x/>\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\nGET /next HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n',
      ],
    ],
    [
      'a byte at a time',
      [
        ...'LABEL /v HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<x/>\r\n3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n',
      ],
    ],
  ])(
    'an extension method with a chunked body (%s) reaches the app de-chunked, then the next request',
    async (_how, parts) => {
      h = await harness();
      const answers = await new Promise<string>((resolve) => {
        const socket = connect(h?.port ?? 0, '127.0.0.1');
        let all = '';
        socket.on('data', (d: Buffer) => {
          all += d.toString('latin1');
        });
        socket.on('close', () => resolve(all));
        socket.on('connect', async () => {
          for (const p of parts) {
            socket.write(p, 'latin1');
            if (parts.length > 1) await sleep(1);
          }
        });
      });
      expect(statuses(Buffer.from(answers, 'latin1'))).toEqual([200, 200]);
      const [label, next] = h.transports.get('app')?.[0]?.requests ?? [];
      expect(label?.method).toBe('LABEL');
      expect(label?.body?.length).toBe(7);
      expect(next?.rawTarget).toBe('/next');
    },
  );

  it('an extension method with a malformed chunked body is 400, nothing forwarded, nothing after it read', async () => {
    h = await harness();
    const res = await rawRequest(
      h.port,
      `LABEL /v HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`,
      600,
    );
    expect(statuses(res.raw)).toEqual([400]);
    expect(res.head).toMatch(/\r\nConnection: close/i);
    expect(seen(h)).toEqual([]);
    expect(await h.accessLines()).toEqual([expect.stringMatching(/"LABEL \/v" 400 /)]);
  });

  it('an extension method over max_body is 413 before the backend, and the connection closes', async () => {
    h = await startHarness({
      locations: [scriptedLocation('/', 'app')],
      scripts: { app: () => answer(200, 'never') },
      config: { maxBodyBytes: 4 },
    });
    const res = await rawRequest(
      h.port,
      `LABEL /v HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\n0123456789GET /x HTTP/1.1\r\n${H}\r\n`,
      600,
    );
    expect(statuses(res.raw)).toEqual([413]);
    expect(res.head).toMatch(/\r\nConnection: close/i);
    expect(h.transports.get('app')?.[0]?.requests ?? []).toHaveLength(0);
  });

  it('an extension method whose body stalls gets 408 (client_body), nothing forwarded', async () => {
    h = await startHarness({
      locations: [scriptedLocation('/', 'app')],
      scripts: { app: () => answer(200, 'never') },
      config: { timeouts: { clientBodyMs: 150 } },
    });
    const res = await rawRequest(h.port, `LABEL /v HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\n012`, 1_500);
    expect(res.status).toBe(408);
    expect(h.transports.get('app')?.[0]?.requests ?? []).toHaveLength(0);
  });

  it('an extension method to a path no location serves gets that 404 (not node’s 400)', async () => {
    h = await startHarness({
      locations: [scriptedLocation('/app/', 'app')],
      scripts: { app: () => answer(200, 'never') },
    });
    const res = await rawRequest(h.port, `LABEL /elsewhere HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    expect(res.status).toBe(404);
  });
});

describe('access log lines cannot be forged', () => {
  it.each([
    ['an unparseable method with a newline', 'G\nFAKE 1.2.3.4 "GET /x" 200\r\nHost: x\r\n\r\n'],
    ['a quote and a backslash in the method', 'G"\\T / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['control bytes in the target', 'GET /a\x1b[31m\x7f HTTP/1.1\r\nHost: x\r\n\r\n'],
  ])('%s: one line, every client byte escaped', async (_name, bytes) => {
    h = await harness();
    await rawRequest(h.port, bytes, 400);
    const lines = await h.accessLines();
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    expect(line).toMatch(/^\S+ 127\.0\.0\.1 "[^"]* [^"]*" \d{3} /);
    expect(line).not.toMatch(/[\x00-\x1f\x7f]/);
  });
});

describe('Expect: 100-continue and empty lines (RFC 9110 §10.1.1, RFC 9112 §2.2)', () => {
  /** Send `head`, wait for the first answer bytes (or `waitMs`), then send `body`. */
  const exchange = (port: number, head: string, body: string, waitMs = 300) =>
    new Promise<{ first: string; all: string }>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let all = '';
      let first: string | null = null;
      const sendBody = () => {
        if (first !== null) return;
        first = all;
        if (!socket.destroyed) socket.write(body, 'latin1');
      };
      socket.on('data', (d: Buffer) => {
        all += d.toString('latin1');
        sendBody();
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve({ first: first ?? all, all }));
      socket.write(head, 'latin1');
      setTimeout(sendBody, waitMs);
      setTimeout(() => socket.destroy(), 1_500);
    });

  it('a 100 Continue is sent before the body is read, then the answer', async () => {
    h = await harness();
    const { first, all } = await exchange(
      h.port,
      `POST /up HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\n`,
      'abc',
    );
    expect(first).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    expect(statuses(Buffer.from(all, 'latin1'))).toEqual([100, 200]);
    expect(h.transports.get('app')?.[0]?.requests[0]?.body?.length).toBe(3);
  });

  it('a body over max_body is 413 at once, without a 100 Continue (nginx: checked before reading)', async () => {
    h = await startHarness({
      locations: [scriptedLocation('/', 'app')],
      scripts: { app: () => answer(200, 'never') },
      config: { maxBodyBytes: 4 },
    });
    const { first } = await exchange(
      h.port,
      `POST /up HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 10\r\n\r\n`,
      '0123456789',
    );
    expect(first).toMatch(/^HTTP\/1\.1 413 /);
    expect(h.transports.get('app')?.[0]?.requests ?? []).toHaveLength(0);
  });

  it('empty lines before a request line are ignored, between pipelined requests too', async () => {
    h = await harness();
    const res = await rawRequest(
      h.port,
      `\r\nPOST /a HTTP/1.1\r\n${H}Content-Length: 1\r\n\r\nx\r\n\r\nGET /b HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
      600,
    );
    expect(statuses(res.raw)).toEqual([200, 200]);
    expect(seen(h)).toEqual(['/a', '/b']);
  });
});

describe('a large upload', () => {
  it('is spilled to a file as it arrives (client_body_buffer_size), not held in memory, and reaches the app whole', async () => {
    h = await startHarness({
      locations: [scriptedLocation('/', 'app')],
      scripts: { app: () => answer(200, 'stored') },
      config: { maxBodyBytes: 16 * 1024 * 1024 },
    });
    const n = 3 * 1024 * 1024 + 5;
    const res = await rawRequest(
      h.port,
      Buffer.concat([
        Buffer.from(`PUT /big HTTP/1.1\r\n${H}Content-Length: ${n}\r\nConnection: close\r\n\r\n`, 'latin1'),
        Buffer.alloc(n, 0x61),
      ]),
      2_000,
    );
    expect(res.status).toBe(200);
    const body = h.transports.get('app')?.[0]?.requests[0]?.body;
    expect(body).toMatchObject({ kind: 'file', length: n });
  });
});
