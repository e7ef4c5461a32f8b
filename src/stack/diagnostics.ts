// Diagnostics: what parse/rules found, as values. An error stops the command (exit 78);
// a warning is printed and the command goes on.

export type SpecPath = ReadonlyArray<string | number>;

/**
 * What sort of finding a diagnostic is. Callers decide by this (which exit code, where to
 * point, which warnings to act on), never by the message text, which is for people.
 */
export type DiagnosticKind =
  /** The YAML itself: bad indentation or quoting, a duplicate key (load.ts). */
  | 'syntax'
  /** A key the schema does not have at that place. */
  | 'unknown-key'
  /** A required key that is absent. */
  | 'missing-key'
  /** A value of the wrong type, outside its enum, range or pattern. */
  | 'invalid-value'
  /** A cross-field rule (rules.ts): an impossible combination (error) or a risky one (warning). */
  | 'rule'
  /** A directory stack.yaml names that the disk does not have (paths.ts). */
  | 'missing-directory'
  /** A development server named for production (catalog/dev-servers.ts): always an error. */
  | 'dev-server';

export interface Diagnostic {
  severity: 'error' | 'warning';
  kind: DiagnosticKind;
  /** Where in stack.yaml (the key path); [] means the document as a whole. */
  path: SpecPath;
  message: string;
  hint?: string | undefined;
  /** Filled in by load.ts from the YAML source: 1-based line and column. */
  line?: number | undefined;
  col?: number | undefined;
}

/** `stack.yaml:12:5: error: message\n  hint: …` — the form editors and CI annotate. */
export function formatDiagnostic(file: string, d: Diagnostic): string {
  const where = d.line === undefined ? file : `${file}:${d.line}:${d.col ?? 1}`;
  const at = d.path.length > 0 ? ` (at ${d.path.join('.')})` : '';
  const hint = d.hint ? `\n  hint: ${d.hint}` : '';
  return `${where}: ${d.severity}: ${d.message}${at}${hint}`;
}

/** Levenshtein distance, for "did you mean …?" hints. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a distance that still looks like a typo, or undefined. */
export function closest(value: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(value.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(value.length / 3)) ? best : undefined;
}
