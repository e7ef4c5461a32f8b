// reach: a request travels every hop of the path and the app's own answer comes back —
// the prerequisite of every other probe on the path. Only the expected status passes
// (2xx/3xx unless a check on GET / expects another): a Django project answering every
// request with 400 (DisallowedHost) or a distribution's default site answering instead
// of the app is a failure, with the status and what the body says.

import type { EchoResponse } from './contract.js';
import { httpRequest, jsonOf } from './http.js';
import { bodyExcerpt } from './excerpt.js';
import { fail, pass, type ProbeContext, type ProbeDefinition } from './types.js';

interface Observed {
  status: number;
  ms: number;
  excerpt: string;
  /** The probe app's echo, when the answer is one. */
  echo: EchoResponse | null;
}

/** The status reach expects on GET /: a user check's, else any 2xx or 3xx. */
function expectedStatus(ctx: ProbeContext): number | null {
  if (ctx.probe) return 200;
  const check = ctx.plan.spec.checks.find((c) => c.method === 'GET' && c.path === '/');
  return check ? check.status : null;
}

export const reachProbe: ProbeDefinition<Observed> = {
  id: 'reach',
  title: 'request reaches the app through every hop',
  phase: 'gate',
  kinds: ['app'],
  needsProbeApp: false,
  after: [],
  expect: (ctx) => {
    const status = expectedStatus(ctx);
    if (ctx.probe) return `200 with the ${ctx.probe.key} probe app's echo`;
    return status === null ? 'a 2xx or 3xx answer from the app on GET /' : `${status} on GET / (your check)`;
  },
  async observe(ctx) {
    const answer = await httpRequest(ctx.front, ctx.probe ? '/stackgen-verify/reach' : '/', {
      signal: ctx.signal,
    });
    return {
      status: answer.status,
      ms: Math.round(answer.endedAt - answer.sentAt),
      excerpt: bodyExcerpt(answer),
      echo: ctx.probe ? jsonOf<EchoResponse>(answer) : null,
    };
  },
  judge({ status, ms, excerpt, echo }, ctx) {
    const wanted = expectedStatus(ctx);
    const ok = wanted === null ? status >= 200 && status < 400 : status === wanted;
    const said = excerpt ? `: ${excerpt}` : '';
    if (!ok) return fail(`${status}${said}`);
    if (ctx.probe && echo?.app !== ctx.probe.key)
      return fail(`${status}, but not from the ${ctx.probe.key} probe app${said}`);
    return pass(`${status} in ${ms} ms`);
  },
};
