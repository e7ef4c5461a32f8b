// unknown-host: with a real server_name, a request naming another Host never reaches the
// app (Django's checklist asks the web server to drop them before ALLOWED_HOSTS has to).
// The stack owns its port (its catch-all is default_server), so the answer must be the
// front's refusal — nginx's 444 (closed, no answer) or the gateway's 421 — not merely
// "some other server": on a sandbox no other server exists, so a stack without the
// catch-all hands the request to its app and this fails; on a Debian host the distro's
// default site answering would mean the stack does not own its address.

import { randomBytes } from 'node:crypto';
import type { EchoResponse } from './contract.js';
import { readCounter } from './counter.js';
import { bodyExcerpt } from './excerpt.js';
import { httpRequest, jsonOf } from './http.js';
import { PROXIES } from '../topology/catalog/proxies.js';
import { fail, pass, type ProbeDefinition } from './types.js';

/**
 * The status the gateway refuses a Host it does not serve with. Not 400: Django answers a
 * Host outside ALLOWED_HOSTS with 400 itself, so a 400 may be the app's own answer.
 */
const REFUSALS = [421];

interface Observed {
  status: number | null;
  excerpt: string;
  error: string | null;
  echoed: boolean;
  before: number | null;
  after: number | null;
  host: string;
}

export const unknownHostProbe: ProbeDefinition<Observed> = {
  id: 'unknown-host',
  title: 'a request for another Host does not reach the app',
  phase: 'serial',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) =>
    ctx.plan.front.kind === 'none'
      ? 'no proxy: the app server answers every Host itself'
      : ctx.front.hostHeader === undefined
        ? 'server_name is _: the stack answers every Host by design'
        : null,
  expect: (ctx) =>
    `closed without an answer (nginx 444) or 421 from the gateway${PROXIES[ctx.plan.front.kind].unknownHostStatus ? ` or ${PROXIES[ctx.plan.front.kind].unknownHostStatus!.status} from ${PROXIES[ctx.plan.front.kind].title}` : ''}; the app not reached`,
  async observe(ctx) {
    const host = `unknown-${randomBytes(4).toString('hex')}.invalid`;
    const before = await readCounter(ctx);
    let status: number | null = null;
    let excerpt = '';
    let error: string | null = null;
    let echoed = false;
    try {
      const answer = await httpRequest(ctx.front, ctx.probe ? '/stackgen-verify/unknown-host' : '/', {
        headers: { Host: host },
        signal: ctx.signal,
      });
      status = answer.status;
      excerpt = bodyExcerpt(answer);
      echoed = jsonOf<EchoResponse>(answer)?.app !== undefined;
    } catch (err) {
      error = (err as Error).message;
    }
    return { status, excerpt, error, echoed, before, after: await readCounter(ctx), host };
  },
  judge(o, ctx) {
    // A front whose refusal is another status says so in its catalog entry (lighttpd's 403).
    const frontRefusal = PROXIES[ctx.plan.front.kind].unknownHostStatus?.status;
    const moved = o.before !== null && o.after !== null && o.after !== o.before;
    if (o.echoed || moved) return fail(`Host ${o.host} reached the app (${o.status})`);
    if (o.status === null) return pass(`closed without an answer (${o.error})`);
    const refusals = [...REFUSALS, ...(frontRefusal ? [frontRefusal] : [])];
    if (!refusals.includes(o.status))
      return fail(`Host ${o.host} answered ${o.status}${o.excerpt ? `: ${o.excerpt}` : ''} (not refused)`);
    return pass(`${o.status} from the front`);
  },
};
