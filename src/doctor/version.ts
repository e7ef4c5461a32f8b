// Version strings as programs print them, compared numerically ("1.22.1" > "1.9.0").

/**
 * The first version-like number in a program's output: `nginx version: nginx/1.22.1` →
 * 1.22.1, `systemd 252 (252.38-1)` → 252, `v20.19.2` (node) → 20.19.2. A number glued to
 * letters (python3, x86_64) is not one.
 */
export function extractVersion(text: string): string | null {
  const m = /(?<![\w.])v?(\d+(?:\.\d+)*)(?![\w])/.exec(text);
  return m ? m[1]! : null;
}

/** -1, 0 or 1 as a is older than, equal to or newer than b; missing parts count as 0 (1.2 = 1.2.0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Does `version` meet `minVersion`? minVersion '0' accepts anything, even an unknown version. */
export function meetsMinimum(version: string | null, minVersion: string): boolean | null {
  if (compareVersions(minVersion, '0') === 0) return true;
  if (version === null) return null;
  return compareVersions(version, minVersion) >= 0;
}
