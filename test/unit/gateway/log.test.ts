import { describe, expect, it } from 'vitest';
import { formatAccessLine } from '../../../src/gateway/log.js';

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
