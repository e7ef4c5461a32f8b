import { describe, expect, it } from 'vitest';
import { StackgenError } from '../../../../../src/errors.js';
import { RecordType, writeRecordHeader } from '../../../../../src/gateway/codecs/fastcgi/header.js';
import { type FastcgiEvent, FastcgiRecordDecoder } from '../../../../../src/gateway/codecs/fastcgi/reader.js';
import { ProtocolStatus, endRequestError } from '../../../../../src/gateway/codecs/fastcgi/record.js';
import { chunkings } from '../../../../helpers/splits.js';

function record(
  type: RecordType,
  content: Buffer,
  padding = (8 - (content.length % 8)) % 8,
  requestId = 1,
): Buffer {
  const out = Buffer.alloc(8 + content.length + padding);
  writeRecordHeader(out, 0, type, requestId, content.length, padding);
  content.copy(out, 8);
  return out;
}

function endRequest(appStatus: number, protocolStatus: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus, 0);
  body[4] = protocolStatus;
  return record(RecordType.EndRequest, body);
}

/** What a responder sends: stdout in two records, stderr, a management record, the end. */
const SAMPLE = Buffer.concat([
  record(RecordType.Stdout, Buffer.from('Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n')),
  record(RecordType.Stderr, Buffer.from('warning\n'), 3),
  record(RecordType.Stdout, Buffer.from('hello world'), 0),
  record(RecordType.GetValuesResult, Buffer.from([1, 1, 0x41, 0x31])),
  record(RecordType.Stdout, Buffer.alloc(0)),
  record(RecordType.Stderr, Buffer.alloc(0)),
  endRequest(0x01020304, ProtocolStatus.RequestComplete),
]);

function decodeAll(chunks: Buffer[]): { stdout: string; stderr: string; ends: FastcgiEvent[] } {
  const decoder = new FastcgiRecordDecoder();
  let stdout = '';
  let stderr = '';
  const ends: FastcgiEvent[] = [];
  for (const chunk of chunks) {
    for (const event of decoder.push(chunk)) {
      if (event.type === RecordType.Stdout) stdout += event.data.toString();
      else if (event.type === RecordType.Stderr) stderr += event.data.toString();
      else ends.push(event);
    }
  }
  expect(decoder.atRecordBoundary).toBe(true);
  return { stdout, stderr, ends };
}

describe('FastcgiRecordDecoder', () => {
  it('decodes the same events for every chunk split and a one-byte-at-a-time feed', () => {
    let runs = 0;
    for (const { name, chunks } of chunkings(SAMPLE)) {
      const result = decodeAll(chunks);
      expect(result, name).toEqual({
        stdout: 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world',
        stderr: 'warning\n',
        ends: [{ type: RecordType.EndRequest, requestId: 1, appStatus: 0x01020304, protocolStatus: 0 }],
      });
      runs++;
    }
    expect(runs).toBe(SAMPLE.length + 1);
  });

  it('hands stdout out as slices of the input (no copy)', () => {
    const sample = record(RecordType.Stdout, Buffer.from('abcdefgh'));
    const [event] = new FastcgiRecordDecoder().push(sample);
    expect(event?.type === RecordType.Stdout && event.data.buffer).toBe(sample.buffer);
  });

  it('rejects a record with another version as SG_ERR_UPSTREAM_MALFORMED', () => {
    const bad = record(RecordType.Stdout, Buffer.from('x'));
    bad[0] = 2;
    expect(() => new FastcgiRecordDecoder().push(bad)).toThrow(
      expect.objectContaining({ code: 'SG_ERR_UPSTREAM_MALFORMED' }),
    );
  });

  it('rejects an HTTP answer on a FastCGI socket as SG_ERR_UPSTREAM_MALFORMED', () => {
    expect(() => new FastcgiRecordDecoder().push(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))).toThrow(
      StackgenError,
    );
  });

  it('rejects an END_REQUEST whose body is not 8 bytes', () => {
    expect(() => new FastcgiRecordDecoder().push(record(RecordType.EndRequest, Buffer.alloc(4)))).toThrow(
      expect.objectContaining({ code: 'SG_ERR_UPSTREAM_MALFORMED' }),
    );
  });
});

describe('endRequestError', () => {
  it('is null for FCGI_REQUEST_COMPLETE', () => {
    expect(endRequestError({ appStatus: 1, protocolStatus: ProtocolStatus.RequestComplete })).toBeNull();
  });

  it.each([
    [ProtocolStatus.CantMpxConn, 'FCGI_CANT_MPX_CONN'],
    [ProtocolStatus.Overloaded, 'FCGI_OVERLOADED'],
    [ProtocolStatus.UnknownRole, 'FCGI_UNKNOWN_ROLE'],
    [9, 'unknown protocolStatus 9'],
  ])('maps protocolStatus %i to SG_ERR_UPSTREAM_REJECTED (%s), safe to retry', (status, text) => {
    const err = endRequestError({ appStatus: 0, protocolStatus: status });
    expect(err?.code).toBe('SG_ERR_UPSTREAM_REJECTED');
    expect(err?.message).toContain(text);
    expect(err).toMatchObject({ sentAnything: false });
  });
});
