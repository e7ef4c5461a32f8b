import { describe, expect, it } from 'vitest';
import { answerStatuses } from '../../../src/probes/request-framing.js';

describe('answerStatuses (the answers a client read on one connection)', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');
  it.each([
    ['none', '', []],
    ['one with a length', 'HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\nnope', [400]],
    [
      'two back to back, the first body ending without a newline',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n',
      [200, 400],
    ],
    [
      'a chunked one, then another',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nHTT\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
      [200, 200],
    ],
    [
      'a close-delimited one (its body may look like anything)',
      'HTTP/1.0 200 OK\r\n\r\nHTTP/1.1 200 fake',
      [200],
    ],
    [
      'a body that is an HTTP answer is not counted',
      'HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nHTTP/1.1 200 OK\r\n',
      [200],
    ],
  ])('%s', (_what, raw, statuses) => {
    expect(answerStatuses(b(raw))).toEqual(statuses);
  });
});
