// gzip.ts: which answers nginx's gzip filter would compress, and the head of a compressed one.

import { describe, expect, it } from 'vitest';
import { compressibleType, gzipHeaders, shouldGzip } from '../../../src/gateway/gzip.js';

const GET = { method: 'GET', httpVersion: '1.1', acceptEncoding: 'gzip, deflate, br' };
const TEXT = ['Content-Type', 'text/html; charset=utf-8', 'Content-Length', '5000'];

describe('shouldGzip', () => {
  it('compresses a large text answer for a client that accepts gzip', () => {
    expect(shouldGzip(GET, 200, TEXT)).toBe(true);
    expect(shouldGzip(GET, 404, TEXT)).toBe(true);
  });
  it('compresses a stream (no Content-Length) whatever its size', () => {
    expect(shouldGzip(GET, 200, ['Content-Type', 'text/event-stream'])).toBe(true);
  });
  it('leaves an answer below gzip_min_length alone', () => {
    expect(shouldGzip(GET, 200, ['Content-Type', 'text/plain', 'Content-Length', '1023'])).toBe(false);
    expect(shouldGzip(GET, 200, ['Content-Type', 'text/plain', 'Content-Length', '1024'])).toBe(true);
  });
  it('respects the client: no Accept-Encoding, gzip;q=0, another coding only', () => {
    for (const acceptEncoding of [undefined, 'gzip;q=0', 'gzip; q=0.000, br', 'br', 'identity'])
      expect(shouldGzip({ ...GET, acceptEncoding }, 200, TEXT), String(acceptEncoding)).toBe(false);
    expect(shouldGzip({ ...GET, acceptEncoding: 'br;q=1, GZIP;q=0.5' }, 200, TEXT)).toBe(true);
  });
  it('never for HEAD or an HTTP/1.0 request (gzip_http_version 1.1)', () => {
    expect(shouldGzip({ ...GET, method: 'HEAD' }, 200, TEXT)).toBe(false);
    expect(shouldGzip({ ...GET, httpVersion: '1.0' }, 200, TEXT)).toBe(false);
  });
  it('only for 200, 403 and 404 (never 1xx, 204, 206, 304, redirects or 5xx)', () => {
    for (const status of [101, 204, 206, 301, 304, 500, 502])
      expect(shouldGzip(GET, status, TEXT)).toBe(false);
    expect(shouldGzip(GET, 403, TEXT)).toBe(true);
  });
  it('never twice, nor where Cache-Control says no-transform', () => {
    expect(shouldGzip(GET, 200, [...TEXT, 'Content-Encoding', 'gzip'])).toBe(false);
    expect(shouldGzip(GET, 200, [...TEXT, 'content-encoding', 'br'])).toBe(false);
    expect(shouldGzip(GET, 200, [...TEXT, 'Content-Encoding', 'identity'])).toBe(true);
    expect(shouldGzip(GET, 200, [...TEXT, 'Cache-Control', 'public, no-transform'])).toBe(false);
    expect(shouldGzip(GET, 200, [...TEXT, 'Cache-Control', 'no-cache'])).toBe(true);
  });
  it('only for text types', () => {
    expect(shouldGzip(GET, 200, ['Content-Type', 'image/png', 'Content-Length', '5000'])).toBe(false);
    expect(shouldGzip(GET, 200, ['Content-Length', '5000'])).toBe(false);
  });
});

describe('compressibleType', () => {
  it("takes text/*, nginx's gzip_types and +json/+xml, not media that is compressed already", () => {
    for (const t of [
      'text/plain',
      'text/css; charset=utf-8',
      'Application/JSON',
      'application/javascript',
      'application/problem+json',
      'application/xml',
      'application/atom+xml',
      'image/svg+xml',
      'application/wasm',
    ])
      expect(compressibleType(t), t).toBe(true);
    for (const t of [
      'image/png',
      'image/jpeg',
      'font/woff2',
      'application/zip',
      'application/octet-stream',
      'video/mp4',
    ])
      expect(compressibleType(t), t).toBe(false);
    expect(compressibleType(undefined)).toBe(false);
  });
});

describe('gzipHeaders', () => {
  it('drops Content-Length and Accept-Ranges, adds Content-Encoding and Vary, weakens a strong ETag', () => {
    expect(
      gzipHeaders([
        'Content-Type',
        'text/plain',
        'Content-Length',
        '5000',
        'Accept-Ranges',
        'bytes',
        'ETag',
        '"abc"',
      ]),
    ).toEqual([
      'Content-Type',
      'text/plain',
      'ETag',
      'W/"abc"',
      'Vary',
      'Accept-Encoding',
      'Content-Encoding',
      'gzip',
    ]);
  });
  it('keeps a weak ETag as it is', () => {
    expect(gzipHeaders(['ETag', 'W/"abc"'])).toContain('W/"abc"');
  });
  it('merges Accept-Encoding into an existing Vary once', () => {
    expect(gzipHeaders(['Vary', 'Cookie'])).toEqual([
      'Vary',
      'Cookie, Accept-Encoding',
      'Content-Encoding',
      'gzip',
    ]);
    expect(gzipHeaders(['vary', 'accept-encoding, Cookie'])).toEqual([
      'vary',
      'accept-encoding, Cookie',
      'Content-Encoding',
      'gzip',
    ]);
    expect(gzipHeaders(['Vary', '*'])).toEqual(['Vary', '*', 'Content-Encoding', 'gzip']);
  });
});
