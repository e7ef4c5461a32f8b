// The concurrency probe's judging in rounds of one request alone: a path that adds start-up
// time per request (CGI) stretches the round, never the model's limits.

import { createServer } from 'node:http';
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
  alonePids: [1, 2],
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

  it('measures once more when the one worker was replaced during the measurement (max_requests)', async () => {
    // One worker; its pid changes after the two requests alone, as a recycle would change it.
    let served = 0;
    const server = createServer((_req, res) => {
      const pid = ++served <= 2 ? 100 : 200;
      setTimeout(() => res.end(JSON.stringify({ pid })), SLOW_MS);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const one = {
        behaviour: { concurrency: { slots: 1, processes: 1, allProcessesBusy: true, why: 'one worker' } },
        front: { host: '127.0.0.1', port: (server.address() as { port: number }).port },
        signal: new AbortController().signal,
      } as never;
      const seen = await concurrencyProbe.observe(one);
      expect(seen).toMatchObject({ remeasured: true, alonePids: [200, 200], pids: [200, 200] });
      expect(concurrencyProbe.judge(seen, one).actual).toMatch(/measured again: the one worker was replaced/);
    } finally {
      server.close();
    }
  }, 20_000);
});
