// listen-addresses: the front answers on every address of proxy.listen — IPv4 and IPv6
// alike (the default is `80` and `[::]:80`). A stack that renders one `listen` line, or a
// gateway with one listener, is unreachable for every IPv6 client and this fails.

import { bodyExcerpt } from './excerpt.js';
import { httpRequest, type Target } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

interface Answered {
  address: string;
  status: number | null;
  excerpt: string;
  error: string | null;
}

/** Where a client on this host reaches a listen address: a wildcard on its loopback. Pure. */
export function loopbackTarget(l: { host: string; port: number }, hostHeader: string | undefined): Target {
  const bare = l.host.replace(/^\[(.*)\]$/, '$1');
  const host = bare === '0.0.0.0' ? '127.0.0.1' : bare === '::' ? '::1' : bare;
  return { host, port: l.port, hostHeader };
}

const shown = (t: Target) => (t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`);

export const listenAddressesProbe: ProbeDefinition<Answered[]> = {
  id: 'listen-addresses',
  title: 'the front answers on every listen address (IPv4 and IPv6)',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) => (ctx.plan.front.listens.length < 2 ? 'one listen address: reach proves it' : null),
  expect: (ctx) =>
    `the same answer as reach on ${ctx.plan.front.listens.map((l) => shown(loopbackTarget(l, undefined))).join(', ')}`,
  async observe(ctx) {
    return Promise.all(
      ctx.plan.front.listens.map(async (l): Promise<Answered> => {
        const target = loopbackTarget(l, ctx.front.hostHeader);
        try {
          const answer = await httpRequest(target, '/', { signal: ctx.signal });
          return { address: shown(target), status: answer.status, excerpt: bodyExcerpt(answer), error: null };
        } catch (err) {
          return { address: shown(target), status: null, excerpt: '', error: (err as Error).message };
        }
      }),
    );
  },
  judge(answers) {
    const first = answers[0]!;
    const wrong = answers.filter((a) => a.status === null || a.status !== first.status || a.status >= 500);
    if (wrong.length > 0)
      return fail(
        wrong
          .map((a) => `${a.address}: ${a.error ?? `${a.status}${a.excerpt ? ` ${a.excerpt}` : ''}`}`)
          .join('; '),
      );
    return pass(answers.map((a) => `${a.address} ${a.status}`).join(', '));
  },
};
