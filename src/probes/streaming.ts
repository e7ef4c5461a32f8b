// streaming: a streamed response reaches the client chunk by chunk — the first chunk well
// before the last — unless the server is documented to buffer (then it must still arrive whole).
// "Well before" is read two ways, either one enough: the first and the last chunk arrived at
// least two intervals apart, or the first bytes arrived at least one interval before the app
// wrote its last chunk (its lines carry the app's clock; client and app share the host's
// clock, on both targets). The second holds on a loaded machine where a late start squeezes
// the arrivals together (seen in CI: first chunk after 543 ms, last 291 ms later), and no
// front that holds the whole answer can meet it: nothing arrives before the app wrote it.
// It is asked for on `/` and below every proxy.unbuffered prefix. The app sends
// X-Accel-Buffering: no (its own opt-out of nginx's buffering) only on `/` of a stack whose
// front is meant to buffer (nginx before a sync WSGI or CGI app); everywhere else the stream
// must pass because the generated proxy config does not buffer it.

import { constants, gunzipSync } from 'node:zlib';
import { parseStreamLine, probePaths } from './contract.js';
import { absoluteTarget, httpRequest, mountedPath } from './http.js';
import { fail, pass, type ProbeContext, type ProbeDefinition } from './types.js';

const CHUNKS = 4;
const INTERVAL_MS = 150;

interface Stream {
  url: string;
  /** The app opted out of proxy buffering (X-Accel-Buffering: no). */
  accel: boolean;
  /** An absolute URL (a proxy.unbuffered prefix), not below app.mount. */
  absolute: boolean;
}

interface Observed extends Stream {
  status: number;
  /** The front compressed it (Content-Encoding: gzip). */
  gzipped: boolean;
  indexes: Array<number | null>;
  /** ms between the first and the last body chunk's arrival. */
  spreadMs: number;
  firstMs: number;
  /** ms by which the first body bytes arrived before the app wrote its last chunk (its clock); null without lines. */
  leadMs: number | null;
}

/** The streams to ask for: `/` (with the opt-out only where the front buffers by design) and every unbuffered prefix. */
export function streamsToProbe(ctx: Pick<ProbeContext, 'plan' | 'behaviour'>): Stream[] {
  const root = {
    url: probePaths.stream(CHUNKS, INTERVAL_MS, { accel: ctx.behaviour.frontBuffersApp }),
    accel: ctx.behaviour.frontBuffersApp,
    absolute: false,
  };
  const marked = ctx.plan.spec.proxy.unbuffered
    .filter((p) => p !== '/')
    .map((prefix) => ({
      url: probePaths.stream(CHUNKS, INTERVAL_MS, { prefix }),
      accel: false,
      absolute: true,
    }));
  return [root, ...marked];
}

function judgeOne(o: Observed, streams: boolean): { ok: boolean; text: string } {
  const where = `${o.url.split('?')[0]}${o.accel ? ' (app sent X-Accel-Buffering: no)' : ''}${o.gzipped ? ' (gzip)' : ''}`;
  if (o.status !== 200) return { ok: false, text: `${where} answered ${o.status}` };
  if (o.indexes.join(',') !== [...Array(CHUNKS).keys()].join(','))
    return { ok: false, text: `${where}: chunks arrived as [${o.indexes.join(',')}]` };
  const lead =
    o.leadMs === null
      ? ''
      : o.leadMs >= 0
        ? `, ${o.leadMs} ms before the app wrote the last`
        : `, ${-o.leadMs} ms after the app wrote the last`;
  const facts = `${where}: first chunk after ${o.firstMs} ms${lead}, last ${o.spreadMs} ms later`;
  if (streams)
    return o.spreadMs >= INTERVAL_MS * (CHUNKS - 2) || (o.leadMs !== null && o.leadMs >= INTERVAL_MS)
      ? { ok: true, text: facts }
      : { ok: false, text: `buffered: ${facts}` };
  return o.spreadMs < INTERVAL_MS
    ? { ok: true, text: `buffered as documented: ${facts}` }
    : { ok: false, text: `streamed (${facts}): the documented gap is gone — update KNOWN_GAPS` };
}

export const streamingProbe: ProbeDefinition<Observed[]> = {
  id: 'streaming',
  title: 'streamed response arrives incrementally',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  expect: (ctx) => {
    const where = streamsToProbe(ctx)
      .map((s) => `${s.url.split('?')[0]}${s.accel ? ' (X-Accel-Buffering: no)' : ''}`)
      .join(', ');
    return ctx.behaviour.streams
      ? `${CHUNKS} chunks ${INTERVAL_MS} ms apart; the first ≥ ${INTERVAL_MS * (CHUNKS - 2)} ms before the last, or ≥ ${INTERVAL_MS} ms before the app wrote the last, on ${where}`
      : `${CHUNKS} chunks arrive together (documented: this server buffers the response), on ${where}`;
  },
  async observe(ctx) {
    const out: Observed[] = [];
    for (const stream of streamsToProbe(ctx)) {
      // As a browser asks (EventSource and fetch send Accept-Encoding: gzip): a front that
      // compresses must flush each chunk, not hold them for a full deflate block.
      const answer = await httpRequest(stream.absolute ? absoluteTarget(ctx.front) : ctx.front, stream.url, {
        signal: ctx.signal,
        headers: { 'Accept-Encoding': 'gzip' },
      });
      const gzipped = answer.headers['content-encoding'] === 'gzip';
      const body = gzipped ? gunzipSync(answer.body, { finishFlush: constants.Z_SYNC_FLUSH }) : answer.body;
      const lines = body.toString('utf8').split('\n').filter(Boolean).map(parseStreamLine);
      // performance.now() → the epoch, to compare with the app's clock (epoch seconds).
      const epochOfNow = Date.now() - performance.now();
      const lastWritten = lines.at(-1)?.at;
      const firstArrival = answer.arrivals[0];
      out.push({
        ...stream,
        // As sent: below app.mount unless the prefix is an absolute one.
        url: stream.absolute ? stream.url : mountedPath(ctx.front, stream.url),
        gzipped,
        status: answer.status,
        indexes: lines.map((l) => l?.index ?? null),
        spreadMs: Math.round((answer.arrivals.at(-1) ?? 0) - (answer.arrivals[0] ?? 0)),
        firstMs: Math.round((answer.arrivals[0] ?? answer.sentAt) - answer.sentAt),
        leadMs:
          lastWritten === undefined || firstArrival === undefined
            ? null
            : Math.round(lastWritten * 1000 - (firstArrival + epochOfNow)),
      });
    }
    return out;
  },
  judge(observed, ctx) {
    const results = observed.map((o) => judgeOne(o, ctx.behaviour.streams));
    const text = results.map((r) => r.text).join('; ');
    return results.every((r) => r.ok)
      ? pass(text)
      : fail(
          results
            .filter((r) => !r.ok)
            .map((r) => r.text)
            .join('; '),
        );
  },
};
