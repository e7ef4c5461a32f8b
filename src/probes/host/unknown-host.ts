// unknown-host: with a real server_name, a request naming another Host never reaches the
// app (Django's checklist asks the web server to drop them before ALLOWED_HOSTS has to).

import { randomBytes } from 'node:crypto';
import type { EchoResponse } from '../contract.js';
import { readCounter } from '../counter.js';
import { httpRequest, jsonOf } from '../http.js';
import { fail, pass, type ProbeDefinition } from '../types.js';

interface Observed {
  status: number | null;
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
  needsProbeApp: true,
  after: ['app/reach'],
  skip: (ctx) =>
    ctx.front.hostHeader === undefined ? 'server_name is _: the stack answers every Host by design' : null,
  expect: () => 'not the app: another server answers, or the connection is closed (444)',
  async observe(ctx) {
    const host = `unknown-${randomBytes(4).toString('hex')}.invalid`;
    const before = await readCounter(ctx);
    let status: number | null = null;
    let error: string | null = null;
    let echoed = false;
    try {
      const answer = await httpRequest(ctx.front, '/stackgen-verify/unknown-host', {
        headers: { Host: host },
        signal: ctx.signal,
      });
      status = answer.status;
      echoed = jsonOf<EchoResponse>(answer)?.app !== undefined;
    } catch (err) {
      error = (err as Error).message;
    }
    return { status, error, echoed, before, after: await readCounter(ctx), host };
  },
  judge(o) {
    const moved = o.before !== null && o.after !== null && o.after !== o.before;
    if (o.echoed || moved) return fail(`Host ${o.host} reached the app (${o.status})`);
    return pass(
      o.status === null ? `closed without an answer (${o.error})` : `${o.status} from another server`,
    );
  },
};
