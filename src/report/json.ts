// The JSON report: the result values as they are, for tools.

import type { VerifyReport } from './types.js';

export function formatJson(report: VerifyReport): string {
  return `${JSON.stringify({ tool: 'stackgen verify', version: 1, ...report }, null, 2)}\n`;
}
