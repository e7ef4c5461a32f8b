// The template engine: one isolated Handlebars instance (never the global one), compiled
// strict (a missing variable is an error, not an empty line in nginx.conf) and noEscape
// (config files are not HTML). Templates are files under templates/ mirroring the output.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { StackgenError } from '../errors.js';
import { registerHelpers } from './helpers.js';

/** templates/ at the package root (src/render → ../../templates, dist/render likewise). */
export const TEMPLATES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'templates');

const engine = Handlebars.create();
registerHelpers(engine);
// Pieces several templates share (`{{> name}}`): templates/partials/<name>.hbs.
for (const file of readdirSync(join(TEMPLATES_DIR, 'partials')).filter((f) => f.endsWith('.hbs')))
  engine.registerPartial(
    file.slice(0, -'.hbs'.length),
    readFileSync(join(TEMPLATES_DIR, 'partials', file), 'utf8'),
  );
const cache = new Map<string, Handlebars.TemplateDelegate>();

/** Render templates/<name> with a context; errors name the template and the missing value. */
export function renderTemplate(name: string, context: object): string {
  let template = cache.get(name);
  if (!template) {
    const source = readFileSync(join(TEMPLATES_DIR, name), 'utf8');
    template = engine.compile(source, { strict: true, noEscape: true, preventIndent: true });
    cache.set(name, template);
  }
  try {
    return tidy(template(context));
  } catch (cause) {
    throw new StackgenError('SG_ERR_TEMPLATE', `template ${name} failed: ${(cause as Error).message}`, {
      cause,
      hint: 'this is a stackgen bug: please report it with your stack.yaml',
    });
  }
}

/** Collapse the blank lines left by block helpers: at most one blank line in a row. */
function tidy(text: string): string {
  return `${text
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
