import { describe, expect, it } from 'vitest';
import { type GuardInput, guardRequest, normalisePath } from '../../../src/gateway/request-guard.js';

const base: GuardInput = { method: 'GET', httpVersion: '1.1', url: '/', rawHeaders: ['Host', 'example.com'] };
const req = (over: Partial<GuardInput>): GuardInput => ({ ...base, ...over });

// [name, request, expected status (null = accepted)]
const TABLE: Array<[string, GuardInput, 400 | 501 | 505 | null]> = [
  ['plain GET', base, null],
  ['HTTP/1.0 without Host', req({ httpVersion: '1.0', rawHeaders: [] }), null],
  ['HTTP/0.9', req({ httpVersion: '0.9', rawHeaders: [] }), 400],
  ['HTTP/2.0 request line', req({ httpVersion: '2.0' }), 505],
  ['HTTP/1.1 without Host (RFC 9112 §3.2)', req({ rawHeaders: [] }), 400],
  ['HTTP/1.1 with empty Host', req({ rawHeaders: ['Host', ''] }), 400],
  ['duplicate Host', req({ rawHeaders: ['Host', 'a', 'host', 'b'] }), 400],
  ['Host with a space', req({ rawHeaders: ['Host', 'a b'] }), 400],
  ['Host with a slash', req({ rawHeaders: ['Host', 'a/b'] }), 400],
  ['Host with a port', req({ rawHeaders: ['Host', 'a.example:8080'] }), null],
  ['Host as IPv6 literal', req({ rawHeaders: ['Host', '[::1]:8080'] }), null],
  ['TE chunked', req({ method: 'POST', rawHeaders: ['Host', 'a', 'Transfer-Encoding', 'chunked'] }), null],
  ['TE gzip (501)', req({ method: 'POST', rawHeaders: ['Host', 'a', 'Transfer-Encoding', 'gzip'] }), 501],
  ['TE gzip, chunked (501)', req({ rawHeaders: ['Host', 'a', 'Transfer-Encoding', 'gzip, chunked'] }), 501],
  [
    'TE chunked twice (501)',
    req({ rawHeaders: ['Host', 'a', 'Transfer-Encoding', 'chunked, chunked'] }),
    501,
  ],
  [
    'TE in two header lines',
    req({
      rawHeaders: ['Host', 'a', 'TE', 'x', 'Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'],
    }),
    501,
  ],
  ['TE on HTTP/1.0', req({ httpVersion: '1.0', rawHeaders: ['Transfer-Encoding', 'chunked'] }), 400],
  [
    'CL and TE (RFC 9112 §6.3 smuggling)',
    req({ rawHeaders: ['Host', 'a', 'Content-Length', '3', 'Transfer-Encoding', 'chunked'] }),
    400,
  ],
  [
    'duplicate Content-Length',
    req({ rawHeaders: ['Host', 'a', 'Content-Length', '3', 'Content-Length', '3'] }),
    400,
  ],
  ['negative Content-Length', req({ rawHeaders: ['Host', 'a', 'Content-Length', '-1'] }), 400],
  ['NUL via %00', req({ url: '/a%00b' }), 400],
  ['malformed escape', req({ url: '/a%zzb' }), 400],
  ['truncated escape', req({ url: '/a%4' }), 400],
  ['invalid UTF-8 after decoding', req({ url: '/a%ff' }), 400],
  ['dot segments above root', req({ url: '/../etc/passwd' }), 400],
  ['encoded dot segments above root', req({ url: '/a/%2e%2e/%2E%2E/etc' }), 400],
  ['dot segments staying below root', req({ url: '/a/b/../c' }), null],
  ['asterisk-form', req({ url: '*' }), 400],
  ['authority-form', req({ url: 'example.com:443' }), 400],
  ['absolute-form', req({ url: 'http://example.com/x?y=1' }), null],
  ['absolute-form with userinfo', req({ url: 'http://u@example.com/x' }), 400],
  ['absolute-form with bad authority', req({ url: 'http://exa mple/x' }), 400],
];

describe('guardRequest', () => {
  it.each(TABLE)('%s', (_name, input, status) => {
    const result = guardRequest(input);
    if (status === null) expect(result).toMatchObject({ ok: true });
    else expect(result).toMatchObject({ ok: false, status });
  });

  it('normalises the path as nginx does (merge_slashes + dot segments) and decodes it', () => {
    const r = guardRequest(req({ url: '/a//b/./c/../caf%C3%A9?x=%2F' }));
    expect(r).toMatchObject({
      ok: true,
      path: '/a/b/café',
      rawPath: '/a//b/./c/../caf%C3%A9',
      query: 'x=%2F',
    });
  });

  it('keeps %2F encoded in the boundary-check path only', () => {
    const r = guardRequest(req({ url: '/app%2Fadmin' }));
    expect(r).toMatchObject({ ok: true, path: '/app/admin', pathKeepingEncodedSlashes: '/app%2Fadmin' });
  });

  it('uses the absolute-form authority instead of Host (RFC 9112 §3.2.2) and reduces the target', () => {
    const r = guardRequest(req({ url: 'http://Other.example:81/p?q', rawHeaders: ['Host', 'example.com'] }));
    expect(r).toMatchObject({
      ok: true,
      host: 'Other.example:81',
      rawTarget: '/p?q',
      rawPath: '/p',
      query: 'q',
    });
  });

  it('drops header names nginx ignores (underscores, invalid characters)', () => {
    const r = guardRequest(
      req({ rawHeaders: ['Host', 'a', 'X_Forwarded_For', 'spoof', 'X-Ok', '1', 'Bad Name', 'v'] }),
    );
    expect(r.ok && r.rawHeaders).toEqual(['Host', 'a', 'X-Ok', '1']);
  });

  it('reports framing facts for the body reader', () => {
    const r = guardRequest(req({ method: 'POST', rawHeaders: ['Host', 'a', 'Content-Length', '42'] }));
    expect(r).toMatchObject({ ok: true, chunked: false, contentLength: 42 });
  });
});

describe('normalisePath', () => {
  it.each([
    ['/', '/'],
    ['//', '/'],
    ['/a//b///c', '/a/b/c'],
    ['/a/./b', '/a/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/../', '/a/'],
    ['/a/.', '/a/'],
    ['/a/..', '/'],
    ['/..', null],
    ['/a/../..', null],
    ['/a/...', '/a/...'],
  ])('%s → %s', (input, expected) => {
    expect(normalisePath(input)).toBe(expected);
  });
});
