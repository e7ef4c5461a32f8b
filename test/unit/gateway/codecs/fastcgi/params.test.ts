import { describe, expect, it } from 'vitest';
import {
  decodeNameValuePairs,
  nameValuePairsSize,
  writeNameValuePairs,
} from '../../../../../src/gateway/codecs/fastcgi/params.js';

function encode(vars: Array<[string, string]>): Buffer {
  const out = Buffer.alloc(nameValuePairsSize(vars));
  expect(writeNameValuePairs(out, 0, vars)).toBe(out.length);
  return out;
}

describe('FastCGI name-value pairs (spec §3.4)', () => {
  it('uses one-byte lengths below 128 (hand-computed)', () => {
    expect([...encode([['AB', 'xyz']])]).toEqual([2, 3, 0x41, 0x42, 0x78, 0x79, 0x7a]);
  });

  it('uses four-byte big-endian lengths with the high bit set from 128 up (hand-computed)', () => {
    const encoded = encode([['N', 'v'.repeat(200)]]);
    expect([...encoded.subarray(0, 6)]).toEqual([1, 0x80, 0x00, 0x00, 0xc8, 0x4e]);
    const boundary = encode([['K'.repeat(127), 'v'.repeat(128)]]);
    expect([...boundary.subarray(0, 5)]).toEqual([127, 0x80, 0, 0, 128]);
  });

  it('round-trips short, long and empty names and values', () => {
    const vars: Array<[string, string]> = [
      ['A', ''],
      ['LONG', 'x'.repeat(70000)],
      ['K'.repeat(300), 'short'],
      ['PATH_INFO', '/\u00c3\u00a9'],
    ];
    expect(decodeNameValuePairs(encode(vars))).toEqual(vars);
  });

  it.each([
    ['a truncated four-byte length', Buffer.from([0x80, 0])],
    ['a pair overrunning the stream', Buffer.from([5, 5, 0x41])],
    ['a missing value length', Buffer.from([1])],
  ])('rejects %s with SG_ERR_CODEC', (_name, stream) => {
    expect(() => decodeNameValuePairs(stream)).toThrow(expect.objectContaining({ code: 'SG_ERR_CODEC' }));
  });
});
