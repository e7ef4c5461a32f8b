// streaming: a streamed response reaches the client chunk by chunk — the first chunk well
// before the last — unless the server is documented to buffer (then it must still arrive whole).

import { parseStreamLine, probePaths } from './contract.js';
import { httpRequest } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

const CHUNKS = 4;
const INTERVAL_MS = 150;

interface Observed {
  status: number;
  indexes: Array<number | null>;
  /** ms between the first and the last body chunk's arrival. */
  spreadMs: number;
  firstMs: number;
}

export const streamingProbe: ProbeDefinition<Observed> = {
  id: 'streaming',
  title: 'streamed response arrives incrementally',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  expect: (ctx) =>
    ctx.behaviour.streams
      ? `${CHUNKS} chunks ${INTERVAL_MS} ms apart; first ≥ ${INTERVAL_MS * (CHUNKS - 2)} ms before the last`
      : `${CHUNKS} chunks arrive together (documented: this server buffers the response)`,
  async observe(ctx) {
    const answer = await httpRequest(ctx.front, probePaths.stream(CHUNKS, INTERVAL_MS), {
      signal: ctx.signal,
    });
    const lines = answer.body.toString('utf8').split('\n').filter(Boolean).map(parseStreamLine);
    return {
      status: answer.status,
      indexes: lines.map((l) => l?.index ?? null),
      spreadMs: Math.round((answer.arrivals.at(-1) ?? 0) - (answer.arrivals[0] ?? 0)),
      firstMs: Math.round((answer.arrivals[0] ?? answer.sentAt) - answer.sentAt),
    };
  },
  judge({ status, indexes, spreadMs, firstMs }, ctx) {
    if (status !== 200) return fail(`answered ${status}`);
    if (indexes.join(',') !== [...Array(CHUNKS).keys()].join(','))
      return fail(`chunks arrived as [${indexes.join(',')}]`);
    const facts = `first chunk after ${firstMs} ms, last ${spreadMs} ms later`;
    if (ctx.behaviour.streams)
      return spreadMs >= INTERVAL_MS * (CHUNKS - 2) ? pass(facts) : fail(`buffered: ${facts}`);
    return spreadMs < INTERVAL_MS
      ? pass(`buffered as documented: ${facts}`)
      : fail(`streamed (${facts}): the documented gap is gone — update KNOWN_GAPS`);
  },
};
