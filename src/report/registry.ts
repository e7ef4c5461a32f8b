// Output formats by name, one registry per report: `--json FILE` and `--junit FILE` pick
// theirs here; the human text goes to stdout. Adding a format = one file + one line in
// each registry (check's must name every format verify has).

import { formatCheckHuman, formatHuman } from './human.js';
import { formatCheckJson, formatJson } from './json.js';
import { formatCheckJunit, formatJunit } from './junit.js';
import type { CheckReport, VerifyReport } from './types.js';

export const FORMATTERS = {
  human: formatHuman,
  json: formatJson,
  junit: formatJunit,
} as const satisfies Record<string, (report: VerifyReport) => string>;

export type FormatName = keyof typeof FORMATTERS;

export const CHECK_FORMATTERS = {
  human: formatCheckHuman,
  json: formatCheckJson,
  junit: formatCheckJunit,
} as const satisfies Record<FormatName, (report: CheckReport) => string>;
