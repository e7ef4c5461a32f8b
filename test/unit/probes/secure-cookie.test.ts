// The secure-cookie probe's reading of Set-Cookie (RFC 6265 §4.1: name=value, then attributes).

import { describe, expect, it } from 'vitest';
import { cookieAttributes, secureCookieProbe, setCookieFor } from '../../../src/probes/secure-cookie.js';

describe('secure-cookie', () => {
  it('finds the probe cookie among others and reads its attributes case-insensitively', () => {
    const raw = ['Set-Cookie', 'other=1; Secure', 'set-cookie', 'stackgen_probe=x; HttpOnly; path=/; SECURE'];
    const value = setCookieFor(raw, 'stackgen_probe');
    expect(value).toBe('stackgen_probe=x; HttpOnly; path=/; SECURE');
    expect(cookieAttributes(value!)).toEqual(['httponly', 'path=/', 'secure']);
    expect(setCookieFor(['Set-Cookie', 'stackgen_probe_other=1'], 'stackgen_probe')).toBeNull();
    // A value that merely contains the word is not the attribute.
    expect(cookieAttributes('stackgen_probe=Secure; Path=/')).not.toContain('secure');
  });

  const answer = (setCookie: string | null, scheme: string) => ({
    status: 200,
    setCookie,
    scheme,
    error: null,
  });

  it('fails on https without Secure, and on plain http with it', () => {
    const ctx = {} as never;
    expect(
      secureCookieProbe.judge({ https: answer('stackgen_probe=v; Secure', 'https'), http: null }, ctx).status,
    ).toBe('pass');
    expect(
      secureCookieProbe.judge({ https: answer('stackgen_probe=v; HttpOnly', 'http'), http: null }, ctx),
    ).toMatchObject({
      status: 'fail',
      actual: expect.stringMatching(/has no Secure: the app saw http request/),
    });
    expect(
      secureCookieProbe.judge(
        {
          https: answer('stackgen_probe=v; Secure', 'https'),
          http: answer('stackgen_probe=v; Secure', 'http'),
        },
        ctx,
      ).status,
    ).toBe('fail');
    expect(secureCookieProbe.judge({ https: answer(null, 'https'), http: null }, ctx).status).toBe('fail');
  });
});
