import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, EXIT_CODES, StackgenError } from '../../src/errors.js';

describe('error catalogue', () => {
  it('codes are SG_ERR_* and map to a known exit code', () => {
    for (const [code, def] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^SG_ERR_[A-Z_]+$/);
      expect(EXIT_CODES[def.exit]).toBeTypeOf('number');
      expect(def.description.length).toBeGreaterThan(10);
    }
  });

  it('exit codes are distinct and each is documented in the README', () => {
    const values = Object.values(EXIT_CODES);
    expect(new Set(values).size).toBe(values.length);
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    for (const v of values) expect(readme).toMatch(new RegExp(`\\| ${v} \\|`));
  });

  it('keeps the cause and computes the exit code', () => {
    const cause = new Error('low level');
    const e = new StackgenError('SG_ERR_SPEC_INVALID', 'bad', { cause, hint: 'fix it' });
    expect(e.cause).toBe(cause);
    expect(e.exitCode).toBe(78);
  });
});
