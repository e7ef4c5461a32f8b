// check's report formats on one fixed report: the human lines and JSON document check has
// always printed, and JUnit XML that parses, with one testcase per check.

import { describe, expect, it } from 'vitest';
import type { CheckStep } from '../../../src/check/definitions.js';
import { formatCheckResult } from '../../../src/report/human.js';
import { CHECK_FORMATTERS } from '../../../src/report/registry.js';
import type { CheckReport, CheckResult } from '../../../src/report/types.js';
import { elementsNamed, parseXml } from '../../helpers/xml.js';

const step = (check: string, title: string, subject: string): CheckStep => ({
  check,
  title,
  subject,
  need: null,
  prepare: { mkdir: [], copy: [] },
  action: { kind: 'call', run: async () => null },
});

const result = (r: Omit<CheckResult, 'durationMs'>): CheckResult => ({ ...r, durationMs: 120 });

const REPORT: CheckReport = {
  stack: 'shop',
  source: 'examples/shop.yaml',
  ok: false,
  wallMs: 1500,
  results: [
    result({
      step: step('nginx-test', 'nginx -t', 'nginx/nginx.conf'),
      status: 'pass',
      actual: '',
      detail: 'nginx: configuration file test is successful',
      warnings: ['nginx: [warn] the "user" directive makes sense only if the master process runs as root'],
      command: ['nginx', '-t'],
    }),
    result({
      step: step('gunicorn-check-config', 'gunicorn --check-config', 'gunicorn/shop.conf.py'),
      status: 'fail',
      actual: '',
      detail: "Traceback:\n  ModuleNotFoundError: No module named 'no_such_module' <&>",
      warnings: [],
      command: ['gunicorn', '--check-config', '-c', 'shop.conf.py', 'app:app'],
    }),
    result({
      step: step('systemd-security', 'systemd-analyze security', 'systemd/shop.service'),
      status: 'fail',
      actual: 'exposure 4.2 > 2.0',
      detail: '✗ NoNewPrivileges=\n→ Overall exposure level for shop.service: 4.2 EXPOSED',
      warnings: [],
      command: ['systemd-analyze', 'security', 'shop.service'],
    }),
    result({
      step: step('systemd-verify', 'systemd-analyze verify', 'systemd/shop.service'),
      status: 'pass',
      actual: '',
      detail: '',
      warnings: [],
      command: ['systemd-analyze', 'verify', 'shop.service'],
    }),
  ],
};

describe('check report formats', () => {
  it('human: a PASS/FAIL line per check, the message under a failure, the closing count', () => {
    expect(CHECK_FORMATTERS.human(REPORT)).toBe(
      [
        'PASS nginx -t (nginx/nginx.conf)',
        '    nginx: [warn] the "user" directive makes sense only if the master process runs as root',
        'FAIL gunicorn --check-config (gunicorn/shop.conf.py)',
        '    Traceback:',
        "      ModuleNotFoundError: No module named 'no_such_module' <&>",
        'FAIL systemd-analyze security (systemd/shop.service): exposure 4.2 > 2.0',
        '    ✗ NoNewPrivileges=',
        '    → Overall exposure level for shop.service: 4.2 EXPOSED',
        'PASS systemd-analyze verify (systemd/shop.service)',
        'shop: 2 of 4 checks failed',
        '',
      ].join('\n'),
    );
    // The CLI prints the same text a line at a time.
    expect(REPORT.results.map(formatCheckResult).join('')).toBe(
      CHECK_FORMATTERS.human(REPORT).replace(/shop: 2 of 4 checks failed\n$/, ''),
    );
  });

  it('json: the document check has always printed (ok, summary, message per check)', () => {
    const doc = JSON.parse(CHECK_FORMATTERS.json(REPORT));
    expect(Object.keys(doc)).toEqual(['stack', 'source', 'ok', 'checks']);
    expect(doc.ok).toBe(false);
    expect(doc.checks[0]).toEqual({
      check: 'nginx-test',
      title: 'nginx -t',
      subject: 'nginx/nginx.conf',
      ok: true,
      summary: null,
      message: 'nginx: configuration file test is successful',
      warnings: [REPORT.results[0]!.warnings[0]],
      command: ['nginx', '-t'],
      durationMs: 120,
    });
    expect(doc.checks.map((c: { ok: boolean; summary: string | null }) => [c.ok, c.summary])).toEqual([
      [true, null],
      [false, null],
      [false, 'exposure 4.2 > 2.0'],
      [true, null],
    ]);
  });

  describe('junit', () => {
    const xml = CHECK_FORMATTERS.junit(REPORT);
    const root = parseXml(xml);

    it('is well-formed XML: one testsuite for the stack with the counts', () => {
      expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
      expect(root.name).toBe('testsuites');
      expect(root.attrs).toMatchObject({ name: 'stackgen check', tests: '4', failures: '2', skipped: '0' });
      const suites = elementsNamed(root, 'testsuite');
      expect(suites.map((s) => s.attrs)).toEqual([
        {
          name: 'shop',
          file: 'examples/shop.yaml',
          tests: '4',
          failures: '2',
          errors: '0',
          skipped: '0',
          time: '1.500',
        },
      ]);
    });

    it('has one testcase per check, named by what ran and the file it judged', () => {
      const cases = elementsNamed(root, 'testcase');
      expect(cases.map((c) => [c.attrs['classname'], c.attrs['name'], c.attrs['time']])).toEqual([
        ['shop.nginx-test', 'nginx -t (nginx/nginx.conf)', '0.120'],
        ['shop.gunicorn-check-config', 'gunicorn --check-config (gunicorn/shop.conf.py)', '0.120'],
        ['shop.systemd-security', 'systemd-analyze security (systemd/shop.service)', '0.120'],
        ['shop.systemd-verify', 'systemd-analyze verify (systemd/shop.service)', '0.120'],
      ]);
    });

    it('gives a failure its summary (else the first line) as message and the command and tool output as text', () => {
      const cases = elementsNamed(root, 'testcase');
      const failures = cases.map((c) => elementsNamed(c, 'failure')[0]);
      expect(failures.map((f) => f?.attrs['message'])).toEqual([
        undefined,
        'Traceback:',
        'exposure 4.2 > 2.0',
        undefined,
      ]);
      expect(failures[1]?.attrs['type']).toBe('check');
      // Escaped in the file, the tool's own text once parsed.
      expect(xml).toContain("no_such_module' &lt;&amp;&gt;");
      expect(failures[1]?.text).toBe(
        "$ gunicorn --check-config -c shop.conf.py app:app\nTraceback:\n  ModuleNotFoundError: No module named 'no_such_module' <&>",
      );
      // A passing check's warnings are kept as its output.
      expect(elementsNamed(cases[0]!, 'system-out')[0]?.text).toContain('[warn] the "user" directive');
      expect(cases[3]!.children).toEqual([]);
    });
  });
});

describe('the XML reader the JUnit tests trust', () => {
  it.each([
    ['an unclosed element', '<a><b></a>'],
    ['a raw ampersand', '<a>x & y</a>'],
    ['a raw < in an attribute', '<a b="<"/>'],
    ['two roots', '<a/><b/>'],
    ['an unknown entity', '<a>&nbsp;</a>'],
    ['a control character', '<a>\u0001</a>'],
  ])('refuses %s', (_name, text) => {
    expect(() => parseXml(text)).toThrow();
  });
});
