// reach: a request travels every hop of the path and an answer comes back from the app —
// the prerequisite of every other probe on the path.

import { httpRequest } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

/** Proxy error statuses: the request did not reach the app. */
const PROXY_ERRORS = new Set([502, 503, 504]);

export const reachProbe: ProbeDefinition<{ status: number; ms: number }> = {
  id: 'reach',
  title: 'request reaches the app through every hop',
  phase: 'gate',
  kinds: ['app'],
  needsProbeApp: false,
  after: [],
  expect: () => 'an answer from the app (not 502/503/504)',
  async observe(ctx) {
    const answer = await httpRequest(ctx.front, ctx.probe ? '/stackgen-verify/reach' : '/', {
      signal: ctx.signal,
    });
    return { status: answer.status, ms: Math.round(answer.endedAt - answer.sentAt) };
  },
  judge: ({ status, ms }) =>
    PROXY_ERRORS.has(status) ? fail(`${status} from the proxy`) : pass(`${status} in ${ms} ms`),
};
