// The command table: every enumerated option's help lists exactly the values the command
// accepts — the schema's arrays for the choices stack.yaml also has — and a value outside
// them is a usage error naming them.

import { describe, expect, it } from 'vitest';
import { oneOf, orList } from '../../../src/cli/options.js';
import { buildProgram } from '../../../src/cli/program.js';
import { isStackgenError } from '../../../src/errors.js';
import {
  CONCURRENCY,
  FRAMEWORKS,
  INTERFACES,
  MANAGERS,
  PROTOCOLS,
  PROXY_KINDS,
  SERVERS,
} from '../../../src/stack/schema.js';

const ENUMERATED: Array<[command: string, flag: string, values: readonly string[]]> = [
  ['init', '--framework', FRAMEWORKS],
  ['init', '--interface', INTERFACES],
  ['init', '--server', SERVERS],
  ['init', '--concurrency', CONCURRENCY],
  ['init', '--proxy', PROXY_KINDS],
  ['init', '--protocol', PROTOCOLS],
  ['init', '--manager', MANAGERS],
  // Not stack.yaml choices: the values each command's code handles.
  ['explain', '--format', ['text', 'mermaid']],
  ['ci', '--provider', ['github', 'gitlab']],
  ['verify', '--target', ['sandbox', 'machine']],
];

/** The values an option's help line lists: `a, b or c`, before any ` — ` explanation or default. */
function helpValues(command: string, flag: string): string[] {
  const cmd = buildProgram(() => {}).commands.find((c) => c.name() === command);
  if (!cmd) throw new Error(`no command ${command}`);
  // Wide enough that no description wraps.
  const help = cmd.configureHelp({ helpWidth: 10_000 }).helpInformation();
  const line = help.split('\n').find((l) => l.trimStart().startsWith(`${flag} `));
  if (!line) throw new Error(`${command} --help has no ${flag}:\n${help}`);
  const description = line.trim().split(/ {2,}/)[1] ?? '';
  const list = description.replace(/ \(default: [^)]*\)$/, '').split(' — ')[0] ?? '';
  return list.split(/, | or /);
}

describe('stackgen help: enumerated options', () => {
  it.each(ENUMERATED)('%s %s lists exactly its values', (command, flag, values) => {
    expect(helpValues(command, flag)).toEqual([...values]);
  });

  it('lists every concurrency model, process-per-request included', () => {
    expect(helpValues('init', '--concurrency')).toContain('process-per-request');
  });
});

describe('enumerated option values', () => {
  it('are listed as `a, b or c`', () => {
    expect(orList(['text', 'mermaid'])).toBe('text or mermaid');
    expect(orList(['nginx', 'gateway', 'none'])).toBe('nginx, gateway or none');
  });

  it('refuse a value outside the list with a usage error naming the list', () => {
    expect(oneOf('--format', ['text', 'mermaid'] as const, 'mermaid')).toBe('mermaid');
    let error: unknown;
    try {
      oneOf('--format', ['text', 'mermaid'] as const, 'svg');
    } catch (err) {
      error = err;
    }
    expect(isStackgenError(error) && [error.code, error.message]).toEqual([
      'SG_ERR_USAGE',
      '--format must be text or mermaid, not svg',
    ]);
  });
});
