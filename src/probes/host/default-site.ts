// default-site: on a stock Debian host the stack, not the distribution's default site,
// answers at its address — the bug where every request got "Welcome to nginx!" while the
// generated server block sat unused behind Debian's `default` (it owns port 80 unless the
// stack's server is default_server and install disabled it).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROXIES } from '../../topology/catalog/proxies.js';
import { bodyExcerpt } from '../excerpt.js';
import { httpRequest } from '../http.js';
import { fail, pass, type ProbeDefinition, skip } from '../types.js';

/** The document root of Debian's default sites (nginx's, Apache's and lighttpd's). */
export const DEBIAN_DEFAULT_ROOT = '/var/www/html';
/**
 * The pages Debian's default site can answer with, in nginx's `index` order: its own page
 * only when no other web server's package wrote an index.html there first (apache2's postinst
 * does, and then nginx's default site answers with "Apache2 Debian Default Page").
 */
export const DEBIAN_DEFAULT_PAGES = ['index.html', 'index.htm', 'index.nginx-debian.html'];

interface Observed {
  status: number;
  body: Buffer;
  excerpt: string;
  defaultPages: Buffer[];
}

export const defaultSiteProbe: ProbeDefinition<Observed> = {
  id: 'owns-address',
  title: "the stack, not the distribution's default site, answers at its address",
  phase: 'gate',
  kinds: ['app'],
  needsProbeApp: false,
  after: [],
  skip: (ctx) =>
    PROXIES[ctx.plan.front.kind].distro ? null : 'no distribution nginx in front of this stack',
  expect: () =>
    `GET / is none of ${DEBIAN_DEFAULT_PAGES.map((p) => join(DEBIAN_DEFAULT_ROOT, p)).join(', ')}`,
  async observe(ctx) {
    const answer = await httpRequest(ctx.front, '/', { signal: ctx.signal });
    const defaultPages: Buffer[] = [];
    for (const page of DEBIAN_DEFAULT_PAGES) {
      try {
        defaultPages.push(readFileSync(join(DEBIAN_DEFAULT_ROOT, page)));
      } catch {
        // not written on this host
      }
    }
    return { status: answer.status, body: answer.body, excerpt: bodyExcerpt(answer), defaultPages };
  },
  judge({ status, body, excerpt, defaultPages }) {
    if (defaultPages.length === 0) return skip(`no default page in ${DEBIAN_DEFAULT_ROOT} on this host`);
    if (defaultPages.some((page) => body.equals(page)))
      return fail(`${status} ${excerpt}: Debian's default site answered instead of the stack`);
    return pass(`${status}: the stack answered`);
  },
};
