import { describe, expect, it } from 'vitest';
import { decodeScgiRequest, encodeScgiRequest } from '../../../../src/gateway/codecs/scgi.js';

describe('encodeScgiRequest', () => {
  it('encodes the netstring byte for byte (hand-computed), CONTENT_LENGTH first and SCGI=1', () => {
    const packet = encodeScgiRequest(
      [
        ['REQUEST_METHOD', 'POST'],
        ['CONTENT_LENGTH', '5'],
      ],
      Buffer.from('hello'),
    );
    // 17 (CONTENT_LENGTH\0 5\0) + 7 (SCGI\0 1\0) + 20 (REQUEST_METHOD\0 POST\0) = 44
    expect(packet.toString('latin1')).toBe(
      '44:CONTENT_LENGTH\x005\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00,hello',
    );
  });

  it('sends CONTENT_LENGTH 0 when the request has no body (the spec requires the header)', () => {
    const { vars } = decodeScgiRequest(encodeScgiRequest([['REQUEST_METHOD', 'GET']]));
    expect(vars).toEqual([
      ['CONTENT_LENGTH', '0'],
      ['SCGI', '1'],
      ['REQUEST_METHOD', 'GET'],
    ]);
  });

  it('does not duplicate an SCGI var given by the caller', () => {
    const { vars } = decodeScgiRequest(encodeScgiRequest([['SCGI', '1']]));
    expect(vars.filter(([name]) => name === 'SCGI')).toHaveLength(1);
  });

  it('round-trips vars, byte strings and the body', () => {
    const vars: Array<[string, string]> = [
      ['CONTENT_LENGTH', '4'],
      ['SCGI', '1'],
      ['PATH_INFO', '/\u00c3\u00a9'],
      ['EMPTY', ''],
    ];
    const decoded = decodeScgiRequest(encodeScgiRequest(vars, Buffer.from('body')));
    expect(decoded.vars).toEqual(vars);
    expect(decoded.rest.toString()).toBe('body');
  });

  it('refuses a NUL inside a value (it would forge an extra header)', () => {
    expect(() => encodeScgiRequest([['HTTP_X', 'a\0HTTP_ADMIN\0yes']])).toThrow(
      expect.objectContaining({ code: 'SG_ERR_CLIENT_BAD_REQUEST' }),
    );
  });
});

describe('decodeScgiRequest', () => {
  it.each([
    ['no length', '::', 'no netstring length'],
    ['a bad length', 'x1:a,', 'bad netstring length'],
    ['a missing comma', '17:CONTENT_LENGTH\x000\x00;', 'does not end with a comma'],
    ['a truncated netstring', '99:CONTENT_LENGTH\x000\x00,', 'truncated'],
    ['a value without NUL', '18:CONTENT_LENGTH\x000xx,', 'value without NUL'],
    ['CONTENT_LENGTH not first', '17:SCGI\x001\x00A\x00bcdefgh\x00,', 'not CONTENT_LENGTH'],
  ])('rejects %s with SG_ERR_CODEC', (_name, text, message) => {
    expect(() => decodeScgiRequest(Buffer.from(text, 'latin1'))).toThrow(
      expect.objectContaining({ code: 'SG_ERR_CODEC', message: expect.stringContaining(message) }),
    );
  });
});
