import { describe, expect, it } from 'vitest';
import { bodyExcerpt } from '../../../src/probes/excerpt.js';

const answer = (body: string, type = 'text/html') => ({
  body: Buffer.from(body),
  headers: { 'content-type': type },
});

describe('bodyExcerpt', () => {
  it("reduces an HTML error page to its text (Django's 400 page)", () => {
    const page =
      '<!doctype html>\n<html lang="en">\n<head>\n  <title>Bad Request (400)</title>\n<style>h1{}</style></head>\n<body>\n  <h1>Bad Request (400)</h1><p>Invalid HTTP_HOST header: &#x27;x&#x27;.</p>\n</body>\n</html>\n';
    expect(bodyExcerpt(answer(page))).toBe(
      `"Bad Request (400) Bad Request (400) Invalid HTTP_HOST header: 'x'."`,
    );
  });

  it("shows nginx's welcome page for what it is", () => {
    const page = '<!DOCTYPE html><html><head><title>Welcome to nginx!</title><style>body{}</style></head>';
    expect(bodyExcerpt(answer(page))).toBe('"Welcome to nginx!"');
  });

  it('keeps plain text, drops control bytes, and bounds the length', () => {
    expect(bodyExcerpt(answer('line one\r\n\u0000line two', 'text/plain'))).toBe('"line one line two"');
    expect(bodyExcerpt(answer('', 'text/plain'))).toBe('');
    const long = bodyExcerpt(answer('x'.repeat(1000), 'text/plain'));
    expect(long).toBe(JSON.stringify(`${'x'.repeat(160)}…`));
  });
});
