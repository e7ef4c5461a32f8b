// JUnit XML (the dialect CI systems read): one <testsuite> per stack, one <testcase> per
// probe; a failed probe carries expected and actual; a stack that never became ready is
// one failed "startup" testcase with the cause and the component's log tail. For check:
// one <testcase> per check, a failure carrying the command and the tool's own message.

import {
  type CheckReport,
  type CheckResult,
  countOf,
  type ProbeResult,
  type StackReport,
  type VerifyReport,
} from './types.js';

/** XML 1.0 text: escape markup and drop characters XML cannot carry. Pure. */
export function xmlEscape(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

function testcase(stack: StackReport, app: string, p: ProbeResult): string {
  const open = `    <testcase classname="${xmlEscape(`${stack.name}.${app}.${p.path}`)}" name="${xmlEscape(p.probe)}" time="${secs(p.durationMs)}"`;
  if (p.status === 'pass') return `${open}/>`;
  if (p.status === 'skip')
    return `${open}>\n      <skipped message="${xmlEscape(p.actual)}"/>\n    </testcase>`;
  return `${open}>\n      <failure message="${xmlEscape(p.actual)}" type="probe">expected: ${xmlEscape(p.expected)}\nactual: ${xmlEscape(p.actual)}</failure>\n    </testcase>`;
}

function suite(stack: StackReport): string {
  const c = countOf(stack);
  const cases: string[] = [];
  let extraFailures = 0;
  for (const pass of stack.passes) {
    if (pass.notReady) {
      extraFailures++;
      const body = `${pass.notReady.cause}\n${pass.notReady.logTail.join('\n')}`;
      cases.push(
        `    <testcase classname="${xmlEscape(`${stack.name}.${pass.app}.stack`)}" name="startup" time="${secs(pass.wallMs)}">\n      <failure message="${xmlEscape(`${pass.notReady.component}: ${pass.notReady.cause}`)}" type="not-ready">${xmlEscape(body)}</failure>\n    </testcase>`,
      );
    }
    for (const p of pass.probes) cases.push(testcase(stack, pass.app, p));
  }
  const tests = c.pass + c.fail + c.skip + extraFailures;
  return [
    `  <testsuite name="${xmlEscape(stack.name)}" file="${xmlEscape(stack.file)}" tests="${tests}" failures="${c.fail + extraFailures}" errors="0" skipped="${c.skip}" time="${secs(stack.wallMs)}">`,
    ...cases,
    '  </testsuite>',
  ].join('\n');
}

export function formatJunit(report: VerifyReport): string {
  const counts = report.stacks.map((s) => ({
    c: countOf(s),
    notReady: s.passes.filter((p) => p.notReady).length,
  }));
  const tests = counts.reduce((n, { c, notReady }) => n + c.pass + c.fail + c.skip + notReady, 0);
  const failures = counts.reduce((n, { c, notReady }) => n + c.fail + notReady, 0);
  const skipped = counts.reduce((n, { c }) => n + c.skip, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="stackgen verify" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${secs(report.wallMs)}">`,
    ...report.stacks.map(suite),
    '</testsuites>',
    '',
  ].join('\n');
}

function checkTestcase(stack: string, r: CheckResult): string {
  const open = `    <testcase classname="${xmlEscape(`${stack}.${r.step.check}`)}" name="${xmlEscape(`${r.step.title} (${r.step.subject})`)}" time="${secs(r.durationMs)}"`;
  if (r.status === 'skip')
    return `${open}>\n      <skipped message="${xmlEscape(r.actual)}"/>\n    </testcase>`;
  if (r.status === 'fail') {
    // The attribute is one line: the summary, else the tool's first line of output.
    const message = r.actual || r.detail.trim().split('\n')[0] || 'failed';
    const body = `$ ${r.command.join(' ')}\n${r.detail.trim()}`;
    return `${open}>\n      <failure message="${xmlEscape(message)}" type="check">${xmlEscape(body)}</failure>\n    </testcase>`;
  }
  if (r.warnings.length === 0) return `${open}/>`;
  return `${open}>\n      <system-out>${xmlEscape(r.warnings.join('\n'))}</system-out>\n    </testcase>`;
}

export function formatCheckJunit(report: CheckReport): string {
  const count = (status: CheckResult['status']) => report.results.filter((r) => r.status === status).length;
  const totals = `tests="${report.results.length}" failures="${count('fail')}" errors="0" skipped="${count('skip')}" time="${secs(report.wallMs)}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="stackgen check" ${totals}>`,
    `  <testsuite name="${xmlEscape(report.stack)}" file="${xmlEscape(report.source)}" ${totals}>`,
    ...report.results.map((r) => checkTestcase(report.stack, r)),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
