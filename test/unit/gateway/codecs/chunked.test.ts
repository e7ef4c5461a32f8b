import { describe, expect, it } from 'vitest';
import { ChunkedDecoder } from '../../../../src/gateway/codecs/chunked.js';
import { chunkings } from '../../../helpers/splits.js';

const SAMPLE = Buffer.from(
  '5\r\nhello\r\n6;name=value\r\n world\r\nA \r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT',
);

function decode(chunks: Buffer[]): { data: string; done: boolean; rest: string } {
  const decoder = new ChunkedDecoder();
  let data = '';
  let rest = '';
  for (const chunk of chunks) {
    if (decoder.done) {
      rest += chunk.toString();
      continue;
    }
    for (const piece of decoder.push(chunk)) data += piece.toString();
    if (decoder.done) rest += decoder.rest.toString();
  }
  return { data, done: decoder.done, rest };
}

describe('ChunkedDecoder (RFC 9112 §7.1)', () => {
  it('decodes the same body for every chunk split and a one-byte-at-a-time feed', () => {
    for (const { name, chunks } of chunkings(SAMPLE)) {
      expect(decode(chunks), name).toEqual({ data: 'hello world0123456789', done: true, rest: 'NEXT' });
    }
  });

  it('is not done before the last chunk and the final CRLF', () => {
    expect(decode([Buffer.from('3\r\nabc\r\n0\r\n')]).done).toBe(false);
    expect(decode([Buffer.from('3\r\nabc\r\n0\r\n\r\n')]).done).toBe(true);
  });

  it.each([
    ['a non-hex size', 'zz\r\n'],
    ['a size with 14 hex digits', '10000000000000\r\n'],
    ['data longer than its size', '3\r\nabcd\r\n'],
    ['a size line ended by a bare LF', '3\nabc\r\n'],
    ['an empty size', '\r\n'],
    ['a missing final CRLF', '0\r\nX: 1\r\nY'],
  ])('rejects %s with SG_ERR_UPSTREAM_MALFORMED', (_name, text) => {
    const decoder = new ChunkedDecoder();
    expect(() => {
      decoder.push(Buffer.from(text));
      if (text.endsWith('Y')) decoder.push(Buffer.from('\r\r'));
    }).toThrow(expect.objectContaining({ code: 'SG_ERR_UPSTREAM_MALFORMED' }));
  });

  it('bounds chunk extensions and trailers to 16 KiB', () => {
    const decoder = new ChunkedDecoder();
    expect(() => decoder.push(Buffer.from(`1;${'x'.repeat(17 * 1024)}`))).toThrow(
      expect.objectContaining({ code: 'SG_ERR_UPSTREAM_MALFORMED' }),
    );
  });
});
