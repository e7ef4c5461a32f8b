// streaming: a streamed response reaches the client chunk by chunk — the first chunk well
// before the last — unless the server is documented to buffer (then it must still arrive whole).
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
  const facts = `${where}: first chunk after ${o.firstMs} ms, last ${o.spreadMs} ms later`;
  if (streams)
    return o.spreadMs >= INTERVAL_MS * (CHUNKS - 2)
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
      ? `${CHUNKS} chunks ${INTERVAL_MS} ms apart; first ≥ ${INTERVAL_MS * (CHUNKS - 2)} ms before the last, on ${where}`
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
      out.push({
        ...stream,
        // As sent: below app.mount unless the prefix is an absolute one.
        url: stream.absolute ? stream.url : mountedPath(ctx.front, stream.url),
        gzipped,
        status: answer.status,
        indexes: lines.map((l) => l?.index ?? null),
        spreadMs: Math.round((answer.arrivals.at(-1) ?? 0) - (answer.arrivals[0] ?? 0)),
        firstMs: Math.round((answer.arrivals[0] ?? answer.sentAt) - answer.sentAt),
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
