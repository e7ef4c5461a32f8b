// Diagnostics: what parse/rules found, as values. An error stops the command (exit 78);
// a warning is printed and the command goes on.

export type SpecPath = ReadonlyArray<string | number>;

export interface Diagnostic {
  severity: 'error' | 'warning';
  /** What sort of finding this is, for callers that act on it (e.g. `missing-directory`). */
  kind?: string | undefined;
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
