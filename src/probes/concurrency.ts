// concurrency: N simultaneous slow requests finish in the number of rounds the model
// predicts (prefork W workers: ceil(N/W); threads: ceil(N/(W·T)); async/gevent: one), and
// hit the workers the model says. Judged in rounds, never in absolute times: a round is what
// one slow request takes alone, measured first (the slow time, plus what the path adds per
// request — a CGI script's interpreter start-up, which a busy 2-core machine makes long), and
// may come out one slower under load, never faster.

import { probePaths, type SlowResponse } from './contract.js';
import type { ConcurrencyModel } from './behaviour.js';
import { httpRequest, jsonOf } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

export const SLOW_MS = 400;
const MAX_REQUESTS = 12;
const UNBOUNDED_REQUESTS = 4;

/** How many requests to send, and in how many rounds they must finish. Pure. */
export function concurrencyPlan(model: ConcurrencyModel): { requests: number; rounds: number } {
  if (!Number.isFinite(model.slots)) return { requests: UNBOUNDED_REQUESTS, rounds: 1 };
  // One more than the slots forces a second round — the model's limit becomes visible.
  const requests = Math.min(model.slots + 1, MAX_REQUESTS);
  return { requests, rounds: Math.ceil(requests / model.slots) };
}

interface Observed {
  requests: number;
  /** One slow request alone: the length of a round on this path. */
  roundMs: number;
  statuses: number[];
  elapsedMs: number;
  pids: number[];
  /** The pids that answered the requests sent alone, before the simultaneous ones. */
  alonePids: number[];
  /** Measured a second time: the first saw the one worker replaced (a max_requests recycle). */
  remeasured?: boolean;
}

export const concurrencyProbe: ProbeDefinition<Observed> = {
  id: 'concurrency',
  title: 'concurrency model: N slow requests in the predicted rounds',
  phase: 'exclusive',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  expect(ctx) {
    const { requests, rounds } = concurrencyPlan(ctx.behaviour.concurrency);
    const m = ctx.behaviour.concurrency;
    const pids = m.allProcessesBusy && m.processes ? `, ${m.processes} distinct pids` : '';
    return `${requests} × ${SLOW_MS} ms in ${rounds}–${rounds + 1} rounds (${m.why})${pids}`;
  },
  async observe(ctx) {
    const { requests } = concurrencyPlan(ctx.behaviour.concurrency);
    const slow = () =>
      httpRequest(ctx.front, probePaths.slow(SLOW_MS), { signal: ctx.signal, timeoutMs: 20_000 });
    const pidOf = (a: Awaited<ReturnType<typeof slow>>) => jsonOf<SlowResponse>(a)?.pid ?? 0;
    const measure = async (): Promise<Observed> => {
      // The faster of two requests alone (one slow start must not stretch every round), and at
      // most twice the slow time: a round that long would hide a model that is off by one.
      let roundMs = 2 * SLOW_MS;
      const alonePids: number[] = [];
      for (let i = 0; i < 2; i++) {
        const alone = performance.now();
        alonePids.push(pidOf(await slow()));
        roundMs = Math.min(roundMs, performance.now() - alone);
      }
      roundMs = Math.max(SLOW_MS, roundMs);
      const t0 = performance.now();
      const answers = await Promise.all(Array.from({ length: requests }, slow));
      const elapsedMs = performance.now() - t0;
      return {
        requests,
        roundMs,
        statuses: answers.map((a) => a.status),
        elapsedMs,
        pids: answers.map(pidOf),
        alonePids,
      };
    };
    const first = await measure();
    // One process by the model, yet a pid the requests alone did not see: the worker was
    // replaced in between (max_requests recycles it — uWSGI's default here is 1000 — and with
    // one worker its replacement's start is a round more). Recycles are that many requests
    // apart, so the second measurement sees none: measured once more.
    if (ctx.behaviour.concurrency.processes === 1 && first.pids.some((p) => !first.alonePids.includes(p)))
      return { ...(await measure()), remeasured: true };
    return first;
  },
  judge({ statuses, elapsedMs, roundMs, pids, remeasured }, ctx) {
    const m = ctx.behaviour.concurrency;
    const { rounds } = concurrencyPlan(m);
    const bad = statuses.filter((s) => s !== 200);
    if (bad.length > 0) return fail(`${bad.length} request(s) answered ${bad.join(', ')}`);
    const measured = Math.round(elapsedMs / roundMs);
    const distinct = new Set(pids).size;
    const facts = `${Math.round(elapsedMs)} ms = ${measured} round${measured === 1 ? '' : 's'} of ${Math.round(roundMs)} ms (one request alone), ${distinct} distinct pid${distinct === 1 ? '' : 's'}${remeasured ? ' (measured again: the one worker was replaced during the first measurement)' : ''}`;
    if (measured < rounds) return fail(`faster than the model allows: ${facts}`);
    if (measured > rounds + 1) return fail(`slower than the model: ${facts}`);
    if (m.processes !== null && distinct > m.processes)
      return fail(`more processes than the model: ${facts}`);
    if (m.allProcessesBusy && m.processes !== null && distinct !== m.processes)
      return fail(`expected ${m.processes} distinct pids: ${facts}`);
    return pass(facts);
  },
};
