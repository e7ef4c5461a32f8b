// The README's stack.yaml reference, generated from the JSON Schema (itself generated from
// the zod descriptions), so the documentation cannot drift from what the loader accepts.

import { stackJsonSchema } from './schema.js';

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  additionalProperties?: JsonSchemaNode | boolean;
  pattern?: string;
  const?: unknown;
}

/** Markdown table rows: key path, type/values, default, description. */
export function stackReferenceMarkdown(): string {
  const rows: string[] = ['| key | values | default | meaning |', '|---|---|---|---|'];
  const walk = (node: JsonSchemaNode, path: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const p = path ? `${path}.${key}` : key;
      rows.push(
        `| \`${p}\` | ${typeText(child)} | ${defaultText(child)} | ${(child.description ?? '').replace(/\|/g, '\\|')} |`,
      );
      if (child.properties) walk(child, p);
      if (child.items?.properties) walk(child.items, `${p}[]`);
    }
  };
  walk(stackJsonSchema() as JsonSchemaNode, '');
  return rows.join('\n');
}

function typeText(n: JsonSchemaNode): string {
  if (n.enum) return n.enum.map((v) => `\`${String(v)}\``).join(', ');
  if (n.anyOf) return n.anyOf.map(typeText).join(' or ');
  if (n.const !== undefined) return `\`${String(n.const)}\``;
  if (n.type === 'array') return `list of ${n.items ? typeText(n.items) : 'values'}`;
  if (n.type === 'object' && n.additionalProperties && typeof n.additionalProperties === 'object') {
    return `map of ${typeText(n.additionalProperties)}`;
  }
  return String(n.type ?? 'value');
}

function defaultText(n: JsonSchemaNode): string {
  if (n.default === undefined) return '—';
  if (typeof n.default === 'object') return n.properties ? '(section)' : `\`${JSON.stringify(n.default)}\``;
  return `\`${String(n.default)}\``;
}
