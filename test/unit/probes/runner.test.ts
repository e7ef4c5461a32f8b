// The probe runner: phases in order, prerequisites skip dependents, thrown errors fail.

import { describe, expect, it } from 'vitest';
import { runProbes } from '../../../src/probes/runner.js';
import { type AnyProbe, pass, type ProbeContext, type ProbePhase } from '../../../src/probes/types.js';
import { checkProblems } from '../../../src/probes/user-checks.js';
import type { RequestPath } from '../../../src/topology/types.js';

const APP: RequestPath = { name: 'app', kind: 'app', urlPrefix: '/', hops: [] };

function probe(
  id: string,
  phase: ProbePhase,
  outcome: 'pass' | 'fail' | 'throw',
  log: string[],
  after: string[] = [],
): AnyProbe {
  return {
    id,
    title: id,
    phase,
    kinds: ['app'],
    needsProbeApp: false,
    after,
    expect: () => `${id} expected`,
    observe: async () => {
      log.push(id);
      if (outcome === 'throw') throw new Error(`${id} broke`);
      return outcome;
    },
    judge: (o: string) => (o === 'pass' ? pass('fine') : { status: 'fail', actual: 'bad' }),
  };
}

const context = {
  probe: null,
  signal: new AbortController().signal,
  behaviour: { notApplicable: {} },
} as unknown as Omit<ProbeContext, 'path'>;

describe('runProbes', () => {
  it('runs phases in order and skips probes whose prerequisite failed', async () => {
    const log: string[] = [];
    const results = await runProbes({
      paths: [APP],
      context,
      probes: [
        probe('last', 'destructive', 'pass', log, ['app/gate']),
        probe('gate', 'gate', 'fail', log),
        probe('free', 'parallel', 'pass', log),
      ],
    });
    expect(log).toEqual(['gate', 'free']);
    expect(results.map((r) => [r.key, r.status])).toEqual([
      ['app/last', 'skip'],
      ['app/gate', 'fail'],
      ['app/free', 'pass'],
    ]);
    expect(results[0]!.actual).toBe('skipped: app/gate failed');
  });

  it('reports a thrown observer as a failure with its message', async () => {
    const [r] = await runProbes({ paths: [APP], context, probes: [probe('boom', 'parallel', 'throw', [])] });
    expect(r).toMatchObject({ status: 'fail', actual: 'boom broke', expected: 'boom expected' });
  });
});

describe('user checks', () => {
  it('checks status, body and header regexes', () => {
    const check = {
      path: '/',
      method: 'GET',
      request_headers: {},
      status: 200,
      body_contains: 'hello',
      body_matches: '^\\{',
      headers: { 'Content-Type': '^application/json' },
    };
    expect(
      checkProblems(check, {
        status: 200,
        body: '{"hello":1}',
        headers: { 'content-type': 'application/json' },
      }),
    ).toEqual([]);
    expect(checkProblems(check, { status: 500, body: 'x', headers: {} })).toEqual([
      'status 500',
      'body lacks "hello": "x"',
      'body does not match /^\\{/',
      'header Content-Type: absent',
    ]);
  });
});
