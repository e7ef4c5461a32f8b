// default-site: on a stock Debian host the stack, not the distribution's default site,
// answers at its address — the bug where every request got "Welcome to nginx!" while the
// generated server block sat unused behind Debian's `default` (it owns port 80 unless the
// stack's server is default_server and install disabled it).

import { readFileSync } from 'node:fs';
import { PROXIES } from '../../topology/catalog/proxies.js';
import { bodyExcerpt } from '../excerpt.js';
import { httpRequest } from '../http.js';
import { fail, pass, type ProbeDefinition, skip } from '../types.js';

/** The page Debian's nginx package serves from its default site. */
export const DEBIAN_DEFAULT_PAGE = '/var/www/html/index.nginx-debian.html';

interface Observed {
  status: number;
  body: Buffer;
  excerpt: string;
  defaultPage: Buffer | null;
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
  expect: () => `GET / is not ${DEBIAN_DEFAULT_PAGE}`,
  async observe(ctx) {
    const answer = await httpRequest(ctx.front, '/', { signal: ctx.signal });
    let defaultPage: Buffer | null = null;
    try {
      defaultPage = readFileSync(DEBIAN_DEFAULT_PAGE);
    } catch {
      // not a Debian nginx host
    }
    return { status: answer.status, body: answer.body, excerpt: bodyExcerpt(answer), defaultPage };
  },
  judge({ status, body, excerpt, defaultPage }) {
    if (defaultPage === null) return skip(`no ${DEBIAN_DEFAULT_PAGE} on this host`);
    if (body.equals(defaultPage))
      return fail(`${status} ${excerpt}: Debian's default site answered instead of the stack`);
    return pass(`${status}: the stack answered`);
  },
};
