// Where a new app server or front server must appear — and nowhere else. A server is a
// catalog entry (servers.ts), a recipe (recipes.ts: its files, command and checks), the
// templates its recipe names, and an example that verify proves; a proxy likewise
// (proxies.ts, recipes.ts, templates, an example). Code outside src/topology/catalog/
// must not branch on a server's or a proxy's name: that knowledge belongs to the entry.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PROXY_KINDS, SERVER_NAMES } from '../../../src/topology/catalog/names.js';
import { PROXIES } from '../../../src/topology/catalog/proxies.js';
import { PROXY_RECIPES, SERVER_RECIPES } from '../../../src/topology/catalog/recipes.js';
import { SERVERS } from '../../../src/topology/catalog/servers.js';
import { relativeFiles } from '../../../src/topology/catalog/files.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SRC = join(ROOT, 'src');
const CATALOG = join(SRC, 'topology', 'catalog');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === CATALOG ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const examples = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .map(
    (f) => parse(readFileSync(join(ROOT, 'examples', f), 'utf8')) as Record<string, Record<string, unknown>>,
  );

const templateExists = (t: string) => existsSync(join(ROOT, 'templates', t));

describe('the places a server or proxy entry must appear', () => {
  it.each(SERVER_NAMES)('server %s: an entry, a recipe, its templates and an example', (name) => {
    expect(SERVERS[name]?.name).toBe(name);
    const recipe = SERVER_RECIPES[name];
    expect(recipe).toBeDefined();
    const files = relativeFiles('x');
    for (const f of recipe.files) {
      expect(templateExists(f.template), `templates/${f.template}`).toBe(true);
      expect(files[f.file]).toBeDefined();
    }
    expect(examples.some((e) => e['serve']?.['server'] === name)).toBe(true);
  });

  it.each(PROXY_KINDS)('proxy %s: an entry, a recipe, its templates and an example', (kind) => {
    expect(PROXIES[kind]?.name).toBe(kind);
    const recipe = PROXY_RECIPES[kind];
    expect(recipe).toBeDefined();
    for (const f of recipe.files) expect(templateExists(f.template), `templates/${f.template}`).toBe(true);
    // A front server stackgen or the distribution runs has a process; no proxy has none.
    expect(PROXIES[kind].process === null).toBe(recipe.launch === null);
    // 'none' is no front server at all: the app server faces clients (proven in probe-apps).
    if (kind !== 'none') expect(examples.some((e) => (e['proxy']?.['kind'] ?? 'nginx') === kind)).toBe(true);
  });

  it('no code outside src/topology/catalog/ branches on a server or proxy name', () => {
    // 'none' is the absence of a proxy (every layer may ask whether there is one); the
    // gateway's own source speaks protocols whose names overlap the servers'.
    const names = [...SERVER_NAMES, ...PROXY_KINDS.filter((k) => k !== 'none'), 'fcgiwrap'].join('|');
    // The value compared is the last name before the operator: `app.server`, `front.kind`.
    const subject = String.raw`\b(?:server|kind|program|component|proxy|bridge)\b`;
    const branch = new RegExp(
      String.raw`${subject}\s*[!=]==\s*'(?:${names})'|'(?:${names})'\s*[!=]==\s*${subject}|\b(?:SERVERS|PROXIES|SERVER_RECIPES|PROXY_RECIPES)\.(?:${names})\b|when:\s*\{\s*(?:server|proxy|bridge):`,
    );
    const found = sourceFiles(SRC)
      .filter((f) => !f.startsWith(join(SRC, 'gateway')))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .flatMap((line, i) => (branch.test(line) ? [`${relative(ROOT, f)}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(found).toEqual([]);
  });

  it('the scan sees a branch when there is one', () => {
    const names = SERVER_NAMES.join('|');
    const branch = new RegExp(String.raw`\bserver\b\s*[!=]==\s*'(?:${names})'`);
    expect(branch.test("if (app.server === 'uwsgi') {")).toBe(true);
    expect(branch.test("if (protocol === 'uwsgi') {")).toBe(false);
  });
});
