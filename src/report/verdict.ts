// A judge's answer: the one shape every result in a report starts from, whether a verify
// probe judges what it observed or a check judges what a tool printed. Result values add
// where and how long (ProbeResult, CheckResult); every report format reads these fields.

export type VerdictStatus = 'pass' | 'fail' | 'skip';

export interface Verdict {
  status: VerdictStatus;
  /** What was seen, in one line ('' when the status says it all). */
  actual: string;
  /** Overrides the definition's expectation text when the judge refines it. */
  expected?: string;
  /** Longer evidence (a tool's own output), shown indented under a failure. */
  detail?: string;
  /** Lines worth showing even when it passed (nginx's `[warn]` lines). */
  warnings?: string[];
}
