// The JSON report: the result values as they are, for tools. check's document keeps the
// field names it has always had (ok, summary, message), which tools already read.

import type { CheckReport, VerifyReport } from './types.js';

export function formatJson(report: VerifyReport): string {
  return `${JSON.stringify({ tool: 'stackgen verify', version: 1, ...report }, null, 2)}\n`;
}

export function formatCheckJson(report: CheckReport): string {
  return `${JSON.stringify(
    {
      stack: report.stack,
      source: report.source,
      ok: report.ok,
      checks: report.results.map((r) => ({
        check: r.step.check,
        title: r.step.title,
        subject: r.step.subject,
        ok: r.status !== 'fail',
        summary: r.actual === '' ? null : r.actual,
        message: r.detail,
        warnings: r.warnings,
        command: r.command,
        durationMs: r.durationMs,
      })),
    },
    null,
    2,
  )}\n`;
}
