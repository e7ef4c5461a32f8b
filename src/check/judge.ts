// How a tool's answer becomes a verdict, for check definitions here and in the catalog
// (catalog/checks.ts). A leaf module: it imports nothing of check/ or the catalog.

import type { Verdict } from '../report/verdict.js';

/** What a tool printed and how it ended. */
export interface ToolOutput {
  exitCode: number | null;
  /** stdout and stderr interleaved as the tool wrote them. */
  output: string;
  timedOut: boolean;
}

/** Pass on exit 0; the detail is everything the tool printed. */
export function judgeExitCode(out: ToolOutput): Verdict {
  const ok = out.exitCode === 0 && !out.timedOut;
  return { status: ok ? 'pass' : 'fail', actual: '', detail: describeEnd(out) };
}

/** What a tool's end says: its output, a timeout, or its exit code when it printed nothing. */
export function describeEnd(out: ToolOutput): string {
  const text = out.output.trim();
  if (out.timedOut) return `${text}\n(timed out)`.trim();
  if (out.exitCode !== 0 && text === '') return `exited with code ${String(out.exitCode)}`;
  return text;
}
