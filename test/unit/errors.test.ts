import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, EXIT_CODES, StackgenError, statusFor, UpstreamError } from '../../src/errors.js';

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

  it('an HTTP status in the catalogue is a 4xx/5xx, and its description names it', () => {
    for (const def of Object.values(ERROR_CATALOGUE)) {
      const status = (def as { status?: number }).status;
      if (status === undefined) continue;
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
      expect(def.description).toContain(String(status));
    }
  });

  it("statusFor: the code's status, else 502 (a backend failure without a name of its own)", () => {
    expect(statusFor(new StackgenError('SG_ERR_UPSTREAM_TIMEOUT', 'x'))).toBe(504);
    expect(statusFor(new StackgenError('SG_ERR_CLIENT_BODY_TOO_LARGE', 'x'))).toBe(413);
    expect(statusFor(new StackgenError('SG_ERR_INTERNAL', 'x'))).toBe(502);
    expect(statusFor(new Error('plain'))).toBe(502);
    expect(statusFor(null)).toBe(502);
  });

  it('an UpstreamError is a StackgenError with a typed sentAnything', () => {
    const e = new UpstreamError('SG_ERR_UPSTREAM_CONNECT', 'upstream x: cannot connect.', {
      sentAnything: false,
    });
    expect(e).toBeInstanceOf(StackgenError);
    expect(e.sentAnything).toBe(false);
    expect(statusFor(e)).toBe(502);
  });
});
