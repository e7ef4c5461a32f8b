// Output formats by name: `--json FILE` and `--junit FILE` pick theirs here; the human
// table goes to stdout. Adding a format = one file + one line.

import { formatHuman } from './human.js';
import { formatJson } from './json.js';
import { formatJunit } from './junit.js';
import type { VerifyReport } from './types.js';

export const FORMATTERS = {
  human: formatHuman,
  json: formatJson,
  junit: formatJunit,
} as const satisfies Record<string, (report: VerifyReport) => string>;

export type FormatName = keyof typeof FORMATTERS;
