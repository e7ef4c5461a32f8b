// How check results read: one line per check, the tool's own message indented under a
// failure; or one JSON document. Pure.

import type { CheckResult } from './runner.js';
import type { StackCheckReport } from './stack.js';

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `    ${l}`.trimEnd())
    .join('\n');

/** `PASS nginx -t (nginx/nginx.conf)`, then warnings, or for a failure the tool's message. */
export function formatResult(r: CheckResult): string {
  const head = `${r.ok ? 'PASS' : 'FAIL'} ${r.step.title} (${r.step.subject})${r.summary ? `: ${r.summary}` : ''}`;
  const body = r.ok ? r.warnings.join('\n') : r.message;
  return body.trim() === '' ? `${head}\n` : `${head}\n${indent(body.trim())}\n`;
}

/** The closing line: how many checks ran and failed. */
export function formatSummary(report: StackCheckReport): string {
  const failed = report.results.filter((r) => !r.ok).length;
  const n = report.results.length;
  return failed === 0
    ? `${report.stack}: all ${n} checks passed\n`
    : `${report.stack}: ${failed} of ${n} checks failed\n`;
}

/** The report as JSON for tools (`--json`). */
export function reportJson(report: StackCheckReport): string {
  return `${JSON.stringify(
    {
      stack: report.stack,
      source: report.source,
      ok: report.ok,
      checks: report.results.map((r) => ({
        check: r.step.check,
        title: r.step.title,
        subject: r.step.subject,
        ok: r.ok,
        summary: r.summary,
        message: r.message,
        warnings: r.warnings,
        command: r.command,
        durationMs: r.durationMs,
      })),
    },
    null,
    2,
  )}\n`;
}
