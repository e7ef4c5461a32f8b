// `stackgen schema [--markdown]`: print the JSON Schema of stack.yaml (for editors'
// completion), or the Markdown reference that the README embeds.

import { stackReferenceMarkdown } from '../stack/reference.js';
import { stackJsonSchema } from '../stack/schema.js';

/** `stackgen schema`'s options, as commander parses them. */
export interface SchemaCliOptions {
  markdown?: true;
}

export async function run(opts: SchemaCliOptions): Promise<number> {
  const text = opts.markdown === true ? stackReferenceMarkdown() : JSON.stringify(stackJsonSchema(), null, 2);
  process.stdout.write(`${text}\n`);
  return 0;
}
