// The gateway's one request-head parser: it reads every head of every HTTP/1.x connection, so
// each refusal must be the status nginx answers, and every head it accepts must carry the
// framing (Content-Length / chunked / Upgrade / 100-continue) the fast lane then reads by.

import { describe, expect, it } from 'vitest';
import { parseRequestHead, partialHeadRefusal } from '../../../../src/gateway/codecs/http-head.js';

const status = (head: string) => {
  const r = parseRequestHead(head);
  return 'refused' in r ? r.refused : 'ok';
};

describe('parseRequestHead', () => {
  it('takes a plain GET with its headers in order, names as sent, values trimmed', () => {
    expect(parseRequestHead('GET /a%20b?x=1 HTTP/1.1\r\nHost: gw.test\r\nX-A:  one \r\nx-a: two')).toEqual({
      method: 'GET',
      target: '/a%20b?x=1',
      httpVersion: '1.1',
      rawHeaders: ['Host', 'gw.test', 'X-A', 'one', 'x-a', 'two'],
      keepAlive: true,
      contentLength: 0,
      chunked: false,
      expectContinue: false,
      upgrade: false,
    });
  });

  it('takes every method token nginx takes — node-known (POST, PROPFIND) and extension (LABEL) alike — with its framing', () => {
    for (const m of ['POST', 'PUT', 'PROPFIND', 'LABEL', 'VERSION-CONTROL', 'MKREDIRECTREF', 'X_Y'])
      expect(parseRequestHead(`${m} / HTTP/1.1\r\nHost: a\r\nContent-Length: 7`)).toMatchObject({
        method: m,
        contentLength: 7,
        chunked: false,
      });
    expect(parseRequestHead('POST /v HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked')).toMatchObject({
      contentLength: 0,
      chunked: true,
    });
  });

  it('reads no body when the framing is one the guard refuses (two lengths, a bad one, CL with TE)', () => {
    for (const head of [
      'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1',
      'POST / HTTP/1.1\r\nContent-Length: -1',
      'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked',
    ])
      expect(parseRequestHead(head)).toMatchObject({ contentLength: 0 });
  });

  it('keep-alive follows RFC 9112 §9.3 for each version and Connection tokens', () => {
    const keep = (head: string) => (parseRequestHead(head) as { keepAlive: boolean }).keepAlive;
    expect(keep('GET / HTTP/1.1\r\nHost: a')).toBe(true);
    expect(keep('GET / HTTP/1.1\r\nHost: a\r\nConnection: close')).toBe(false);
    expect(keep('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close')).toBe(false);
    expect(keep('HEAD / HTTP/1.0')).toBe(false);
    expect(keep('GET / HTTP/1.0\r\nConnection: Keep-Alive')).toBe(true);
    expect(keep('GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close')).toBe(false);
  });

  it('an Upgrade needs the field and the Connection token; 100-continue only on HTTP/1.1', () => {
    const of = (head: string) => parseRequestHead(head) as { upgrade: boolean; expectContinue: boolean };
    expect(of('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade').upgrade).toBe(true);
    expect(of('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket').upgrade).toBe(false);
    expect(of('GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade').upgrade).toBe(false);
    expect(of('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue').expectContinue).toBe(true);
    expect(of('POST / HTTP/1.0\r\nExpect: 100-continue').expectContinue).toBe(false);
    expect(of('POST / HTTP/1.1\r\nHost: a\r\nExpect: other').expectContinue).toBe(false);
  });

  it.each([
    ['a method nginx refuses (digits)', 'M1 / HTTP/1.1\r\nHost: a', 400],
    ['a lower-case method', 'get / HTTP/1.1\r\nHost: a', 400],
    ['a method with a dot', 'A.B / HTTP/1.1\r\nHost: a', 400],
    ['RTSP/1.0 (llhttp read it as HTTP/1.0)', 'GET / RTSP/1.0\r\nHost: a', 400],
    ['ICE/1.0', 'SOURCE / ICE/1.0\r\nHost: a', 400],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: a', 505],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: a', 505],
    ['HTTP/0.9 style', 'GET /', 400],
    ['double space', 'GET  / HTTP/1.1\r\nHost: a', 400],
    ['a space inside the target', 'GET /a b HTTP/1.1\r\nHost: a', 400],
    ['a control byte in the target', 'GET /a\x01 HTTP/1.1\r\nHost: a', 400],
    ['CONNECT', 'CONNECT a:443 HTTP/1.1\r\nHost: a:443', 405],
    ['bare LF inside', 'GET / HTTP/1.1\r\nHost: a\nX-B: 1', 400],
    ['bare CR inside', 'GET / HTTP/1.1\r\nHost: a\rX-B: 1', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-B: 1\r\n  2', 400],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost : a', 400],
    ['no colon', 'GET / HTTP/1.1\r\nHost a', 400],
    ['NUL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-B: 1\u00002', 400],
    ['DEL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-B: 1\u007f', 400],
  ])('refuses %s (%s)', (_what, head, expected) => {
    expect(status(head)).toBe(expected);
  });

  it.each([
    ['absolute-form (the guard reads the authority)', 'GET http://a/ HTTP/1.1\r\nHost: a'],
    ['asterisk-form (the guard decides)', 'OPTIONS * HTTP/1.1\r\nHost: a'],
    ['obs-text in the target', 'GET /caf\u00e9 HTTP/1.1\r\nHost: a'],
    ['many fields (only max_header_size bounds them)', `GET / HTTP/1.1${'\r\nX-A: 1'.repeat(300)}`],
  ])('accepts %s', (_what, head) => {
    expect(status(head)).toBe('ok');
  });
});

describe('partialHeadRefusal (a head still arriving)', () => {
  it.each([
    ['G', null],
    ['GET / HT', null],
    ['GET / HTTP/1.1\r\nHo', null],
    ['POST / HTTP/1.1\r\n', null],
    ['LABEL /x HTTP/1.1\r\nHost: a\r\n', null],
    ['CONNECT a:443 HTTP/1.1\r\n', null],
    ['GET / HTTP/1.1\r\nHost: a\r\nX-Ok: 1\r\nX-Mo', null],
    ['get /', 400],
    ['\x16\x03\x01', 400],
    ['GET / HTTP/1.1\r\nBad Header\r\nX-More: ', 400],
    ['GET / HTTP/1.1\r\nX-A: a\x01b\r\n', 400],
    ['GET / HTTP/1.1\nHost: a', 400],
    ['GET / HTTP/1.1\r\nHost: a\n', 400],
    ['GET / RTSP/1.0\r\n', 400],
    ['GET / HTTP/3.0\r\n', 505],
  ])('%j → %s', (bytes, expected) => {
    expect(partialHeadRefusal(Buffer.from(bytes, 'latin1'))?.refused ?? null).toBe(expected);
  });
});
