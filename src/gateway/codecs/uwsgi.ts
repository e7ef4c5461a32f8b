// The uwsgi wire protocol (https://uwsgi-docs.readthedocs.io/en/latest/Protocol.html), request side.
// A packet is a 4-byte header — modifier1 (u8) · datasize (u16 LE) · modifier2 (u8) — followed by
// `datasize` bytes of vars: repeated key length (u16 LE) · key · value length (u16 LE) · value.
// With modifier1 = 0 (WSGI) the request body follows the vars block unframed; the app reads
// CONTENT_LENGTH bytes of it.
//
// Keys and values are byte strings (one char = one octet, see cgi-env.ts), so a string's length
// is its size on the wire and encoding is a single latin1 copy.

import { StackgenError, UpstreamError } from '../../errors.js';

/** modifier1 0: the request is for a WSGI (Python) app (uwsgi Protocol, "uwsgi packet header"). */
export const UWSGI_MODIFIER_WSGI = 0;
export const UWSGI_HEADER_LENGTH = 4;
/** datasize is a u16: the vars block can never be larger than this. */
export const UWSGI_MAX_VARS_SIZE = 0xffff;

/** Size on the wire of the vars block for `vars` (without the 4-byte packet header). */
export function uwsgiVarsSize(vars: ReadonlyArray<readonly [string, string]>): number {
  let size = 0;
  for (const [key, value] of vars) size += 4 + key.length + value.length;
  return size;
}

/**
 * Encode a WSGI request packet: header + vars, then `body` (may be empty) copied after it, in ONE
 * Buffer so the transport can send a small request with a single write.
 */
export function encodeUwsgiRequest(
  vars: ReadonlyArray<readonly [string, string]>,
  body?: Buffer | undefined,
  modifier1 = UWSGI_MODIFIER_WSGI,
): Buffer {
  const varsSize = uwsgiVarsSize(vars);
  if (varsSize > UWSGI_MAX_VARS_SIZE) {
    // datasize is 16 bits: wrapping it would make uWSGI read garbage as vars and body.
    throw new UpstreamError(
      'SG_ERR_UPSTREAM_REQUEST_TOO_LARGE',
      `The request's uwsgi vars block is ${varsSize} bytes; the uwsgi protocol allows at most ${UWSGI_MAX_VARS_SIZE}.`,
      {
        hint:
          'Headers and cookies this large cannot be sent over uwsgi at all. Note that uWSGI itself only ' +
          'accepts 4096 bytes by default: raise its `buffer-size` option (max 65535) for big headers.',
        details: { varsSize },
        sentAnything: false,
      },
    );
  }
  const bodyLength = body === undefined ? 0 : body.length;
  const packet = Buffer.allocUnsafe(UWSGI_HEADER_LENGTH + varsSize + bodyLength);
  packet[0] = modifier1;
  packet.writeUInt16LE(varsSize, 1);
  packet[3] = 0;
  // The vars block as one byte string (u16 LE lengths as two chars), copied with ONE latin1
  // write: a write per key and value was ~2% of the gateway's CPU profile under load.
  let block = '';
  for (const [key, value] of vars) {
    if (key.length > UWSGI_MAX_VARS_SIZE || value.length > UWSGI_MAX_VARS_SIZE) {
      // Unreachable once the block fits, kept so a u16 length can never wrap.
      throw new StackgenError('SG_ERR_UPSTREAM_REQUEST_TOO_LARGE', `uwsgi var ${key} is too long.`);
    }
    block += u16le(key.length) + key + u16le(value.length) + value;
  }
  packet.write(block, UWSGI_HEADER_LENGTH, varsSize, 'latin1');
  if (body !== undefined) body.copy(packet, UWSGI_HEADER_LENGTH + varsSize);
  return packet;
}

/** A u16 as a two-char little-endian byte string. */
function u16le(n: number): string {
  return String.fromCharCode(n & 0xff, n >>> 8);
}

export interface UwsgiPacket {
  modifier1: number;
  modifier2: number;
  vars: Array<[string, string]>;
  /** Bytes after the vars block (the start of the request body). */
  rest: Buffer;
}

/** Decode a complete uwsgi request packet (for tests and round trips); throws SG_ERR_CODEC. */
export function decodeUwsgiPacket(packet: Buffer): UwsgiPacket {
  if (packet.length < UWSGI_HEADER_LENGTH) throw codecError('shorter than the 4-byte header');
  const varsSize = packet.readUInt16LE(1);
  const end = UWSGI_HEADER_LENGTH + varsSize;
  if (packet.length < end)
    throw codecError(`vars block says ${varsSize} bytes, only ${packet.length - 4} present`);
  const vars: Array<[string, string]> = [];
  let offset = UWSGI_HEADER_LENGTH;
  while (offset < end) {
    const key = readString(packet, offset, end);
    offset += 2 + key.length;
    const value = readString(packet, offset, end);
    offset += 2 + value.length;
    vars.push([key, value]);
  }
  return { modifier1: packet[0]!, modifier2: packet[3]!, vars, rest: packet.subarray(end) };
}

function readString(packet: Buffer, offset: number, end: number): string {
  if (offset + 2 > end) throw codecError(`truncated length at byte ${offset}`);
  const length = packet.readUInt16LE(offset);
  if (offset + 2 + length > end) throw codecError(`string at byte ${offset} overruns the vars block`);
  return packet.toString('latin1', offset + 2, offset + 2 + length);
}

function codecError(what: string): StackgenError {
  return new StackgenError('SG_ERR_CODEC', `Malformed uwsgi packet: ${what}.`);
}
