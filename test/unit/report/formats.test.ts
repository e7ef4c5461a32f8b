// The report formats on one fixed report.

import { describe, expect, it } from 'vitest';
import { FORMATTERS } from '../../../src/report/registry.js';
import type { VerifyReport } from '../../../src/report/types.js';
import { exitCodeOf } from '../../../src/cli/verify.js';

const REPORT: VerifyReport = {
  wallMs: 2500,
  stacks: [
    {
      file: 'examples/a.yaml',
      name: 'a',
      outcome: 'fail',
      notes: ['systemd was not running'],
      wallMs: 2000,
      passes: [
        {
          app: 'probe-app',
          dir: '/tmp/stackgen-verify-a-1',
          units: [],
          notReady: null,
          interrupted: false,
          kept: null,
          wallMs: 2000,
          probes: [
            {
              key: 'app/reach',
              path: 'app',
              probe: 'reach',
              title: 'r',
              status: 'pass',
              expected: 'e',
              actual: '200',
              durationMs: 3,
            },
            {
              key: 'app/headers',
              path: 'app',
              probe: 'headers',
              title: 'h',
              status: 'fail',
              expected: 'client 127.0.0.1',
              actual: 'saw <6.6.6.6> & more',
              durationMs: 9,
            },
            {
              key: 'app/ws',
              path: 'app',
              probe: 'ws',
              title: 'w',
              status: 'skip',
              expected: 'e',
              actual: 'no ws',
              durationMs: 0,
            },
          ],
        },
      ],
    },
    {
      file: 'examples/b.yaml',
      name: 'b',
      outcome: 'not-ready',
      notes: [],
      wallMs: 500,
      passes: [
        {
          app: 'user-app',
          dir: '/tmp/stackgen-verify-b-1',
          units: [],
          notReady: { component: 'nginx', cause: 'permission denied', logTail: ['[crit] connect() failed'] },
          interrupted: false,
          kept: null,
          wallMs: 500,
          probes: [],
        },
      ],
    },
  ],
};

describe('report formats', () => {
  it('human: a table per stack and the matrix summary', () => {
    const text = FORMATTERS.human(REPORT);
    expect(text).toContain('a (examples/a.yaml): FAIL — 1 passed, 1 failed, 1 skipped in 2.0 s');
    expect(text).toMatch(
      /probe-app\s+app\s+headers\s+FAIL\s+9 ms\s+saw <6\.6\.6\.6> & more \(expected client 127\.0\.0\.1\)/,
    );
    expect(text).toContain('NOT READY: nginx: permission denied');
    expect(text).toMatch(/b\s+examples\/b\.yaml\s+NOT READY\s+0\s+0\s+0\s+0\.5 s/);
  });

  it('junit: a testsuite per stack, failures with expected and actual, escaped', () => {
    const xml = FORMATTERS.junit(REPORT);
    expect(xml).toContain(
      '<testsuites name="stackgen verify" tests="4" failures="2" errors="0" skipped="1" time="2.500">',
    );
    expect(xml).toContain(
      '<testsuite name="a" file="examples/a.yaml" tests="3" failures="1" errors="0" skipped="1"',
    );
    expect(xml).toContain(
      '<failure message="saw &lt;6.6.6.6&gt; &amp; more" type="probe">expected: client 127.0.0.1\nactual: saw &lt;6.6.6.6&gt; &amp; more</failure>',
    );
    expect(xml).toContain('<skipped message="no ws"/>');
    expect(xml).toContain('name="startup"');
  });

  it('json: the report as is', () => {
    expect(JSON.parse(FORMATTERS.json(REPORT))).toMatchObject({
      tool: 'stackgen verify',
      stacks: [{ name: 'a' }, { name: 'b' }],
    });
  });

  it('exit codes: not ready (3) wins over a failed probe (1)', () => {
    expect(exitCodeOf(REPORT.stacks)).toBe(3);
    expect(exitCodeOf(REPORT.stacks.slice(0, 1))).toBe(1);
    expect(exitCodeOf([])).toBe(0);
  });
});
