import { describe, expect, it } from 'vitest';
import {
  type ClientError,
  failedRequestLine,
  statusForClientError,
} from '../../../src/gateway/client-errors.js';

const err = (code: string, extra: Partial<ClientError> & { reason?: string } = {}): ClientError =>
  Object.assign(new Error(extra.reason ?? code), { code, ...extra });

describe('statusForClientError (node parser error → the status nginx answers)', () => {
  it.each([
    ['ECONNRESET', null],
    ['EPIPE', null],
    ['HPE_HEADER_OVERFLOW', 431],
    ['HPE_HEADERS_TIMEOUT', 408],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408],
    ['HPE_INVALID_METHOD', 400],
  ])('%s → %s', (code, status) => expect(statusForClientError(err(code))).toBe(status));

  it('tells the CL+TE smuggling case (400) from an unknown transfer coding (501)', () => {
    const both = err('HPE_INVALID_TRANSFER_ENCODING', {
      reason: "Transfer-Encoding can't be present with Content-Length",
    });
    expect(statusForClientError(both)).toBe(400);
    expect(
      statusForClientError(err('HPE_INVALID_TRANSFER_ENCODING', { reason: 'Invalid transfer-encoding' })),
    ).toBe(501);
  });

  it('505 for a well-formed request line with an unknown version, 400 for a garbled one', () => {
    const packet = (line: string) => Buffer.from(`${line}\r\nHost: x\r\n\r\n`, 'latin1');
    expect(statusForClientError(err('HPE_INVALID_VERSION', { rawPacket: packet('GET / HTTP/3.0') }))).toBe(
      505,
    );
    expect(statusForClientError(err('HPE_INVALID_VERSION', { rawPacket: packet('GET / HTTX/1.1') }))).toBe(
      400,
    );
  });
});

describe('failedRequestLine (which request a parser error belongs to, for the log)', () => {
  const packet = (s: string) => Buffer.from(s, 'latin1');
  it.each([
    ['the first request of the packet', 'GET /big HTTP/1.1\r\nX-Big: aaa', 20, 'GET /big HTTP/1.1'],
    [
      'garbage after an answered request',
      'POST /run HTTP/1.1\r\nContent-Length: 0\r\n\r\nxyz garbage\r\n\r\n',
      42,
      'xyz garbage',
    ],
    [
      'a bad header of the second request',
      'GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nBad Header\r\n',
      40,
      'GET /b HTTP/1.1',
    ],
    ['no packet', undefined, 0, ''],
  ])('%s', (_what, raw, at, line) => {
    expect(failedRequestLine(raw === undefined ? undefined : packet(raw), at)).toBe(line);
  });
});
