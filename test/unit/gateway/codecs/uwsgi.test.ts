import { describe, expect, it } from 'vitest';
import { StackgenError } from '../../../../src/errors.js';
import {
  decodeUwsgiPacket,
  encodeUwsgiRequest,
  uwsgiVarsSize,
} from '../../../../src/gateway/codecs/uwsgi.js';

describe('encodeUwsgiRequest', () => {
  it('encodes the packet header and vars byte for byte (hand-computed)', () => {
    // modifier1 0 · datasize 6 (u16 LE) · modifier2 0 · [1,0]'A' [1,0]'b'
    const expected = Buffer.from([0x00, 0x06, 0x00, 0x00, 0x01, 0x00, 0x41, 0x01, 0x00, 0x62]);
    expect(encodeUwsgiRequest([['A', 'b']])).toEqual(expected);
  });

  it('appends the body after the vars in the same buffer', () => {
    const packet = encodeUwsgiRequest([['CONTENT_LENGTH', '5']], Buffer.from('hello'));
    expect(packet.subarray(-5).toString()).toBe('hello');
    expect(packet.readUInt16LE(1)).toBe(uwsgiVarsSize([['CONTENT_LENGTH', '5']]));
  });

  it('writes byte strings as single octets (latin1), lengths little-endian', () => {
    const value = 'x'.repeat(300) + '\u00c3\u00a9';
    const packet = encodeUwsgiRequest([['PATH_INFO', value]]);
    // value length 302 = 0x012e little-endian after the key
    const at = 4 + 2 + 'PATH_INFO'.length;
    expect([packet[at], packet[at + 1]]).toEqual([0x2e, 0x01]);
    expect([...packet.subarray(-2)]).toEqual([0xc3, 0xa9]);
  });

  it('round-trips vars and body through decodeUwsgiPacket', () => {
    const vars: Array<[string, string]> = [
      ['REQUEST_METHOD', 'POST'],
      ['PATH_INFO', '/a b/\u00e9'],
      ['EMPTY', ''],
      ['HTTP_COOKIE', 'k=' + 'v'.repeat(5000)],
    ];
    const decoded = decodeUwsgiPacket(encodeUwsgiRequest(vars, Buffer.from('body')));
    expect(decoded.modifier1).toBe(0);
    expect(decoded.modifier2).toBe(0);
    expect(decoded.vars).toEqual(vars);
    expect(decoded.rest.toString()).toBe('body');
  });

  it('accepts a vars block of exactly 65535 bytes', () => {
    const value = 'v'.repeat(65535 - 4 - 1);
    expect(encodeUwsgiRequest([['K', value]]).readUInt16LE(1)).toBe(65535);
  });

  it('refuses a vars block over 65535 bytes instead of wrapping the u16 datasize', () => {
    const value = 'v'.repeat(65535 - 4 - 1 + 1);
    let caught: unknown;
    try {
      encodeUwsgiRequest([['K', value]]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StackgenError);
    const err = caught as StackgenError;
    expect(err.code).toBe('SG_ERR_UPSTREAM_REQUEST_TOO_LARGE');
    expect(err.hint).toContain('buffer-size');
    expect(err.hint).toContain('4096');
    expect(err).toMatchObject({ sentAnything: false });
  });
});

describe('decodeUwsgiPacket', () => {
  it.each([
    ['a short header', Buffer.from([0, 1])],
    ['a datasize beyond the packet', Buffer.from([0, 10, 0, 0, 1, 0])],
    ['a key overrunning the block', Buffer.from([0, 3, 0, 0, 5, 0, 0x41])],
    ['a truncated value length', Buffer.from([0, 4, 0, 0, 1, 0, 0x41, 1])],
  ])('rejects %s with SG_ERR_CODEC', (_name, packet) => {
    expect(() => decodeUwsgiPacket(packet)).toThrow(expect.objectContaining({ code: 'SG_ERR_CODEC' }));
  });
});
