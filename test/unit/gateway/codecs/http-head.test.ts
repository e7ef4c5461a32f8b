// The fast lane's head parser: it must accept only plain GET/HEAD heads and say null (hand the
// bytes to node:http) for everything else — a wrong "yes" would bypass llhttp's checks.

import { describe, expect, it } from 'vitest';
import {
  mayBecomeSimpleHead,
  parseSimpleHead,
  refuseRequestLine,
} from '../../../../src/gateway/codecs/http-head.js';

describe('parseSimpleHead', () => {
  it('takes a plain GET with its headers in order, names as sent, values trimmed', () => {
    expect(parseSimpleHead('GET /a%20b?x=1 HTTP/1.1\r\nHost: gw.test\r\nX-A:  one \r\nx-a: two')).toEqual({
      method: 'GET',
      target: '/a%20b?x=1',
      httpVersion: '1.1',
      rawHeaders: ['Host', 'gw.test', 'X-A', 'one', 'x-a', 'two'],
      keepAlive: true,
      contentLength: 0,
      chunked: false,
    });
  });

  it('takes an extension method node cannot parse, with its Content-Length body (nginx passes them)', () => {
    expect(parseSimpleHead('LABEL /v HTTP/1.1\r\nHost: a\r\nContent-Length: 7')).toMatchObject({
      method: 'LABEL',
      contentLength: 7,
      rawHeaders: ['Host', 'a', 'Content-Length', '7'],
    });
    expect(parseSimpleHead('LABEL /v HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked')).toMatchObject({
      contentLength: 0,
      chunked: true,
    });
    // Both framings: no body is read; the guard refuses the request (400) and the connection closes.
    expect(
      parseSimpleHead('LABEL /v HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked'),
    ).toMatchObject({
      contentLength: 0,
      chunked: false,
    });
    for (const m of [
      'VERSION-CONTROL',
      'MKWORKSPACE',
      'ORDERPATCH',
      'MKREDIRECTREF',
      'BASELINE-CONTROL',
      'X_Y',
    ])
      expect(parseSimpleHead(`${m} / HTTP/1.1\r\nHost: a`)?.method).toBe(m);
  });

  it.each([
    [
      'an extension method with another transfer coding',
      'LABEL / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked',
    ],
    [
      'an extension method with two Content-Lengths',
      'LABEL / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1',
    ],
    ['an extension method with a bad Content-Length', 'LABEL / HTTP/1.1\r\nContent-Length: -1'],
    ['a method nginx refuses (digits, lower case)', 'M1 / HTTP/1.1\r\nHost: a'],
    ['a method node parses (its own lane)', 'PROPFIND / HTTP/1.1\r\nHost: a'],
  ])('hands over %s', (_what, head) => {
    expect(parseSimpleHead(head)).toBeNull();
  });

  it('keep-alive follows RFC 9112 §9.3 for each version and Connection tokens', () => {
    const keep = (head: string) => parseSimpleHead(head)?.keepAlive;
    expect(keep('GET / HTTP/1.1\r\nHost: a')).toBe(true);
    expect(keep('GET / HTTP/1.1\r\nHost: a\r\nConnection: close')).toBe(false);
    expect(keep('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close')).toBe(false);
    expect(keep('HEAD / HTTP/1.0')).toBe(false);
    expect(keep('GET / HTTP/1.0\r\nConnection: Keep-Alive')).toBe(true);
    expect(keep('GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close')).toBe(false);
  });

  it.each([
    ['a method with a body', 'POST / HTTP/1.1\r\nHost: a'],
    ['another method', 'OPTIONS * HTTP/1.1\r\nHost: a'],
    ['lower-case method', 'get / HTTP/1.1\r\nHost: a'],
    ['absolute-form target', 'GET http://a/ HTTP/1.1\r\nHost: a'],
    ['non-ASCII in the target', 'GET /caf\u00e9 HTTP/1.1\r\nHost: a'],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: a'],
    ['HTTP/0.9 style', 'GET /'],
    ['double space', 'GET  / HTTP/1.1\r\nHost: a'],
    ['Content-Length, even 0', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0'],
    ['Transfer-Encoding', 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked'],
    ['Expect', 'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue'],
    ['Upgrade', 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade'],
    ['Connection: upgrade alone', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade'],
    ['bare LF inside', 'GET / HTTP/1.1\r\nHost: a\nX-B: 1'],
    ['bare CR inside', 'GET / HTTP/1.1\r\nHost: a\rX-B: 1'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-B: 1\r\n  2'],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost : a'],
    ['no colon', 'GET / HTTP/1.1\r\nHost a'],
    ['NUL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-B: 1\u00002'],
    ['DEL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-B: 1\u007f'],
    ['empty field line', 'GET / HTTP/1.1\r\n\r\nHost: a'],
    ['too many fields', `GET / HTTP/1.1${'\r\nX-A: 1'.repeat(101)}`],
  ])('hands over %s', (_what, head) => {
    expect(parseSimpleHead(head)).toBeNull();
  });
});

describe('mayBecomeSimpleHead (a head still arriving)', () => {
  it.each([
    ['G', true],
    ['GET / HT', true],
    ['GET / HTTP/1.1\r\nHo', true],
    ['POST / HTTP/1.1\r\n', false],
    ['PUT /x', false],
    ['LAB', true],
    ['LABEL /x', true],
    ['LABEL /x HTTP/1.1\r\nHost: a\r\n', true],
    ['get /', false],
    ['\x16\x03\x01', false],
    ['GET / HTTP/1.1\r\nBad Header\r\nX-More: ', false],
    ['GET / HTTP/1.1\r\nX-A: a\x01b\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nX-Ok: 1\r\nX-Mo', true],
    ['GET / HTTP/1.1\nHost: a', false],
    ['GET / HTTP/1.1\r\nHost: a\n', false],
    ['GET / HTTP/3.0\r\n', false],
  ])('%j → %s', (bytes, expected) => {
    expect(mayBecomeSimpleHead(Buffer.from(bytes, 'latin1'))).toBe(expected);
  });
});

describe('refuseRequestLine (llhttp would take these for HTTP/1.0)', () => {
  it.each([
    ['GET / RTSP/1.0', 400],
    ['SOURCE / ICE/1.0', 400],
    ['OPTIONS * RTSP/2.0', 400],
    ['GET / HTTP/1.0', null],
    ['GET / HTTP/1.1', null],
    ['GET / HTTP/2.0', null],
    ['GET /', null],
  ])('%j → %s', (line, status) => {
    expect(refuseRequestLine(line)).toBe(status);
  });
});
