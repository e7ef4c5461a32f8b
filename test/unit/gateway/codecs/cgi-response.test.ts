import { describe, expect, it } from 'vitest';
import { StackgenError } from '../../../../src/errors.js';
import {
  type ResponseHead,
  ResponseHeadDecoder,
  type ResponseHeadMode,
} from '../../../../src/gateway/codecs/cgi-response.js';
import { chunkings } from '../../../helpers/splits.js';

/** Feed chunks; return the head and the body bytes (head.rest + later chunks). */
function parse(
  chunks: Buffer[],
  mode: ResponseHeadMode = 'auto',
  max?: number,
): { head: ResponseHead; body: string } {
  const decoder = new ResponseHeadDecoder(mode, max);
  let head: ResponseHead | null = null;
  let body = '';
  for (const chunk of chunks) {
    if (head !== null) {
      body += chunk.toString('latin1');
      continue;
    }
    head = decoder.push(chunk);
    if (head !== null) body += head.rest.toString('latin1');
  }
  if (head === null) throw new Error('head incomplete');
  return { head, body };
}

function parseText(text: string, mode: ResponseHeadMode = 'auto'): ResponseHead {
  return parse([Buffer.from(text, 'latin1')], mode).head;
}

function malformed(text: string, mode: ResponseHeadMode = 'auto', max?: number): StackgenError {
  try {
    parse([Buffer.from(text, 'latin1')], mode, max);
  } catch (error) {
    expect(error).toBeInstanceOf(StackgenError);
    return error as StackgenError;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

const RAW =
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close, X-Hop\r\n' +
  'X-Hop: secret\r\nKeep-Alive: timeout=5\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello world';
const CGI = 'Status: 404 Not Found\nContent-Type: text/html\nX-Script: yes\n\n<h1>404</h1>';

describe('ResponseHeadDecoder — raw HTTP form (uWSGI, NPH)', () => {
  it('parses the same head and body for every chunk split and a one-byte-at-a-time feed', () => {
    const sample = Buffer.from(RAW, 'latin1');
    for (const { name, chunks } of chunkings(sample)) {
      const { head, body } = parse(chunks);
      expect({ ...head, rest: undefined }, name).toEqual({
        form: 'http',
        status: 200,
        statusText: 'OK',
        headers: [
          ['Content-Type', 'text/plain'],
          ['Content-Length', '11'],
          ['Set-Cookie', 'a=1'],
          ['Set-Cookie', 'b=2'],
        ],
        localRedirect: undefined,
        chunked: false,
        contentLength: 11,
        keepAlive: false,
        rest: undefined,
      });
      expect(body, name).toBe('hello world');
    }
  });

  it('says whether the connection may carry another exchange (RFC 9112 §9.3)', () => {
    const keep = (text: string, mode: ResponseHeadMode = 'auto') => parseText(text, mode).keepAlive;
    expect(keep('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')).toBe(true);
    expect(keep('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')).toBe(false);
    expect(keep('HTTP/1.1 200 OK\r\nConnection: X-Hop, Close\r\nX-Hop: 1\r\n\r\n')).toBe(false);
    expect(keep('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')).toBe(false);
    expect(keep('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')).toBe(true);
    // An interim 100 says nothing about the final answer's connection.
    expect(keep('HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\n\r\n')).toBe(true);
    // CGI heads have no connection to keep.
    expect(keep('Status: 200 OK\nContent-Length: 0\n\n')).toBe(false);
  });

  it('flags a chunked body, removing Transfer-Encoding and the overridden Content-Length (RFC 9112 §6.3)', () => {
    const head = parseText(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nX: y\r\n\r\n',
    );
    expect(head.chunked).toBe(true);
    expect(head.contentLength).toBeNull();
    expect(head.headers).toEqual([['X', 'y']]);
  });

  it('skips interim 1xx responses', () => {
    const head = parseText('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX: 1\r\n\r\n');
    expect([head.status, head.statusText, head.headers]).toEqual([201, 'Created', [['X', '1']]]);
  });

  it('keeps a custom reason phrase and fills an empty one from the status code', () => {
    expect(parseText('HTTP/1.1 418 Short And Stout\r\n\r\n').statusText).toBe('Short And Stout');
    expect(parseText('HTTP/1.0 503\r\n\r\n').statusText).toBe('Service Unavailable');
  });

  it('passes a Status header through untouched (only the CGI form gives it a meaning)', () => {
    const head = parseText('HTTP/1.1 200 OK\r\nStatus: 500 Oops\r\n\r\n');
    expect(head.status).toBe(200);
    expect(head.headers).toEqual([['Status', '500 Oops']]);
  });

  it('drops hop-by-hop fields (RFC 9110 §7.6.1), including the ones Connection names', () => {
    const head = parseText(
      'HTTP/1.1 200 OK\r\nConnection: X-Private\r\nX-Private: 1\r\nUpgrade: h2c\r\nTE: trailers\r\n' +
        'Trailer: X\r\nProxy-Connection: keep-alive\r\nX-Kept: 1\r\n\r\n',
    );
    expect(head.headers).toEqual([['X-Kept', '1']]);
  });
});

describe('ResponseHeadDecoder — CGI form (RFC 3875 §6)', () => {
  it('parses Status and LF line ends for every chunk split and a one-byte-at-a-time feed', () => {
    for (const { name, chunks } of chunkings(Buffer.from(CGI))) {
      const { head, body } = parse(chunks);
      expect([head.form, head.status, head.statusText, head.headers], name).toEqual([
        'cgi',
        404,
        'Not Found',
        [
          ['Content-Type', 'text/html'],
          ['X-Script', 'yes'],
        ],
      ]);
      expect(body, name).toBe('<h1>404</h1>');
    }
  });

  it('defaults to 200 OK without Status (§6.3.3) and accepts CRLF line ends', () => {
    const head = parseText('Content-Type: text/plain\r\n\r\n');
    expect([head.status, head.statusText]).toEqual([200, 'OK']);
  });

  it('detects a local redirect: local Location and no Status (§6.2.2)', () => {
    const head = parseText('Location: /other/path?x=1\n\n');
    expect(head.localRedirect).toBe('/other/path?x=1');
  });

  it('turns an absolute Location into a 302 client redirect (§6.2.3)', () => {
    const head = parseText('Location: https://example.com/\n\n');
    expect([head.status, head.localRedirect, head.headers]).toEqual([
      302,
      undefined,
      [['Location', 'https://example.com/']],
    ]);
  });

  it('treats a network-path Location (//host) as a client redirect, not a local one', () => {
    const head = parseText('Location: //evil.example/\n\n');
    expect([head.status, head.localRedirect]).toEqual([302, undefined]);
  });

  it('keeps the script’s Status with a Location (§6.2.4 client redirect with document)', () => {
    const head = parseText('Status: 301 Moved Permanently\nLocation: /new\n\n');
    expect([head.status, head.localRedirect]).toEqual([301, undefined]);
  });

  it('accepts a Status with no reason phrase', () => {
    expect(parseText('Status: 204\n\n').statusText).toBe('No Content');
  });

  it('reads a raw status line in auto mode but not in cgi mode', () => {
    expect(parseText('HTTP/1.1 200 OK\n\n', 'auto').form).toBe('http');
    expect(malformed('HTTP/1.1 200 OK\n\n', 'cgi').code).toBe('SG_ERR_UPSTREAM_MALFORMED');
  });
});

describe('ResponseHeadDecoder — malformed heads are SG_ERR_UPSTREAM_MALFORMED', () => {
  it.each([
    ['a line without a colon', 'Content-Type text/plain\n\n'],
    ['whitespace before the colon (RFC 9112 §5.1)', 'Content-Type : text/plain\n\n'],
    ['an empty field name', ': value\n\n'],
    ['obsolete line folding', 'X-A: 1\n  continued\n\n'],
    ['a NUL in a value', 'X-A: a\0b\n\n'],
    ['a bare CR in a value', 'X-A: a\rb\n\n'],
    ['a non-numeric Status', 'Status: abc\n\n'],
    ['a Status out of range', 'Status: 600 Nope\n\n'],
    ['a Status without a space before the reason', 'Status: 200OK\n\n'],
    ['two Status fields', 'Status: 200 OK\nStatus: 404 Not Found\n\n'],
    ['a bad Content-Length', 'Content-Length: 12a\n\n'],
    ['conflicting Content-Lengths', 'Content-Length: 1\nContent-Length: 2\n\n'],
    ['an unsupported transfer coding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n'],
    ['a status line with a bad code', 'HTTP/1.1 2x0 OK\r\n\r\n'],
    ['a status line without a space', 'HTTP/1.1200 OK\r\n\r\n'],
    ['an empty head', '\r\n'],
  ])('%s', (_name, text) => {
    const err = malformed(text);
    expect(err.code).toBe('SG_ERR_UPSTREAM_MALFORMED');
  });

  it('requires a status line in http mode (NPH)', () => {
    expect(malformed('Content-Type: text/plain\n\n', 'http').code).toBe('SG_ERR_UPSTREAM_MALFORMED');
  });

  it('bounds the head size, also when it arrives one byte at a time', () => {
    const huge = `X-Big: ${'a'.repeat(70_000)}\n\n`;
    expect(malformed(huge).code).toBe('SG_ERR_UPSTREAM_MALFORMED');
    const decoder = new ResponseHeadDecoder('cgi', 1024);
    let caught: unknown;
    try {
      for (const byte of Buffer.from(`X: ${'a'.repeat(2000)}`)) decoder.push(Buffer.from([byte]));
    } catch (error) {
      caught = error;
    }
    expect((caught as StackgenError).code).toBe('SG_ERR_UPSTREAM_MALFORMED');
    expect(decoder.headBytes).toBe(1025);
  });

  it('counts head bytes so a transport can tell "no output" from "cut inside the head"', () => {
    const decoder = new ResponseHeadDecoder();
    expect(decoder.headBytes).toBe(0);
    decoder.push(Buffer.from('Content-Ty'));
    expect(decoder.headBytes).toBe(10);
  });
});
