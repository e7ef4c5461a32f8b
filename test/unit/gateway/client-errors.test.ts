import { describe, expect, it } from 'vitest';
import { type ClientError, statusForClientError } from '../../../src/gateway/client-errors.js';

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
