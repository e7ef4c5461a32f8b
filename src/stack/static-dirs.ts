// app.static entries in one shape: a plain directory string is `{dir, immutable: false}`.

import type { StackSpec } from './schema.js';

export type StaticTarget = StackSpec['app']['static'][string];

export interface StaticEntry {
  url: string;
  dir: string;
  /** File names carry content hashes: cache for a year, never revalidate. */
  immutable: boolean;
}

/** Every static mapping of a spec, URL prefix first. Pure. */
export function staticEntries(spec: Pick<StackSpec, 'app'>): StaticEntry[] {
  return Object.entries(spec.app.static).map(([url, target]) =>
    typeof target === 'string' ? { url, dir: target, immutable: false } : { url, ...target },
  );
}

/** The same target with another directory (keeps its options and its shape). */
export function withStaticDir(target: StaticTarget, dir: string): StaticTarget {
  return typeof target === 'string' ? dir : { ...target, dir };
}
