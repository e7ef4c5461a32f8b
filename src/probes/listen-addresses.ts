// listen-addresses: the front answers on every address of proxy.listen — IPv4 and IPv6
// alike (the default is `80` and `[::]:80`) — and of proxy.tls.listen over TLS (`443`,
// `[::]:443`). A stack that renders one `listen` line, or a gateway with one listener, is
// unreachable for every IPv6 client and this fails.

import { bodyExcerpt } from './excerpt.js';
import { httpRequest, type Target } from './http.js';
import { fail, pass, type ProbeContext, type ProbeDefinition } from './types.js';

interface Answered {
  address: string;
  scheme: 'http' | 'https';
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

/** Every listen address as a client reaches it: proxy.listen over http, proxy.tls.listen over TLS. */
function targetsOf(ctx: ProbeContext): Target[] {
  const http = ctx.plan.front.listens.map((l) => loopbackTarget(l, ctx.front.hostHeader));
  const tls = ctx.front.tls;
  const https = tls
    ? ctx.plan.front.tlsListens.map((l) => ({ ...loopbackTarget(l, ctx.front.hostHeader), tls }))
    : [];
  return [...http, ...https];
}

const shown = (t: Target) => (t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`);

export const listenAddressesProbe: ProbeDefinition<Answered[]> = {
  id: 'listen-addresses',
  title: 'the front answers on every listen address (IPv4 and IPv6)',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) => (targetsOf(ctx).length < 2 ? 'one listen address: reach proves it' : null),
  expect: (ctx) =>
    `the same answer on each of ${targetsOf(ctx)
      .map((t) => `${t.tls ? 'https' : 'http'} ${shown(t)}`)
      .join(', ')} as on the first of its scheme`,
  async observe(ctx) {
    return Promise.all(
      targetsOf(ctx).map(async (target): Promise<Answered> => {
        const scheme = target.tls ? 'https' : 'http';
        try {
          const answer = await httpRequest(target, '/', { signal: ctx.signal });
          return {
            address: shown(target),
            scheme,
            status: answer.status,
            excerpt: bodyExcerpt(answer),
            error: null,
          };
        } catch (err) {
          return { address: shown(target), scheme, status: null, excerpt: '', error: (err as Error).message };
        }
      }),
    );
  },
  judge(answers) {
    // http may only redirect to https: each scheme's addresses must agree among themselves.
    const firstOf = (scheme: Answered['scheme']) => answers.find((a) => a.scheme === scheme)!;
    const wrong = answers.filter(
      (a) => a.status === null || a.status !== firstOf(a.scheme).status || a.status >= 500,
    );
    if (wrong.length > 0)
      return fail(
        wrong
          .map((a) => `${a.address}: ${a.error ?? `${a.status}${a.excerpt ? ` ${a.excerpt}` : ''}`}`)
          .join('; '),
      );
    return pass(
      answers.map((a) => `${a.scheme === 'https' ? 'https ' : ''}${a.address} ${a.status}`).join(', '),
    );
  },
};
