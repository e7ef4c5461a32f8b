// Request bodies: a 1 MiB upload arrives byte for byte; a chunked upload arrives (or, on a
// server with a documented gap, is lost — as expected); a body over the proxy's limit is
// refused with 413 by the proxy itself, and the app's request counter does not move.

import { createHash, randomBytes } from 'node:crypto';
import { sizeToBytes } from '../render/address.js';
import { readCounter } from './counter.js';
import type { EchoResponse } from './contract.js';
import { httpRequest, jsonOf } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const MIB = 1024 * 1024;

export const uploadProbe: ProbeDefinition<{ status: number; echo: EchoResponse | null; sent: Buffer }> = {
  id: 'upload-1mb',
  title: '1 MiB upload arrives intact',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip: (ctx) =>
    sizeToBytes(ctx.plan.spec.proxy.max_body) > 0 && sizeToBytes(ctx.plan.spec.proxy.max_body) < MIB
      ? `proxy.max_body ${ctx.plan.spec.proxy.max_body} is under 1 MiB`
      : null,
  expect: () => '1048576 bytes, sha256 equal to what was sent',
  async observe(ctx) {
    const sent = randomBytes(MIB);
    const answer = await httpRequest(ctx.front, '/stackgen-verify/upload', {
      method: 'POST',
      body: sent,
      headers: { 'Content-Type': 'application/octet-stream' },
      signal: ctx.signal,
    });
    return { status: answer.status, echo: jsonOf<EchoResponse>(answer), sent };
  },
  judge({ status, echo, sent }) {
    if (status !== 200 || !echo) return fail(`answered ${status}`);
    if (echo.body_length !== sent.length || echo.body_sha256 !== sha256(sent))
      return fail(`${echo.body_length} bytes arrived, sha256 ${echo.body_sha256.slice(0, 12)}…`);
    return pass(`${echo.body_length} bytes, sha256 matches`);
  },
};

export const chunkedUploadProbe: ProbeDefinition<{
  status: number;
  echo: EchoResponse | null;
  sent: Buffer;
}> = {
  id: 'upload-chunked',
  title: 'chunked upload (no Content-Length)',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  expect: (ctx) =>
    ctx.behaviour.chunkedRefusal !== null
      ? `${ctx.behaviour.chunkedRefusal} from the front (documented gap of this stack)`
      : ctx.behaviour.readsChunkedBody
        ? 'the whole de-chunked body reaches the app'
        : 'the body is lost (documented gap of this server)',
  async observe(ctx) {
    const pieces = [randomBytes(1000), randomBytes(70_000), Buffer.from('tail')];
    const answer = await httpRequest(ctx.front, '/stackgen-verify/chunked', {
      method: 'PUT',
      chunkedBody: pieces,
      signal: ctx.signal,
    });
    return { status: answer.status, echo: jsonOf<EchoResponse>(answer), sent: Buffer.concat(pieces) };
  },
  judge({ status, echo, sent }, ctx) {
    // A documented front that refuses it itself (Apache's mod_proxy_uwsgi: 411) must refuse it.
    if (ctx.behaviour.chunkedRefusal !== null)
      return status === ctx.behaviour.chunkedRefusal
        ? pass(`refused by the front (${status}), as documented`)
        : fail(
            `answered ${status}: the documented refusal (${ctx.behaviour.chunkedRefusal}) is gone — update KNOWN_GAPS`,
          );
    // A documented gap may also show as the framework's own 400 (Bottle re-parsing chunks).
    if (!ctx.behaviour.readsChunkedBody && status === 400)
      return pass('refused by the framework (400), as documented for this server');
    if (status !== 200 || !echo) return fail(`answered ${status}`);
    const { CONTENT_LENGTH: length, HTTP_TRANSFER_ENCODING: coding } = echo.environ;
    // RFC 9112 §6.3: a message with both framings is ambiguous; a proxy that de-chunked the
    // body must send its length alone, or frameworks pick the wrong one (Werkzeug reads none).
    if (length && coding)
      return fail(
        `the app saw CONTENT_LENGTH ${length} and Transfer-Encoding ${JSON.stringify(coding)} together`,
      );
    const intact = echo.body_length === sent.length && echo.body_sha256 === sha256(sent);
    if (ctx.behaviour.readsChunkedBody)
      return intact
        ? pass(`${sent.length} bytes arrived intact`)
        : fail(`${echo.body_length} of ${sent.length} bytes arrived`);
    return echo.body_length === 0
      ? pass('body lost, as documented for this server')
      : fail(`${echo.body_length} bytes arrived: the documented gap is gone — update KNOWN_GAPS`);
  },
};

/** A chunked body of `bytes` bytes, in 64 KiB chunks (no Content-Length says how long it is). */
function chunkedPieces(bytes: number): Buffer[] {
  const piece = Buffer.alloc(64 * 1024, 0x78);
  const out: Buffer[] = [];
  for (let left = bytes; left > 0; left -= piece.length)
    out.push(left >= piece.length ? piece : piece.subarray(0, left));
  return out;
}

export const bodyLimitProbe: ProbeDefinition<{
  status: number;
  before: number | null;
  after: number | null;
  /** The same size sent chunked: the limit must hold without a Content-Length to read it from. */
  chunked: number | string;
  afterChunked: number | null;
}> = {
  id: 'body-limit',
  title: 'body over the proxy limit → 413 from the proxy (announced, and sent chunked)',
  phase: 'serial',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) =>
    ctx.plan.front.kind === 'none'
      ? 'no proxy: the app server faces clients'
      : sizeToBytes(ctx.plan.spec.proxy.max_body) === 0
        ? 'proxy.max_body is 0 (unlimited)'
        : null,
  expect: (ctx) =>
    `413 for ${sizeToBytes(ctx.plan.spec.proxy.max_body) + 1} bytes (max_body ${ctx.plan.spec.proxy.max_body}), announced and sent chunked${ctx.behaviour.chunkedRefusal !== null ? ` (chunked: ${ctx.behaviour.chunkedRefusal}, the front's documented refusal of every chunked upload)` : ''}${ctx.probe ? '; app counter unchanged' : ''}`,
  async observe(ctx) {
    const over = sizeToBytes(ctx.plan.spec.proxy.max_body) + 1;
    const before = await readCounter(ctx);
    const answer = await httpRequest(ctx.front, '/stackgen-verify/too-large', {
      method: 'POST',
      announceBytes: over,
      headers: { 'Content-Type': 'application/octet-stream' },
      signal: ctx.signal,
      timeoutMs: 5000,
    });
    const after = await readCounter(ctx);
    // The whole body, as a client streaming an upload of unknown length sends it: the front
    // has to count what it reads (Apache 2.4 bounds no proxied chunked body by itself).
    const chunked = await httpRequest(ctx.front, '/stackgen-verify/too-large', {
      method: 'POST',
      chunkedBody: chunkedPieces(over),
      headers: { 'Content-Type': 'application/octet-stream' },
      signal: ctx.signal,
      timeoutMs: 20_000,
    }).then(
      (a) => a.status,
      (err: Error) => `no answer (${err.message})`,
    );
    const afterChunked = await readCounter(ctx);
    return { status: answer.status, before, after, chunked, afterChunked };
  },
  judge({ status, before, after, chunked, afterChunked }, ctx) {
    if (status !== 413) return fail(`answered ${status}`);
    if (before !== null && after !== null && after !== before)
      return fail(`413, but the app counted ${after - before} request(s): the app refused it, not the proxy`);
    const refusal = ctx.behaviour.chunkedRefusal;
    if (chunked !== 413 && chunked !== refusal)
      return fail(
        `413 when announced, but the same body sent chunked was answered ${chunked}${typeof chunked === 'number' && chunked < 400 ? ': it reached the app past proxy.max_body' : ''}`,
      );
    if (after !== null && afterChunked !== null && afterChunked !== after)
      return fail(
        `the chunked body over the limit reached the app (${afterChunked - after} request(s) counted)`,
      );
    const how = chunked === 413 ? '413' : `${chunked} (the documented refusal of chunked uploads)`;
    return before === null
      ? pass(`413; chunked: ${how} (app counter not available)`)
      : pass(`413 from the proxy; chunked: ${how}; app counter unchanged`);
  },
};
