import { describe, expect, it } from 'vitest';
import { escapeLogField, formatAccessLine } from '../../../src/gateway/log.js';

describe('formatAccessLine', () => {
  const now = new Date('2024-05-06T07:08:09.010Z');

  it('time, client, "METHOD target", status, bytes, upstream ms, upstream', () => {
    const line = formatAccessLine(
      {
        remote: '10.0.0.1',
        method: 'GET',
        target: '/a?b=1',
        status: 200,
        bytes: 12,
        upstreamMs: 12.345,
        upstream: 'uwsgi://unix:/run/app.sock',
      },
      now,
    );
    expect(line).toBe(
      '2024-05-06T07:08:09.010Z 10.0.0.1 "GET /a?b=1" 200 12 12.3 uwsgi://unix:/run/app.sock\n',
    );
  });

  it('escapes what could break the line apart (spaces, quotes, backslashes); - for a local answer', () => {
    const line = formatAccessLine(
      {
        remote: '-',
        method: 'GET',
        target: '/a b"c\\',
        status: 404,
        bytes: 0,
        upstreamMs: null,
        upstream: null,
      },
      now,
    );
    expect(line).toBe('2024-05-06T07:08:09.010Z - "GET /a\\x20b\\x22c\\x5c" 404 0 - -\n');
  });
});

describe('escapeLogField: no client byte can end a line or a field', () => {
  it.each([
    ['G\nFAKE 1.2.3.4 "GET /x" 200', 'G\\x0aFAKE\\x201.2.3.4\\x20\\x22GET\\x20/x\\x22\\x20200'],
    ['a\r\nb', 'a\\x0d\\x0ab'],
    ['q"b\\s', 'q\\x22b\\x5cs'],
    ['\x1b[31m\x7f\x00', '\\x1b[31m\\x7f\\x00'],
    ['caf\xe9', 'caf\\xe9'],
    ['€', '\\xe2\\x82\\xac'],
    ['/plain?a=1&b=%20', '/plain?a=1&b=%20'],
  ])('%j → %s', (raw, escaped) => {
    expect(escapeLogField(raw)).toBe(escaped);
  });

  it('a forged method stays inside one line', () => {
    const line = formatAccessLine(
      {
        remote: '10.0.0.1',
        method: 'G\n2024 6.6.6.6 "GET /admin',
        target: '/',
        status: 400,
        bytes: 0,
        upstreamMs: null,
        upstream: null,
      },
      new Date(0),
    );
    expect(line.split('\n')).toHaveLength(2);
    expect(line).toMatch(/^\S+ 10\.0\.0\.1 "\S+ \/" 400 0 - -\n$/);
  });
});
