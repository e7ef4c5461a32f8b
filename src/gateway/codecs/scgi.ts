// The SCGI protocol (http://python.ca/scgi/protocol.txt), request side. A request is a netstring
// of headers — `<length>:` name NUL value NUL ... `,` — followed by the body. The spec requires:
// "The first request header must have the name CONTENT_LENGTH" and "A request header with the
// name SCGI and value 1 must be present", and forbids duplicate names. Names and values are
// NUL-terminated, so a NUL inside one would let a client forge a header: refused here.
// Names and values are byte strings (one char = one octet, see cgi-env.ts).

import { StackgenError, UpstreamError } from '../../errors.js';

const COLON = 0x3a;
const COMMA = 0x2c;

/**
 * Encode an SCGI request: the header netstring with CONTENT_LENGTH first and SCGI=1, then `body`
 * (if given) in the same Buffer so a small request leaves in one write.
 */
export function encodeScgiRequest(vars: ReadonlyArray<readonly [string, string]>, body?: Buffer): Buffer {
  let contentLength = '0';
  let size = 0;
  for (const [name, value] of vars) {
    if (name === 'CONTENT_LENGTH') {
      contentLength = value;
      continue;
    }
    if (name === 'SCGI') continue;
    if (name.includes('\0') || value.includes('\0')) {
      throw new UpstreamError(
        'SG_ERR_CLIENT_BAD_REQUEST',
        `SCGI variable ${JSON.stringify(name)} contains NUL.`,
        {
          hint: 'SCGI separates names and values with NUL bytes; the request cannot be forwarded.',
          sentAnything: false,
        },
      );
    }
    size += name.length + value.length + 2;
  }
  // "CONTENT_LENGTH\0<n>\0SCGI\01\0": the two mandatory headers, always first.
  size += 15 + contentLength.length + 1 + 7;
  const prefix = `${size}:`;
  const bodyLength = body === undefined ? 0 : body.length;
  const out = Buffer.allocUnsafe(prefix.length + size + 1 + bodyLength);
  let offset = out.write(prefix, 0, 'latin1');
  offset += out.write('CONTENT_LENGTH\0', offset, 'latin1');
  offset += out.write(contentLength, offset, 'latin1');
  offset += out.write('\0SCGI\x001\0', offset, 'latin1');
  for (const [name, value] of vars) {
    if (name === 'CONTENT_LENGTH' || name === 'SCGI') continue;
    offset += out.write(name, offset, 'latin1');
    out[offset++] = 0;
    offset += out.write(value, offset, 'latin1');
    out[offset++] = 0;
  }
  out[offset++] = COMMA;
  if (body !== undefined) body.copy(out, offset);
  return out;
}

export interface ScgiRequest {
  vars: Array<[string, string]>;
  /** Bytes after the netstring (the start of the body). */
  rest: Buffer;
}

/** Decode a complete SCGI request (for tests and round trips); throws SG_ERR_CODEC. */
export function decodeScgiRequest(packet: Buffer): ScgiRequest {
  const colon = packet.indexOf(COLON);
  if (colon <= 0 || colon > 10) throw codecError('no netstring length');
  const lengthText = packet.toString('latin1', 0, colon);
  if (!/^(0|[1-9][0-9]*)$/.test(lengthText)) throw codecError(`bad netstring length ${lengthText}`);
  const length = Number(lengthText);
  const start = colon + 1;
  const end = start + length;
  if (packet.length <= end) throw codecError('truncated netstring');
  if (packet[end] !== COMMA) throw codecError('netstring does not end with a comma');
  const vars: Array<[string, string]> = [];
  let offset = start;
  while (offset < end) {
    const nameEnd = packet.indexOf(0, offset);
    if (nameEnd < 0 || nameEnd >= end) throw codecError('name without NUL');
    const valueEnd = packet.indexOf(0, nameEnd + 1);
    if (valueEnd < 0 || valueEnd >= end) throw codecError('value without NUL');
    vars.push([packet.toString('latin1', offset, nameEnd), packet.toString('latin1', nameEnd + 1, valueEnd)]);
    offset = valueEnd + 1;
  }
  if (vars[0]?.[0] !== 'CONTENT_LENGTH') throw codecError('the first header is not CONTENT_LENGTH');
  return { vars, rest: packet.subarray(end + 1) };
}

function codecError(what: string): StackgenError {
  return new StackgenError('SG_ERR_CODEC', `Malformed SCGI request: ${what}.`);
}
