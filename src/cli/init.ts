// `stackgen init [dir]`: write a stack.yaml from flags (non-interactive, --yes) or by asking
// on a terminal, validate it like any other spec, then render it.

import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { stringify } from 'yaml';
import { StackgenError } from '../errors.js';
import { formatDiagnostic } from '../stack/diagnostics.js';
import { parseStackSpec } from '../stack/parse.js';
import { writeAtomic } from '../render/write.js';
import { INIT_CHOICES } from './options.js';
import { DEFAULT_PROXY } from '../topology/catalog/names.js';

/** `stackgen init`'s options, as commander parses them. */
export interface InitCliOptions {
  name?: string;
  /** The stack.yaml choices: checked by the schema like any spec, so a typo gets a did-you-mean. */
  framework?: string;
  server?: string;
  concurrency?: string;
  proxy?: string;
  protocol?: string;
  manager?: string;
  entry?: string;
  yes?: true;
  force?: true;
  /** false with --no-render. */
  render: boolean;
  cores?: string;
}

interface Question {
  flag: keyof typeof INIT_CHOICES | 'entry';
  label: string;
  choices: readonly string[] | null;
  /** Where the answer goes in stack.yaml. */
  path: [string, string];
  fallback: (answers: Record<string, string>) => string | undefined;
}

const QUESTIONS: Question[] = [
  {
    flag: 'framework',
    label: 'Framework',
    choices: INIT_CHOICES.framework,
    path: ['app', 'framework'],
    fallback: () => 'flask',
  },
  {
    flag: 'entry',
    label: 'Entry point (module:callable)',
    choices: null,
    path: ['app', 'entry'],
    fallback: () => undefined,
  },
  {
    flag: 'server',
    label: 'App server (empty: best for the framework)',
    choices: INIT_CHOICES.server,
    path: ['serve', 'server'],
    fallback: () => undefined,
  },
  {
    flag: 'concurrency',
    label: 'Concurrency model (empty: the server default)',
    choices: INIT_CHOICES.concurrency,
    path: ['serve', 'concurrency'],
    fallback: () => undefined,
  },
  {
    flag: 'proxy',
    label: 'Proxy',
    choices: INIT_CHOICES.proxy,
    path: ['proxy', 'kind'],
    fallback: () => DEFAULT_PROXY,
  },
  {
    flag: 'protocol',
    label: 'Protocol proxy → app server (empty: the server default)',
    choices: INIT_CHOICES.protocol,
    path: ['proxy', 'protocol'],
    fallback: () => undefined,
  },
  {
    flag: 'manager',
    label: 'Process manager',
    choices: INIT_CHOICES.manager,
    path: ['processes', 'manager'],
    fallback: () => 'systemd',
  },
];

export async function run(projectDir: string, opts: InitCliOptions): Promise<number> {
  const dir = resolve(projectDir);
  const file = join(dir, 'stack.yaml');
  if (existsSync(file) && opts.force !== true) {
    throw new StackgenError('SG_ERR_USER_EDITED', `${file} already exists`, {
      hint: 'edit it, or pass --force to replace it',
    });
  }
  const interactive = opts.yes !== true && process.stdin.isTTY === true;
  const answers: Record<string, string> = {};
  const rl = interactive ? createInterface({ input: process.stdin, output: process.stdout }) : null;
  try {
    const name = opts.name ?? (await ask(rl, 'Stack name', slug(basename(dir))));
    for (const q of QUESTIONS) {
      const given = opts[q.flag];
      if (given !== undefined) {
        answers[q.flag] = given;
        continue;
      }
      const fallback = q.fallback(answers);
      const label = q.choices ? `${q.label} [${q.choices.join('/')}]` : q.label;
      const answer = await ask(rl, label, fallback ?? '');
      if (answer) answers[q.flag] = answer;
    }
    const doc: Record<string, Record<string, unknown> | string> = {
      name,
      app: {},
      serve: {},
      proxy: {},
      processes: {},
    };
    for (const q of QUESTIONS) {
      const v = answers[q.flag];
      if (v !== undefined) (doc[q.path[0]] as Record<string, unknown>)[q.path[1]] = v;
    }
    const text = `# stackgen stack description — reference: stackgen schema, or the README.\n# Render with: stackgen render; prove with: stackgen verify\n${stringify(pruneEmpty(doc))}`;
    const parsed = parseStackSpec(text);
    if (!parsed.spec) {
      throw new StackgenError(
        'SG_ERR_SPEC_INVALID',
        `these choices do not make a valid stack:\n${parsed.errors.map((d) => formatDiagnostic('stack.yaml', d)).join('\n')}`,
        { hint: 'change the flags above; nothing was written' },
      );
    }
    writeAtomic(file, text, 0o644);
    process.stdout.write(`wrote ${file}\n`);
    for (const w of parsed.warnings) process.stderr.write(`${formatDiagnostic(file, w)}\n`);
  } finally {
    rl?.close();
  }
  if (!opts.render) return 0;
  const render = await import('./render.js');
  return render.run(file, { out: join(dir, 'deploy'), cores: opts.cores });
}

async function ask(
  rl: ReturnType<typeof createInterface> | null,
  label: string,
  fallback: string,
): Promise<string> {
  if (!rl) return fallback;
  const answer = (await rl.question(`${label}${fallback ? ` (${fallback})` : ''}: `)).trim();
  return answer || fallback;
}

function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 40);
  return s || 'app';
}

function pruneEmpty(doc: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(doc).filter(([, v]) => !(v && typeof v === 'object' && Object.keys(v).length === 0)),
  );
}
