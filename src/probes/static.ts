// static: files under a static URL prefix come from the proxy (sendfile), and no app
// worker is spent on them — the app's request counter does not move. The answer carries
// the stack's cache policy (a year's `immutable` for hashed names, else no `immutable`) and
// its security headers (an nginx location with an add_header of its own drops the server's);
// a dotfile in the directory (.env, .git/) is never served; and the probe's text fixture
// (above gzip_min_length) goes out gzip-compressed where the front compresses static files
// on the fly (nginx; the gateway sends only a `.gz` sibling).

import { gunzipSync } from 'node:zlib';
import { IMMUTABLE_CACHE_CONTROL } from '../gateway/static.js';
import { PROXIES } from '../topology/catalog/proxies.js';
import { readCounter } from './counter.js';
import { absoluteTarget, httpRequest } from './http.js';
import { fail, pass, type ProbeDefinition, skip } from './types.js';

interface Observed {
  status: number;
  same: boolean;
  before: number | null;
  after: number | null;
  href: string;
  cacheControl: string;
  nosniff: boolean;
  encoding: string | null;
  /** The dotfile's URL and what the front answered for it (null: no dotfile to try). */
  dotfile: { href: string; status: number; leaked: boolean } | null;
}

export const staticProbe: ProbeDefinition<Observed | { missing: string } | null> = {
  id: 'static-file',
  title: 'static file served by the proxy, not the app',
  phase: 'serial',
  kinds: ['static'],
  needsProbeApp: false,
  after: [],
  expect: (ctx) => {
    const entry = ctx.plan.app.static.find((s) => s.url === ctx.path.urlPrefix);
    const cache = entry?.immutable ? `Cache-Control: ${IMMUTABLE_CACHE_CONTROL}` : 'no `immutable`';
    const gzip = ctx.probe && PROXIES[ctx.plan.spec.proxy.kind].compressesStatic ? '; gzip' : '';
    return `200 with the file's bytes${ctx.probe ? '; app counter unchanged' : ''}; ${cache}${gzip}; dotfiles 404`;
  },
  async observe(ctx) {
    const fixture = ctx.staticFixtures.find((f) => f.url === ctx.path.urlPrefix);
    if (!fixture?.href) return fixture?.absent === 'missing' ? { missing: fixture.dir } : null;
    const before = await readCounter(ctx);
    const answer = await httpRequest(absoluteTarget(ctx.front), fixture.href, {
      signal: ctx.signal,
      headers: { 'Accept-Encoding': 'gzip' },
    });
    const after = await readCounter(ctx);
    const encoding = (answer.headers['content-encoding'] as string | undefined) ?? null;
    const body = encoding === 'gzip' ? gunzipSync(answer.body) : answer.body;
    let dotfile: Observed['dotfile'] = null;
    if (fixture.dotfileHref) {
      const hidden = await httpRequest(absoluteTarget(ctx.front), fixture.dotfileHref, {
        signal: ctx.signal,
      });
      dotfile = {
        href: fixture.dotfileHref,
        status: hidden.status,
        leaked: hidden.status === 200,
      };
    }
    return {
      status: answer.status,
      same: body.equals(fixture.content),
      before,
      after,
      href: fixture.href,
      cacheControl: String(answer.headers['cache-control'] ?? ''),
      nosniff: answer.headers['x-content-type-options'] === 'nosniff',
      encoding,
      dotfile,
    };
  },
  judge(observed, ctx) {
    if (!observed) return skip(`no file in ${ctx.path.directory ?? ctx.path.urlPrefix} to fetch`);
    if ('missing' in observed)
      return fail(`${observed.missing} does not exist: every ${ctx.path.urlPrefix} request is a 404`);
    const { status, same, before, after, href, cacheControl, nosniff, encoding, dotfile } = observed;
    if (status !== 200) return fail(`GET ${href} answered ${status}`);
    if (!same) return fail(`GET ${href}: the body differs from the file`);
    if (before !== null && after !== null && after !== before)
      return fail(`GET ${href} reached the app (counter +${after - before}): the proxy does not serve it`);
    const immutable = ctx.plan.app.static.find((s) => s.url === ctx.path.urlPrefix)?.immutable ?? false;
    if (immutable && cacheControl !== IMMUTABLE_CACHE_CONTROL)
      return fail(
        `GET ${href}: Cache-Control "${cacheControl}", not "${IMMUTABLE_CACHE_CONTROL}" (app.static immutable)`,
      );
    if (!immutable && /immutable/.test(cacheControl))
      return fail(
        `GET ${href}: Cache-Control "${cacheControl}" marks a file immutable that may change under its name`,
      );
    if (ctx.plan.spec.proxy.security_headers && !nosniff)
      return fail(`GET ${href}: no X-Content-Type-Options: the security headers are lost on static answers`);
    const compresses = PROXIES[ctx.plan.spec.proxy.kind].compressesStatic;
    if (ctx.probe && compresses && encoding !== 'gzip')
      return fail(
        `GET ${href} (text above 1 KiB) not gzip-compressed (Content-Encoding: ${encoding ?? 'none'})`,
      );
    if (dotfile?.leaked) return fail(`GET ${dotfile.href} answered 200: a dotfile is published`);
    const facts = [
      `${href} served${before === null ? '' : ', app counter unchanged'}`,
      `Cache-Control "${cacheControl}"`,
      encoding ? `Content-Encoding ${encoding}` : 'uncompressed',
      dotfile ? `${dotfile.href} → ${dotfile.status}` : 'no dotfile to try',
    ];
    return pass(facts.join('; '));
  },
};
