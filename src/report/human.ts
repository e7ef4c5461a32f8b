// The human report: for verify, per stack a table of paths × probes (result, time, what
// was seen) and for a matrix one summary line per stack; for check, one line per check
// with the tool's own message under a failure. Plain text, no colour codes, so it reads
// the same in a terminal, a CI log and a file.

import {
  type CheckReport,
  type CheckResult,
  countOf,
  type ProbeResult,
  type StackReport,
  type VerifyReport,
} from './types.js';

const MARK = { pass: 'ok  ', fail: 'FAIL', skip: 'skip' } as const;
const OUTCOME = { pass: 'PASS', fail: 'FAIL', 'not-ready': 'NOT READY', interrupted: 'INTERRUPTED' } as const;

/** Left-aligned columns, widths from the content. Pure. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) =>
          i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function probeRows(probes: ProbeResult[], label: string): string[][] {
  return probes.map((p) => [
    label,
    p.path,
    p.probe,
    MARK[p.status],
    `${p.durationMs} ms`,
    p.status === 'fail' ? `${p.actual} (expected ${p.expected})` : p.actual,
  ]);
}

/** One stack: outcome, notes, not-ready cause with log tail, the probe table. */
export function formatStack(stack: StackReport): string {
  const c = countOf(stack);
  const lines = [
    `${stack.name} (${stack.file}): ${OUTCOME[stack.outcome]} — ${c.pass} passed, ${c.fail} failed, ${c.skip} skipped in ${seconds(stack.wallMs)}`,
  ];
  for (const note of stack.notes) lines.push(`  note: ${note}`);
  const rows: string[][] = [['app', 'path', 'probe', 'result', 'time', 'observed']];
  for (const pass of stack.passes) {
    if (pass.notReady) {
      lines.push(`  NOT READY: ${pass.notReady.component}: ${pass.notReady.cause}`);
      for (const l of pass.notReady.logTail) lines.push(`    | ${l}`);
      lines.push(`  files kept in ${pass.dir}`);
    }
    if (pass.kept) {
      lines.push(`  kept running: ${pass.kept.urls.join(' ')}`);
      lines.push(`  stop with: ${pass.kept.stopCommand}`);
    }
    rows.push(...probeRows(pass.probes, pass.app));
  }
  if (rows.length > 1) lines.push(table(rows).replace(/^/gm, '  '));
  return lines.join('\n');
}

/** Matrix summary: stack × pass/fail/skip counts + wall time. */
export function formatSummary(report: VerifyReport): string {
  const rows = [['stack', 'file', 'outcome', 'pass', 'fail', 'skip', 'wall']];
  for (const s of report.stacks) {
    const c = countOf(s);
    rows.push([
      s.name,
      s.file,
      OUTCOME[s.outcome],
      String(c.pass),
      String(c.fail),
      String(c.skip),
      seconds(s.wallMs),
    ]);
  }
  return `${table(rows)}\n${report.stacks.length} stack(s) in ${seconds(report.wallMs)}`;
}

export function formatHuman(report: VerifyReport): string {
  const parts = report.stacks.map(formatStack);
  if (report.stacks.length > 1) parts.push(formatSummary(report));
  return `${parts.join('\n\n')}\n`;
}

const CHECK_MARK = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const;

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `    ${l}`.trimEnd())
    .join('\n');

/** `PASS nginx -t (nginx/nginx.conf)`, then warnings, or for a failure the tool's message. */
export function formatCheckResult(r: CheckResult): string {
  const head = `${CHECK_MARK[r.status]} ${r.step.title} (${r.step.subject})${r.actual ? `: ${r.actual}` : ''}`;
  const body = r.status === 'fail' ? r.detail : r.warnings.join('\n');
  return body.trim() === '' ? `${head}\n` : `${head}\n${indent(body.trim())}\n`;
}

/** The closing line of a check run: how many checks ran and failed. */
export function formatCheckSummary(report: CheckReport): string {
  const failed = report.results.filter((r) => r.status === 'fail').length;
  const n = report.results.length;
  return failed === 0
    ? `${report.stack}: all ${n} checks passed\n`
    : `${report.stack}: ${failed} of ${n} checks failed\n`;
}

/** A whole check run as the CLI prints it (there, each line as its check finishes). */
export function formatCheckHuman(report: CheckReport): string {
  return `${report.results.map(formatCheckResult).join('')}${formatCheckSummary(report)}`;
}
