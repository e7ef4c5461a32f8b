// YAML → plain value, keeping the document so that any diagnostic's key path can be
// turned back into a line and column of the user's file.

import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Diagnostic, SpecPath } from './diagnostics.js';

export interface LoadedYaml {
  value: unknown;
  /** YAML syntax errors, already positioned. */
  diagnostics: Diagnostic[];
  locate: (path: SpecPath, preferKey?: boolean) => { line: number; col: number } | undefined;
}

/** Parse YAML text; never throws for bad input, returns positioned diagnostics instead. */
export function loadYaml(text: string): LoadedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lineCounter.linePos(e.pos[0]);
    diagnostics.push({
      severity: doc.errors.includes(e as never) ? 'error' : 'warning',
      kind: 'syntax',
      path: [],
      message: `YAML: ${firstLine(e.message)}`,
      hint:
        e.code === 'DUPLICATE_KEY'
          ? 'each key may appear once in a mapping'
          : 'check indentation and quoting',
      line: pos.line,
      col: pos.col,
    });
  }
  const locate = (path: SpecPath, preferKey = false) => {
    const offset = offsetOf(doc, path, preferKey);
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, col: pos.col };
  };
  const value = diagnostics.some((d) => d.severity === 'error') ? undefined : doc.toJS();
  return { value, diagnostics, locate };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/**
 * Source offset of the node at `path`; when the path does not exist (a missing key),
 * the offset of its deepest existing ancestor. preferKey points at the key, not the value.
 */
function offsetOf(doc: Document, path: SpecPath, preferKey: boolean): number | undefined {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  for (const segment of path) {
    if (!isMap(node) && !(node && typeof node === 'object' && 'items' in node)) break;
    const items = (node as { items: unknown[] }).items;
    const next = isMap(node)
      ? items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment))
      : items[Number(segment)];
    if (next === undefined) break;
    if (isPair(next)) {
      keyNode = next.key as Node;
      node = next.value ?? next.key;
    } else {
      keyNode = undefined;
      node = next;
    }
  }
  const target = preferKey && keyNode ? keyNode : (node as Node | null | undefined);
  return target?.range?.[0];
}
