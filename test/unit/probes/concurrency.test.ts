// The concurrency probe's judging in rounds of one request alone: a path that adds start-up
// time per request (CGI) stretches the round, never the model's limits.

import { describe, expect, it } from 'vitest';
import { concurrencyProbe, SLOW_MS } from '../../../src/probes/concurrency.js';

// fcgiwrap -c 4: 4 scripts at once, 5 requests → 2 rounds (3 allowed under load).
const ctx = {
  behaviour: { concurrency: { slots: 4, processes: null, allProcessesBusy: false, why: 'fcgiwrap -c 4' } },
} as never;
const observed = (elapsedMs: number, roundMs: number) => ({
  requests: 5,
  roundMs,
  elapsedMs,
  statuses: [200, 200, 200, 200, 200],
  pids: [1, 2, 3, 4, 5],
});

describe('concurrency', () => {
  it('counts rounds of what one request alone takes', () => {
    // 700 ms a request (a CGI interpreter's start-up on a busy machine): 1416 ms is 2 rounds.
    expect(concurrencyProbe.judge(observed(1416, 700), ctx).status).toBe('pass');
    // The same elapsed time in rounds of the bare slow time would be 4: "slower than the model".
    expect(concurrencyProbe.judge(observed(1416, SLOW_MS), ctx)).toMatchObject({
      status: 'fail',
      actual: expect.stringMatching(/slower than the model/),
    });
  });

  it('still fails a path that serves one at a time, or more at once than the model', () => {
    expect(concurrencyProbe.judge(observed(5 * 700, 700), ctx)).toMatchObject({
      status: 'fail',
      actual: expect.stringMatching(/slower than the model: 3500 ms = 5 rounds of 700 ms/),
    });
    expect(concurrencyProbe.judge(observed(720, 700), ctx)).toMatchObject({
      status: 'fail',
      actual: expect.stringMatching(/faster than the model allows/),
    });
  });
});
