import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackReferenceMarkdown } from '../../../src/stack/reference.js';
import { stackJsonSchema } from '../../../src/stack/schema.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('stack.yaml schema', () => {
  it('matches the committed JSON Schema (schema/stack.schema.json)', async () => {
    await expect(`${JSON.stringify(stackJsonSchema(), null, 2)}\n`).toMatchFileSnapshot(
      join(ROOT, 'schema', 'stack.schema.json'),
    );
  });

  it('describes every field', () => {
    const missing: string[] = [];
    const walk = (node: Record<string, unknown>, path: string) => {
      for (const [k, v] of Object.entries(
        (node['properties'] as Record<string, Record<string, unknown>>) ?? {},
      )) {
        if (!v['description']) missing.push(`${path}${k}`);
        walk(v, `${path}${k}.`);
        const items = v['items'] as Record<string, unknown> | undefined;
        if (items) walk(items, `${path}${k}[].`);
      }
    };
    walk(stackJsonSchema(), '');
    expect(missing).toEqual([]);
  });

  it("the README's stack.yaml reference is the generated one (no drift)", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const m = /<!-- reference:start -->\n([\s\S]*?)\n<!-- reference:end -->/.exec(readme);
    expect(m, 'README needs <!-- reference:start --> … <!-- reference:end -->').not.toBeNull();
    expect(m![1]).toBe(stackReferenceMarkdown());
  });
});
