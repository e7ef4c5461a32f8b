// secure-cookie: over https the app knows it is on https, so a cookie it marks for https only
// carries Secure (RFC 6265 §4.1.2.5: the browser then never sends it over plain http). The
// probe app sets it through its framework's own set_cookie, Secure exactly when the framework
// says the request is secure (Django request.is_secure(), Flask request.is_secure, Starlette
// request.url.scheme): what the stack tells the app — the front's X-Forwarded-Proto read by
// the app server, or the HTTPS / UWSGI_SCHEME variable of uwsgi, FastCGI and SCGI. A render
// that does not tell the app fails here. With proxy.tls.redirect_http off, plain http is
// served too, and there the same cookie must come without Secure (the flag follows the
// request, it is not a constant of the probe app).

import { PROBE_COOKIE_NAME, probePaths } from './contract.js';
import { headerValues } from './headers.js';
import { httpRequest, mountedPath } from './http.js';
import { loopbackTarget } from './listen-addresses.js';
import { fail, type ProbeContext, pass, type ProbeDefinition } from './types.js';

interface CookieAnswer {
  status: number | null;
  /** The Set-Cookie value for PROBE_COOKIE_NAME; null when none came. */
  setCookie: string | null;
  /** The scheme the framework reported (the probe app's JSON), when it answered. */
  scheme: string | null;
  error: string | null;
}

interface Observed {
  https: CookieAnswer;
  /** Over plain http; null when the http addresses only redirect. */
  http: CookieAnswer | null;
}

/** The attributes of one Set-Cookie value, lower-cased names (`secure`, `httponly`, `path=/`). Pure. */
export function cookieAttributes(setCookie: string): string[] {
  return setCookie
    .split(';')
    .slice(1)
    .map((a) => a.trim().toLowerCase())
    .filter((a) => a !== '');
}

/** The Set-Cookie value that sets `name`, from a response's raw headers; null when none. Pure. */
export function setCookieFor(rawHeaders: readonly string[], name: string): string | null {
  return headerValues(rawHeaders, 'set-cookie').find((v) => v.trim().startsWith(`${name}=`)) ?? null;
}

const isSecure = (setCookie: string) => cookieAttributes(setCookie).includes('secure');

async function askCookie(ctx: ProbeContext, overHttp: boolean): Promise<CookieAnswer> {
  const target = overHttp ? loopbackTarget(ctx.plan.front.listens[0]!, ctx.front.hostHeader) : ctx.front;
  try {
    const a = await httpRequest(target, mountedPath(ctx.front, probePaths.cookie()), { signal: ctx.signal });
    let scheme: string | null = null;
    try {
      const body = JSON.parse(a.body.toString('utf8')) as { scheme?: unknown };
      scheme = typeof body.scheme === 'string' ? body.scheme : null;
    } catch {
      // not the probe app's JSON: the status says enough
    }
    return {
      status: a.status,
      setCookie: setCookieFor(a.rawHeaders, PROBE_COOKIE_NAME),
      scheme,
      error: null,
    };
  } catch (err) {
    return { status: null, setCookie: null, scheme: null, error: (err as Error).message };
  }
}

export const secureCookieProbe: ProbeDefinition<Observed> = {
  id: 'secure-cookie',
  title: 'over https the app sets its cookie Secure (it knows it is on https); over plain http not',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip: (ctx) => {
    if (ctx.plan.spec.proxy.tls === 'off' || ctx.front.tls === undefined) return 'proxy.tls is off';
    if (ctx.probe && !ctx.probe.app.secureCookie)
      return `the ${ctx.probe.key} probe app sets no cookie (Flask, Django and FastAPI ones do)`;
    return null;
  },
  expect: (ctx) =>
    `https: Set-Cookie ${PROBE_COOKIE_NAME}=…; Secure${
      ctx.plan.spec.proxy.tls !== 'off' && !ctx.plan.spec.proxy.tls.redirect_http
        ? `; http: ${PROBE_COOKIE_NAME} without Secure`
        : ''
    }`,
  async observe(ctx) {
    const redirects = ctx.plan.spec.proxy.tls !== 'off' && ctx.plan.spec.proxy.tls.redirect_http;
    return { https: await askCookie(ctx, false), http: redirects ? null : await askCookie(ctx, true) };
  },
  judge(seen) {
    const { https, http } = seen;
    if (https.status === null) return fail(`https: ${https.error}`);
    if (https.status !== 200 || https.setCookie === null)
      return fail(`https ${https.status}: no Set-Cookie ${PROBE_COOKIE_NAME}`);
    if (!isSecure(https.setCookie))
      return fail(
        `https: Set-Cookie ${https.setCookie} has no Secure: the app saw ${https.scheme ?? 'a non-https'} request — the stack did not tell it the client uses https`,
      );
    if (http) {
      if (http.status === null) return fail(`http: ${http.error}`);
      if (http.setCookie === null) return fail(`http ${http.status}: no Set-Cookie ${PROBE_COOKIE_NAME}`);
      if (isSecure(http.setCookie))
        return fail(`http: Set-Cookie ${http.setCookie} is Secure on a plain-http request`);
    }
    return pass(
      `https (${https.scheme}): ${https.setCookie}${http ? `; http (${http.scheme}): no Secure` : ''}`,
    );
  },
};
