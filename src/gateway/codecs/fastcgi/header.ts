// FastCGI 1.0 record header (FastCGI Specification §3.3 "Records"):
//   typedef struct { unsigned char version; unsigned char type;
//     unsigned char requestIdB1, requestIdB0; unsigned char contentLengthB1, contentLengthB0;
//     unsigned char paddingLength; unsigned char reserved; } FCGI_Header;
// Multi-byte fields are big-endian.

import { StackgenError } from '../../../errors.js';

/** §8: `#define FCGI_VERSION_1 1` — the only version there is. */
export const FCGI_VERSION_1 = 1;
export const FCGI_HEADER_LENGTH = 8;
/** contentLength is a u16: one record carries at most this many content bytes. */
export const FCGI_MAX_CONTENT_LENGTH = 0xffff;

/** Record types (§8 "Values for type component of FCGI_Header"). */
export const RecordType = {
  BeginRequest: 1,
  AbortRequest: 2,
  EndRequest: 3,
  Params: 4,
  Stdin: 5,
  Stdout: 6,
  Stderr: 7,
  Data: 8,
  GetValues: 9,
  GetValuesResult: 10,
  UnknownType: 11,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export interface RecordHeader {
  version: number;
  type: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
}

/**
 * Padding that puts the next record on an 8-byte boundary. §3.3: "We recommend that records be
 * placed on boundaries that are multiples of eight bytes."
 */
export function paddingFor(contentLength: number): number {
  return (8 - (contentLength & 7)) & 7;
}

/** Write a record header at `offset`; returns the offset just after it. */
export function writeRecordHeader(
  buf: Buffer,
  offset: number,
  type: RecordType,
  requestId: number,
  contentLength: number,
  paddingLength: number,
): number {
  buf[offset] = FCGI_VERSION_1;
  buf[offset + 1] = type;
  buf.writeUInt16BE(requestId, offset + 2);
  buf.writeUInt16BE(contentLength, offset + 4);
  buf[offset + 6] = paddingLength;
  buf[offset + 7] = 0;
  return offset + FCGI_HEADER_LENGTH;
}

/** Read the 8-byte header at `offset`; a version other than 1 is SG_ERR_UPSTREAM_MALFORMED. */
export function readRecordHeader(buf: Buffer, offset = 0): RecordHeader {
  const version = buf[offset]!;
  if (version !== FCGI_VERSION_1) {
    throw new StackgenError(
      'SG_ERR_UPSTREAM_MALFORMED',
      `FastCGI record with version ${version} (expected 1).`,
      {
        hint: 'The backend does not speak FastCGI on this address (is it an HTTP or uwsgi socket?).',
      },
    );
  }
  return {
    version,
    type: buf[offset + 1]!,
    requestId: buf.readUInt16BE(offset + 2),
    contentLength: buf.readUInt16BE(offset + 4),
    paddingLength: buf[offset + 6]!,
  };
}
