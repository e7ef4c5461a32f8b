// Encodes what the gateway sends on a FastCGI connection for one RESPONDER request
// (FastCGI Specification §6.2): FCGI_BEGIN_REQUEST, the FCGI_PARAMS stream ended by an empty
// FCGI_PARAMS record, then the FCGI_STDIN stream ended by an empty FCGI_STDIN record
// ("the Web server sends [...] an empty FCGI_STDIN record to signal end of the stream", §3.3).
// Sizes are computed first so each call allocates exactly one Buffer: a request with a small
// body leaves in a single socket write.

import { FCGI_HEADER_LENGTH, RecordType, paddingFor, writeRecordHeader } from './header.js';
import { nameValuePairsSize, writeNameValuePairs } from './params.js';
import { BEGIN_REQUEST_BODY_LENGTH, Role, writeBeginRequestBody } from './record.js';

/**
 * Content bytes per stream record. The u16 limit is 65535; 65528 is the largest multiple of 8,
 * so full records need no padding and only the last one of a stream is padded.
 */
export const FCGI_STREAM_RECORD_CONTENT = 65528;

export interface FastcgiRequestParts {
  requestId: number;
  vars: ReadonlyArray<readonly [string, string]>;
  /** §5.1 FCGI_KEEP_CONN: ask the application to keep the connection open after the request. */
  keepConn: boolean;
  /** Body bytes to send as FCGI_STDIN in the same Buffer (omit to stream them separately). */
  stdin?: Buffer | undefined;
  /** Also close the STDIN stream (true when `stdin` is the whole body, including no body). */
  endStdin: boolean;
}

/** Size of `length` bytes of stream content split into padded records (no terminator). */
function streamRecordsSize(length: number): number {
  const full = Math.floor(length / FCGI_STREAM_RECORD_CONTENT);
  const last = length - full * FCGI_STREAM_RECORD_CONTENT;
  let size = full * (FCGI_HEADER_LENGTH + FCGI_STREAM_RECORD_CONTENT);
  if (last > 0) size += FCGI_HEADER_LENGTH + last + paddingFor(last);
  return size;
}

/** Write `source` as stream records of `type`; returns the offset just after them. */
function writeStreamRecords(
  out: Buffer,
  offset: number,
  type: RecordType,
  requestId: number,
  source: Buffer,
): number {
  for (let start = 0; start < source.length; start += FCGI_STREAM_RECORD_CONTENT) {
    const end = Math.min(start + FCGI_STREAM_RECORD_CONTENT, source.length);
    const length = end - start;
    const padding = paddingFor(length);
    offset = writeRecordHeader(out, offset, type, requestId, length, padding);
    offset += source.copy(out, offset, start, end);
    out.fill(0, offset, offset + padding);
    offset += padding;
  }
  return offset;
}

/** Encode BEGIN_REQUEST + PARAMS (+ terminator) + optional STDIN (+ terminator) in one Buffer. */
export function encodeFastcgiRequest(parts: FastcgiRequestParts): Buffer {
  const { requestId, vars, keepConn, stdin, endStdin } = parts;
  const paramsLength = nameValuePairsSize(vars);
  const stdinLength = stdin === undefined ? 0 : stdin.length;
  const size =
    FCGI_HEADER_LENGTH +
    BEGIN_REQUEST_BODY_LENGTH +
    streamRecordsSize(paramsLength) +
    FCGI_HEADER_LENGTH +
    streamRecordsSize(stdinLength) +
    (endStdin ? FCGI_HEADER_LENGTH : 0);
  const out = Buffer.allocUnsafe(size);
  let offset = writeRecordHeader(out, 0, RecordType.BeginRequest, requestId, BEGIN_REQUEST_BODY_LENGTH, 0);
  offset = writeBeginRequestBody(out, offset, Role.Responder, keepConn);
  if (paramsLength <= FCGI_STREAM_RECORD_CONTENT) {
    // The common case: all params fit one record, written in place with no temporary buffer.
    if (paramsLength > 0) {
      const padding = paddingFor(paramsLength);
      offset = writeRecordHeader(out, offset, RecordType.Params, requestId, paramsLength, padding);
      offset = writeNameValuePairs(out, offset, vars);
      out.fill(0, offset, offset + padding);
      offset += padding;
    }
  } else {
    // PARAMS is a stream (§3.3): a pair may straddle two records, so split the encoded bytes.
    const params = Buffer.allocUnsafe(paramsLength);
    writeNameValuePairs(params, 0, vars);
    offset = writeStreamRecords(out, offset, RecordType.Params, requestId, params);
  }
  offset = writeRecordHeader(out, offset, RecordType.Params, requestId, 0, 0);
  if (stdin !== undefined) offset = writeStreamRecords(out, offset, RecordType.Stdin, requestId, stdin);
  if (endStdin) writeRecordHeader(out, offset, RecordType.Stdin, requestId, 0, 0);
  return out;
}

/** Encode a piece of the request body as FCGI_STDIN records (for streamed bodies). */
export function encodeFastcgiStdin(requestId: number, chunk: Buffer): Buffer {
  const out = Buffer.allocUnsafe(streamRecordsSize(chunk.length));
  writeStreamRecords(out, 0, RecordType.Stdin, requestId, chunk);
  return out;
}

/** The empty FCGI_STDIN record that ends the body stream. */
export function encodeFastcgiStdinEnd(requestId: number): Buffer {
  const out = Buffer.allocUnsafe(FCGI_HEADER_LENGTH);
  writeRecordHeader(out, 0, RecordType.Stdin, requestId, 0, 0);
  return out;
}
