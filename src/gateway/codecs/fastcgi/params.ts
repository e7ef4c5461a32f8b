// FastCGI name-value pairs (FastCGI Specification §3.4): each length is one byte when < 128, else
// four bytes big-endian with the high bit of the first byte set:
//   "Lengths of 127 bytes and less can be encoded in one byte, while longer lengths are always
//    encoded in four bytes" — nameLength, valueLength, nameData, valueData.
// Names and values are byte strings (one char = one octet, see cgi-env.ts).

import { StackgenError } from '../../../errors.js';

const LONG_LENGTH_FLAG = 0x80000000;
/** A 4-byte length keeps 31 bits. */
const MAX_PAIR_LENGTH = 0x7fffffff;

function lengthSize(length: number): number {
  return length < 128 ? 1 : 4;
}

/** Bytes needed to encode `vars` as name-value pairs. */
export function nameValuePairsSize(vars: ReadonlyArray<readonly [string, string]>): number {
  let size = 0;
  for (const [name, value] of vars) {
    size += lengthSize(name.length) + lengthSize(value.length) + name.length + value.length;
  }
  return size;
}

function writeLength(buf: Buffer, offset: number, length: number): number {
  if (length < 128) {
    buf[offset] = length;
    return offset + 1;
  }
  if (length > MAX_PAIR_LENGTH) {
    throw new StackgenError(
      'SG_ERR_UPSTREAM_REQUEST_TOO_LARGE',
      'A FastCGI param is longer than 2^31 bytes.',
    );
  }
  buf.writeUInt32BE((length | LONG_LENGTH_FLAG) >>> 0, offset);
  return offset + 4;
}

/** Write `vars` as name-value pairs at `offset`; returns the offset just after them. */
export function writeNameValuePairs(
  buf: Buffer,
  offset: number,
  vars: ReadonlyArray<readonly [string, string]>,
): number {
  for (const [name, value] of vars) {
    offset = writeLength(buf, offset, name.length);
    offset = writeLength(buf, offset, value.length);
    offset += buf.write(name, offset, 'latin1');
    offset += buf.write(value, offset, 'latin1');
  }
  return offset;
}

/** Decode a complete PARAMS stream (for tests and round trips); throws SG_ERR_CODEC. */
export function decodeNameValuePairs(stream: Buffer): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let offset = 0;
  const readLength = (): number => {
    const first = stream[offset];
    if (first === undefined) throw codecError('truncated length');
    if (first < 128) {
      offset += 1;
      return first;
    }
    if (offset + 4 > stream.length) throw codecError('truncated 4-byte length');
    const length = stream.readUInt32BE(offset) & MAX_PAIR_LENGTH;
    offset += 4;
    return length;
  };
  while (offset < stream.length) {
    const nameLength = readLength();
    const valueLength = readLength();
    if (offset + nameLength + valueLength > stream.length) throw codecError('pair overruns the stream');
    const name = stream.toString('latin1', offset, offset + nameLength);
    offset += nameLength;
    pairs.push([name, stream.toString('latin1', offset, offset + valueLength)]);
    offset += valueLength;
  }
  return pairs;
}

function codecError(what: string): StackgenError {
  return new StackgenError('SG_ERR_CODEC', `Malformed FastCGI name-value pairs: ${what}.`);
}
