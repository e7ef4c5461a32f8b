import { describe, expect, it } from 'vitest';
import {
  FCGI_HEADER_LENGTH,
  RecordType,
  readRecordHeader,
} from '../../../../../src/gateway/codecs/fastcgi/header.js';
import { decodeNameValuePairs } from '../../../../../src/gateway/codecs/fastcgi/params.js';
import {
  FCGI_STREAM_RECORD_CONTENT,
  encodeFastcgiRequest,
  encodeFastcgiStdin,
  encodeFastcgiStdinEnd,
} from '../../../../../src/gateway/codecs/fastcgi/writer.js';

interface WalkedRecord {
  type: number;
  requestId: number;
  content: Buffer;
  paddingLength: number;
}

/** Split an encoded byte stream into its records (a test-side reader for what we send). */
function walk(stream: Buffer): WalkedRecord[] {
  const records: WalkedRecord[] = [];
  let offset = 0;
  while (offset < stream.length) {
    const header = readRecordHeader(stream, offset);
    const start = offset + FCGI_HEADER_LENGTH;
    records.push({
      type: header.type,
      requestId: header.requestId,
      content: stream.subarray(start, start + header.contentLength),
      paddingLength: header.paddingLength,
    });
    offset = start + header.contentLength + header.paddingLength;
  }
  expect(offset).toBe(stream.length);
  return records;
}

describe('encodeFastcgiRequest', () => {
  it('encodes BEGIN_REQUEST, PARAMS, STDIN and terminators byte for byte (hand-computed)', () => {
    const encoded = encodeFastcgiRequest({
      requestId: 1,
      vars: [['A', 'b']],
      keepConn: true,
      stdin: Buffer.from('hi'),
      endStdin: true,
    });
    // biome-ignore format: one record per line
    const expected = Buffer.from([
      1, 1, 0, 1, 0, 8, 0, 0,   0, 1, 1, 0, 0, 0, 0, 0,          // BEGIN_REQUEST: RESPONDER, FCGI_KEEP_CONN
      1, 4, 0, 1, 0, 4, 4, 0,   1, 1, 0x41, 0x62, 0, 0, 0, 0,    // PARAMS "A"="b", 4 bytes of padding
      1, 4, 0, 1, 0, 0, 0, 0,                                    // empty PARAMS: end of params
      1, 5, 0, 1, 0, 2, 6, 0,   0x68, 0x69, 0, 0, 0, 0, 0, 0,    // STDIN "hi", 6 bytes of padding
      1, 5, 0, 1, 0, 0, 0, 0,                                    // empty STDIN: end of body
    ]);
    expect(encoded).toEqual(expected);
  });

  it('clears FCGI_KEEP_CONN when asked not to keep the connection', () => {
    const encoded = encodeFastcgiRequest({ requestId: 7, vars: [], keepConn: false, endStdin: true });
    expect(encoded[FCGI_HEADER_LENGTH + 2]).toBe(0);
    expect(walk(encoded).map((r) => [r.type, r.requestId, r.content.length])).toEqual([
      [RecordType.BeginRequest, 7, 8],
      [RecordType.Params, 7, 0],
      [RecordType.Stdin, 7, 0],
    ]);
  });

  it('splits params over 64 KiB across PARAMS records and keeps every record 8-byte aligned', () => {
    const vars: Array<[string, string]> = [];
    for (let i = 0; i < 40; i++) vars.push([`HTTP_X_${i}`, 'v'.repeat(3000 + i)]);
    const encoded = encodeFastcgiRequest({ requestId: 1, vars, keepConn: true, endStdin: true });
    const records = walk(encoded);
    const params = records.filter((r) => r.type === RecordType.Params);
    expect(params.length).toBeGreaterThan(2);
    for (const r of params) expect(r.content.length).toBeLessThanOrEqual(0xffff);
    for (const r of records) expect((r.content.length + r.paddingLength) % 8).toBe(0);
    expect(params.at(-1)?.content.length).toBe(0);
    expect(decodeNameValuePairs(Buffer.concat(params.map((r) => r.content)))).toEqual(vars);
  });

  it('splits a body into STDIN records of at most 65528 bytes and omits the terminator when asked', () => {
    const body = Buffer.alloc(3 * FCGI_STREAM_RECORD_CONTENT + 100, 0x61);
    const encoded = encodeFastcgiRequest({
      requestId: 1,
      vars: [],
      keepConn: true,
      stdin: body,
      endStdin: false,
    });
    const stdin = walk(encoded).filter((r) => r.type === RecordType.Stdin);
    expect(stdin.map((r) => r.content.length)).toEqual([65528, 65528, 65528, 100]);
    expect(Buffer.concat(stdin.map((r) => r.content))).toEqual(body);
  });
});

describe('encodeFastcgiStdin / encodeFastcgiStdinEnd', () => {
  it('frames a streamed body piece and the end of the stream', () => {
    const piece = walk(encodeFastcgiStdin(3, Buffer.from('abc')));
    expect(piece).toEqual([
      { type: RecordType.Stdin, requestId: 3, content: Buffer.from('abc'), paddingLength: 5 },
    ]);
    expect(walk(encodeFastcgiStdinEnd(3))).toEqual([
      { type: RecordType.Stdin, requestId: 3, content: Buffer.alloc(0), paddingLength: 0 },
    ]);
  });
});
