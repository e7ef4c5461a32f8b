// parse → normalize → rules: stack.yaml text in, a complete spec plus diagnostics out.
// Pure: the file is read by readStackSpec (the I/O edge) below.

import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { StackgenError } from '../errors.js';
import { closest, type Diagnostic, formatDiagnostic } from './diagnostics.js';
import { loadYaml } from './load.js';
import { missingDirectoryWarnings } from './paths.js';
import { type NormalizedSpec, normalizeSpec } from './normalize.js';
import { checkRules } from './rules.js';
import { stackSpecSchema } from './schema.js';
import { devServerNamed } from '../topology/catalog/dev-servers.js';

export interface ParseResult {
  spec: NormalizedSpec | undefined;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** Where the spec lives, to judge the directories it names (omitted: not judged). */
export interface PathContext {
  baseDir: string;
  isDirectory: (path: string) => boolean;
}

/** Parse stack.yaml text into a normalized spec, collecting positioned diagnostics. */
export function parseStackSpec(text: string, paths?: PathContext): ParseResult {
  const loaded = loadYaml(text);
  const diagnostics: Diagnostic[] = [...loaded.diagnostics];
  let spec: NormalizedSpec | undefined;

  if (!diagnostics.some((d) => d.severity === 'error')) {
    const value = loaded.value ?? {};
    // A development server is refused with its own reason before the schema would call
    // `runserver` merely "not one of uwsgi, gunicorn, …".
    const dev = devServerDiagnostics(value);
    diagnostics.push(...dev);
    const devPaths = new Set(dev.map((d) => d.path.join('.')));
    const parsed = stackSpecSchema.safeParse(value);
    if (!parsed.success) {
      diagnostics.push(
        ...parsed.error.issues
          .flatMap((issue) => issueToDiagnostics(issue, value))
          .filter((d) => !devPaths.has(d.path.join('.'))),
      );
    } else if (dev.length === 0) {
      const normalized = normalizeSpec(parsed.data);
      const ruleDiagnostics = checkRules(normalized);
      diagnostics.push(...ruleDiagnostics);
      if (!ruleDiagnostics.some((d) => d.severity === 'error')) {
        spec = normalized;
        if (paths)
          diagnostics.push(...missingDirectoryWarnings(normalized, paths.baseDir, paths.isDirectory));
      }
    }
  }

  for (const d of diagnostics) {
    if (d.line !== undefined) continue;
    // An unknown key has no value worth pointing at: point at the key itself.
    const pos = loaded.locate(d.path, d.kind === 'unknown-key');
    if (pos) Object.assign(d, pos);
  }
  return {
    spec,
    errors: diagnostics.filter((d) => d.severity === 'error'),
    warnings: diagnostics.filter((d) => d.severity === 'warning'),
  };
}

/** Where stack.yaml can name a server or a command: the whole serve.server value, or app.entry. */
const DEV_SERVER_PLACES: ReadonlyArray<readonly [string, string]> = [
  ['serve', 'server'],
  ['app', 'entry'],
];

/** A development server named where production runs (catalog/dev-servers.ts) is an error. Pure. */
export function devServerDiagnostics(value: unknown): Diagnostic[] {
  return DEV_SERVER_PLACES.flatMap((path) => {
    const text = valueAt(value, path);
    const dev = typeof text === 'string' ? devServerNamed(text) : null;
    if (!dev) return [];
    return [
      {
        severity: 'error' as const,
        kind: 'dev-server' as const,
        path,
        message: `${JSON.stringify(text)} is ${dev.title}, a development server: refused for production — ${dev.why}`,
        hint: dev.instead,
      },
    ];
  });
}

/** Turn one zod issue into diagnostics with "did you mean" hints. */
function issueToDiagnostics(issue: z.core.$ZodIssue, value: unknown): Diagnostic[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(path);
      return issue.keys.map((key) => {
        const guess = closest(key, known);
        return {
          severity: 'error' as const,
          kind: 'unknown-key' as const,
          path: [...path, key],
          message: `unknown key \`${key}\``,
          hint: guess ? `did you mean \`${guess}\`?` : `allowed here: ${known.join(', ')}`,
        };
      });
    }
    case 'invalid_value': {
      const options = issue.values.map(String);
      const actual = valueAt(value, path);
      if (actual === undefined) {
        return [
          {
            severity: 'error',
            kind: 'missing-key',
            path,
            message: `missing required key \`${String(path.at(-1))}\``,
            hint: `one of ${options.join(', ')}`,
          },
        ];
      }
      const guess = typeof actual === 'string' ? closest(actual, options) : undefined;
      return [
        {
          severity: 'error',
          kind: 'invalid-value',
          path,
          message: `${JSON.stringify(actual)} is not one of ${options.join(', ')}`,
          hint: guess ? `did you mean \`${guess}\`?` : undefined,
        },
      ];
    }
    case 'invalid_type': {
      const actual = valueAt(value, path);
      if (actual === undefined)
        return [
          {
            severity: 'error',
            kind: 'missing-key',
            path,
            message: `missing required key \`${String(path.at(-1))}\``,
          },
        ];
      return [
        {
          severity: 'error',
          kind: 'invalid-value',
          path,
          message: `expected ${issue.expected}, got ${JSON.stringify(actual)}`,
        },
      ];
    }
    default:
      // Ranges, patterns, unions: zod's own sentence says which.
      return [{ severity: 'error', kind: 'invalid-value', path, message: issue.message }];
  }
}

function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let v = root;
  for (const p of path)
    v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

/** Keys allowed by the schema at an object path (for unknown-key hints). */
function knownKeysAt(path: ReadonlyArray<string | number>): string[] {
  // biome-ignore lint/suspicious/noExplicitAny: walking zod's internal definition tree
  let schema: any = stackSpecSchema;
  for (const p of path) {
    while (schema?.def?.innerType) schema = schema.def.innerType; // unwrap default/optional
    schema = schema?.shape?.[p] ?? schema?.def?.element ?? schema?.def?.valueType;
  }
  while (schema?.def?.innerType) schema = schema.def.innerType;
  return schema?.shape ? Object.keys(schema.shape) : [];
}

export interface LoadedSpec {
  file: string;
  /** Directory of stack.yaml: relative paths in the spec are relative to it. */
  baseDir: string;
  spec: NormalizedSpec;
  warnings: Diagnostic[];
}

/** Read and parse a stack.yaml file; throws SG_ERR_SPEC_* with every diagnostic formatted. */
export function readStackSpec(file: string): LoadedSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new StackgenError('SG_ERR_SPEC_NOT_FOUND', `cannot read ${file}`, {
      cause,
      hint: 'pass the path of a stack.yaml, or create one with `stackgen init`',
    });
  }
  const baseDir = dirname(resolve(file));
  const result = parseStackSpec(text, { baseDir, isDirectory });
  if (!result.spec) {
    const syntax = result.errors.some((e) => e.kind === 'syntax');
    const dev = result.errors.some((e) => e.kind === 'dev-server');
    throw new StackgenError(
      syntax ? 'SG_ERR_SPEC_SYNTAX' : dev ? 'SG_ERR_SPEC_DEV_SERVER' : 'SG_ERR_SPEC_INVALID',
      `${file} is invalid:\n${result.errors.map((d) => formatDiagnostic(file, d)).join('\n')}`,
      { details: { diagnostics: result.errors }, hint: 'fix the lines above; nothing was written' },
    );
  }
  return { file, baseDir, spec: result.spec, warnings: result.warnings };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
