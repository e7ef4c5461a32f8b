// static: files under a static URL prefix come from the proxy (sendfile), and no app
// worker is spent on them — the app's request counter does not move.

import { readCounter } from './counter.js';
import { httpRequest } from './http.js';
import { fail, pass, type ProbeDefinition, skip } from './types.js';

interface Observed {
  status: number;
  same: boolean;
  before: number | null;
  after: number | null;
  href: string;
}

export const staticProbe: ProbeDefinition<Observed | { missing: string } | null> = {
  id: 'static-file',
  title: 'static file served by the proxy, not the app',
  phase: 'serial',
  kinds: ['static'],
  needsProbeApp: false,
  after: [],
  expect: (ctx) => `200 with the file's bytes${ctx.probe ? '; app counter unchanged' : ''}`,
  async observe(ctx) {
    const fixture = ctx.staticFixtures.find((f) => f.url === ctx.path.urlPrefix);
    if (!fixture?.href) return fixture?.absent === 'missing' ? { missing: fixture.dir } : null;
    const before = await readCounter(ctx);
    const answer = await httpRequest(ctx.front, fixture.href, { signal: ctx.signal });
    const after = await readCounter(ctx);
    return {
      status: answer.status,
      same: answer.body.equals(fixture.content),
      before,
      after,
      href: fixture.href,
    };
  },
  judge(observed, ctx) {
    if (!observed) return skip(`no file in ${ctx.path.directory ?? ctx.path.urlPrefix} to fetch`);
    if ('missing' in observed)
      return fail(`${observed.missing} does not exist: every ${ctx.path.urlPrefix} request is a 404`);
    const { status, same, before, after, href } = observed;
    if (status !== 200) return fail(`GET ${href} answered ${status}`);
    if (!same) return fail(`GET ${href}: the body differs from the file`);
    if (before !== null && after !== null && after !== before)
      return fail(`GET ${href} reached the app (counter +${after - before}): the proxy does not serve it`);
    return pass(`${href} served${before === null ? '' : ', app counter unchanged'}`);
  },
};
