// tls, https-redirect, hsts: what proxy.tls promises, observed from a client that trusts the
// run's own CA and nothing else (a sandbox's throwaway CA; the system store on a real host).
// tls: the handshake verifies for the stack's name on TLS 1.2 and 1.3, a TLS 1.0/1.1 client
// is refused, and ALPN picks h2 exactly when proxy.tls.http2 is on (and then a GET of / is
// answered as an HTTP/2 stream, not a 5xx). https-redirect: the http
// addresses answer 301 to the same path and query on https, but serve the ACME challenge.
// hsts: Strict-Transport-Security with the configured value on https answers, none on http.

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as http2Connect } from 'node:http2';
import { connect, type SecureVersion } from 'node:tls';
import { hstsValue } from '../topology/catalog/recipes.js';
import { headerValues } from './headers.js';
import { httpRequest, mountedPath, type Target, tlsClientOptions } from './http.js';
import { loopbackTarget } from './listen-addresses.js';
import { fail, type ProbeContext, pass, type ProbeDefinition } from './types.js';

interface Handshake {
  ok: boolean;
  protocol: string | null;
  alpn: string | null;
  error: string | null;
}

/** One TLS handshake against the target (then closed); never throws. */
export function tlsHandshake(
  target: Target,
  o: { min?: SecureVersion; max?: SecureVersion; alpn?: string[]; ciphers?: string } = {},
): Promise<Handshake> {
  return new Promise((done) => {
    const socket = connect({
      host: target.host,
      port: target.port,
      ...tlsClientOptions(target.tls!),
      ...(o.min ? { minVersion: o.min } : {}),
      ...(o.max ? { maxVersion: o.max } : {}),
      ...(o.alpn ? { ALPNProtocols: o.alpn } : {}),
      ...(o.ciphers ? { ciphers: o.ciphers } : {}),
    });
    const timer = setTimeout(
      () => finish({ ok: false, protocol: null, alpn: null, error: 'no handshake within 5 s' }),
      5000,
    );
    const finish = (h: Handshake) => {
      clearTimeout(timer);
      socket.destroy();
      done(h);
    };
    socket.once('secureConnect', () =>
      finish({
        ok: true,
        protocol: socket.getProtocol(),
        alpn: socket.alpnProtocol === false ? null : (socket.alpnProtocol ?? null),
        error: null,
      }),
    );
    socket.once('error', (err) =>
      finish({ ok: false, protocol: null, alpn: null, error: shortTlsError(err) }),
    );
  });
}

/** OpenSSL's reason without its file and line: `tlsv1 alert protocol version`. Pure. */
export function shortTlsError(err: Error): string {
  return /:([^:]*alert[^:]*):/.exec(err.message)?.[1] ?? err.message;
}

const tlsOf = (ctx: ProbeContext) => (ctx.plan.spec.proxy.tls === 'off' ? null : ctx.plan.spec.proxy.tls);
const noTls = (ctx: ProbeContext) =>
  ctx.plan.front.kind === 'none'
    ? 'no proxy: nothing terminates TLS'
    : tlsOf(ctx) === null || ctx.front.tls === undefined
      ? 'proxy.tls is off'
      : null;

interface VersionsSeen {
  modern: Handshake[];
  legacy: Handshake;
  alpn: Handshake;
  /** With proxy.tls.http2: a GET of / sent as an HTTP/2 stream, its :status (or the error). */
  h2: { status: number | null; error: string | null } | null;
}

/** One GET over HTTP/2 (RFC 9113) on a TLS connection to the target; never throws. */
export function http2Get(
  target: Target,
  path: string,
): Promise<{ status: number | null; error: string | null }> {
  return new Promise((done) => {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const session = http2Connect(`https://${host}:${target.port}`, {
      ...tlsClientOptions(target.tls!),
    });
    const timer = setTimeout(() => finish({ status: null, error: 'no HTTP/2 answer within 5 s' }), 5000);
    const finish = (r: { status: number | null; error: string | null }) => {
      clearTimeout(timer);
      session.destroy();
      done(r);
    };
    session.on('error', (err) => finish({ status: null, error: shortTlsError(err) }));
    const stream = session.request({
      ':method': 'GET',
      ':path': path,
      ...(target.hostHeader ? { ':authority': target.hostHeader } : {}),
    });
    stream.on('response', (headers) => {
      stream.resume();
      finish({ status: Number(headers[':status']), error: null });
    });
    stream.on('error', (err) => finish({ status: null, error: err.message }));
    stream.end();
  });
}

export const tlsProbe: ProbeDefinition<VersionsSeen> = {
  id: 'tls',
  title: 'TLS 1.2 and 1.3 verify for the stack name; TLS 1.0/1.1 refused; ALPN h2 when http2',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: noTls,
  expect: (ctx) =>
    `TLSv1.2 and TLSv1.3 handshakes verified for ${ctx.front.tls?.servername}; TLSv1/TLSv1.1 refused; ALPN ${tlsOf(ctx)?.http2 ? 'h2' : 'not h2'}`,
  async observe(ctx) {
    const modern = await Promise.all(
      (['TLSv1.2', 'TLSv1.3'] as const).map((v) => tlsHandshake(ctx.front, { min: v, max: v })),
    );
    // SECLEVEL=0: this client's OpenSSL would refuse TLS 1.0/1.1 itself; the front must.
    const legacy = await tlsHandshake(ctx.front, {
      min: 'TLSv1',
      max: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    const alpn = await tlsHandshake(ctx.front, { alpn: ['h2', 'http/1.1'] });
    // Negotiating h2 is not serving it: one request goes through as an HTTP/2 stream.
    const h2 = tlsOf(ctx)?.http2 ? await http2Get(ctx.front, mountedPath(ctx.front, '/')) : null;
    return { modern, legacy, alpn, h2 };
  },
  judge(seen, ctx) {
    const problems: string[] = [];
    for (const [i, h] of seen.modern.entries()) {
      const want = i === 0 ? 'TLSv1.2' : 'TLSv1.3';
      if (!h.ok || h.protocol !== want) problems.push(`${want}: ${h.error ?? `negotiated ${h.protocol}`}`);
    }
    if (seen.legacy.ok) problems.push(`a ${seen.legacy.protocol} client was accepted`);
    const h2 = tlsOf(ctx)?.http2 ?? false;
    if (!seen.alpn.ok) problems.push(`ALPN handshake: ${seen.alpn.error}`);
    else if (h2 && seen.alpn.alpn !== 'h2')
      problems.push(`ALPN chose ${seen.alpn.alpn ?? 'nothing'} (want h2)`);
    else if (!h2 && seen.alpn.alpn === 'h2') problems.push('ALPN chose h2 with proxy.tls.http2 false');
    if (seen.h2 && (seen.h2.status === null || seen.h2.status >= 500))
      problems.push(`GET / over HTTP/2: ${seen.h2.error ?? seen.h2.status}`);
    if (problems.length > 0) return fail(problems.join('; '));
    return pass(
      `${seen.modern.map((h) => h.protocol).join(' and ')} verified; TLSv1/1.1 refused (${seen.legacy.error}); ALPN ${seen.alpn.alpn ?? 'none'}${seen.h2 ? `; GET / over h2 ${seen.h2.status}` : ''}`,
    );
  },
};

interface RedirectSeen {
  path: string;
  status: number | null;
  location: string | null;
  error: string | null;
  challenge: { path: string; status: number | null; body: string; token: string | null } | null;
}

/** Where the http addresses must send a request for `path`: the https origin, same path and query. Pure. */
export function httpsLocation(https: Target, path: string): string {
  const host = https.hostHeader ?? https.host;
  return `https://${host}${https.port === 443 ? '' : `:${https.port}`}${path}`;
}

export const httpsRedirectProbe: ProbeDefinition<RedirectSeen> = {
  id: 'https-redirect',
  title:
    'http answers 301 to https with path and query kept; the ACME challenge path is served, not redirected',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) => noTls(ctx) ?? (tlsOf(ctx)?.redirect_http ? null : 'proxy.tls.redirect_http is false'),
  expect: (ctx) =>
    `301 to ${httpsLocation(ctx.front, '/stackgen-verify/redirect?a=1&b=%2F')}; /.well-known/acme-challenge/ served from the webroot`,
  async observe(ctx) {
    const http = loopbackTarget(ctx.plan.front.listens[0]!, ctx.front.hostHeader);
    const path = `${ctx.front.mount ?? ''}/stackgen-verify/redirect?a=1&b=%2F`;
    const seen: RedirectSeen = { path, status: null, location: null, error: null, challenge: null };
    try {
      const a = await httpRequest(http, path, { signal: ctx.signal });
      seen.status = a.status;
      seen.location = typeof a.headers.location === 'string' ? a.headers.location : null;
    } catch (err) {
      seen.error = (err as Error).message;
    }
    // In a sandbox the probe plays the ACME client: a token file in the webroot must come back.
    const name = `stackgen-probe-${randomBytes(6).toString('hex')}`;
    const dir = join(ctx.plan.site.acmeWebroot, '.well-known', 'acme-challenge');
    let token: string | null = null;
    if (ctx.plan.site.kind === 'sandbox') {
      token = randomBytes(16).toString('hex');
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      writeFileSync(join(dir, name), token, { mode: 0o644 });
    }
    const challengePath = `/.well-known/acme-challenge/${name}`;
    try {
      const c = await httpRequest(http, challengePath, { signal: ctx.signal });
      seen.challenge = { path: challengePath, status: c.status, body: c.body.toString('utf8'), token };
    } catch (err) {
      seen.challenge = { path: challengePath, status: null, body: (err as Error).message, token };
    }
    return seen;
  },
  judge(seen, ctx) {
    const want = httpsLocation(ctx.front, seen.path);
    if (seen.status !== 301 || seen.location !== want)
      return fail(
        `${seen.path} over http: ${seen.error ?? `${seen.status} Location ${seen.location ?? '(none)'}`} (want 301 ${want})`,
      );
    const c = seen.challenge!;
    if (c.token !== null && (c.status !== 200 || c.body !== c.token))
      return fail(
        `${c.path} answered ${c.status ?? c.body} (want 200 with the token written to the webroot)`,
      );
    if (c.token === null && (c.status === null || c.status === 301))
      return fail(`${c.path} answered ${c.status ?? c.body}: the challenge path must not redirect`);
    return pass(`301 ${seen.location}; ${c.path} ${c.status}${c.token ? ' with the token' : ''}`);
  },
};

interface HstsSeen {
  https: { status: number | null; values: string[]; error: string | null };
  http: { status: number | null; values: string[]; error: string | null };
}

async function stsOf(target: Target, path: string, signal: AbortSignal): Promise<HstsSeen['https']> {
  try {
    const a = await httpRequest(target, path, { signal });
    return { status: a.status, values: headerValues(a.rawHeaders, 'strict-transport-security'), error: null };
  } catch (err) {
    return { status: null, values: [], error: (err as Error).message };
  }
}

export const hstsProbe: ProbeDefinition<HstsSeen> = {
  id: 'hsts',
  title: 'Strict-Transport-Security once on https answers, never on http ones',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: noTls,
  expect: (ctx) => {
    const tls = tlsOf(ctx);
    const v = tls ? hstsValue(tls.hsts) : null;
    return `https: ${v === null ? 'no Strict-Transport-Security (hsts off)' : `Strict-Transport-Security: ${v} once`}; http: none`;
  },
  async observe(ctx) {
    const http = loopbackTarget(ctx.plan.front.listens[0]!, ctx.front.hostHeader);
    return {
      https: await stsOf(ctx.front, '/', ctx.signal),
      http: await stsOf(http, `${ctx.front.mount ?? ''}/`, ctx.signal),
    };
  },
  judge(seen, ctx) {
    const tls = tlsOf(ctx);
    const want = tls ? hstsValue(tls.hsts) : null;
    if (seen.https.status === null) return fail(`https: ${seen.https.error}`);
    if (seen.http.status === null) return fail(`http: ${seen.http.error}`);
    const problems: string[] = [];
    if (want === null && seen.https.values.length > 0)
      problems.push(`https sent Strict-Transport-Security ${seen.https.values.join(' | ')} with hsts off`);
    if (want !== null && (seen.https.values.length !== 1 || seen.https.values[0] !== want))
      problems.push(
        `https ${seen.https.status}: Strict-Transport-Security ${seen.https.values.join(' | ') || 'absent'} (want ${want})`,
      );
    if (seen.http.values.length > 0)
      problems.push(
        `http ${seen.http.status} sent Strict-Transport-Security ${seen.http.values.join(' | ')}`,
      );
    if (problems.length > 0) return fail(problems.join('; '));
    return pass(
      `https ${seen.https.status}: ${seen.https.values[0] ?? 'none'}; http ${seen.http.status}: none`,
    );
  },
};
