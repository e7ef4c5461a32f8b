// compression: a text answer of the app goes out gzip-compressed (with Vary: Accept-Encoding)
// when the client accepts gzip and the front compresses (nginx gzip on; the gateway's gzip.ts);
// through a front that does not it arrives as the app sent it. Either way the decoded body is
// the app's.

import { gunzipSync } from 'node:zlib';
import { PROXIES } from '../topology/catalog/proxies.js';
import { parseStreamLine, probePaths } from './contract.js';
import { httpRequest } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

/** 200 lines of text/plain, at once: well above gzip_min_length (1 KiB). */
const LINES = 200;

interface Observed {
  status: number;
  encoding: string | null;
  vary: string;
  lines: number;
  wireBytes: number;
  plainBytes: number;
}

export const compressionProbe: ProbeDefinition<Observed> = {
  id: 'compression',
  title: 'text answers compressed for clients that accept gzip',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip: (ctx) =>
    ctx.plan.spec.proxy.kind === 'none' ? 'no proxy: the app server answers as the app wrote it' : null,
  expect: (ctx) =>
    PROXIES[ctx.plan.spec.proxy.kind].compresses
      ? `Content-Encoding: gzip, Vary: Accept-Encoding, ${LINES} lines after gunzip`
      : `no Content-Encoding (documented: ${PROXIES[ctx.plan.spec.proxy.kind].title} does not compress on the fly), ${LINES} lines`,
  async observe(ctx) {
    const answer = await httpRequest(ctx.front, probePaths.stream(LINES, 0, { accel: true }), {
      signal: ctx.signal,
      headers: { 'Accept-Encoding': 'gzip' },
    });
    const encoding = (answer.headers['content-encoding'] as string | undefined) ?? null;
    const plain = encoding === 'gzip' ? gunzipSync(answer.body) : answer.body;
    const lines = plain.toString('utf8').split('\n').filter(Boolean).map(parseStreamLine);
    return {
      status: answer.status,
      encoding,
      vary: String(answer.headers['vary'] ?? ''),
      lines: lines.filter((l) => l !== null).length,
      wireBytes: answer.body.length,
      plainBytes: plain.length,
    };
  },
  judge(o, ctx) {
    if (o.status !== 200) return fail(`answered ${o.status}`);
    if (o.lines !== LINES) return fail(`${o.lines} of ${LINES} lines after decoding`);
    const facts = `${o.plainBytes} bytes sent as ${o.wireBytes}`;
    if (!PROXIES[ctx.plan.spec.proxy.kind].compresses)
      return o.encoding === null
        ? pass(`uncompressed as documented: ${facts}`)
        : fail(`Content-Encoding: ${o.encoding} (${facts}): the documented gap is gone — update PROXIES`);
    if (o.encoding !== 'gzip')
      return fail(`not compressed (Content-Encoding: ${o.encoding ?? 'none'}, ${facts})`);
    if (!/accept-encoding/i.test(o.vary)) return fail(`gzip without Vary: Accept-Encoding (${facts})`);
    return pass(`gzip, Vary: ${o.vary}: ${facts}`);
  },
};
