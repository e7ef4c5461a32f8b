// mount: an app mounted under a prefix (app.mount /hg) sees SCRIPT_NAME /hg and PATH_INFO
// the rest — the split WSGI/CGI apps build their links from (PEP 3333: SCRIPT_NAME "the
// initial portion of the request URL's path that corresponds to the application object") —
// and nothing outside the prefix reaches it: not /x, not /hgx (a prefix without its slash).

import type { EchoResponse } from './contract.js';
import { bodyExcerpt } from './excerpt.js';
import { absoluteTarget, httpRequest, jsonOf } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

const BELOW = '/stackgen-verify/mount/x';

interface Answer {
  path: string;
  status: number;
  excerpt: string;
  echo: EchoResponse | null;
  location: string | null;
}

interface Observed {
  mount: string;
  inside: Answer;
  /** The mount point itself, without its slash. */
  bare: Answer;
  outside: Answer[];
}

/** Paths outside the mount that must not reach the app: elsewhere, and the prefix without its slash. */
export function outsidePaths(mount: string): string[] {
  return ['/stackgen-verify/mount-outside', `${mount}x/stackgen-verify/mount`];
}

export const mountProbe: ProbeDefinition<Observed> = {
  id: 'mount',
  title: 'mounted under app.mount: SCRIPT_NAME/PATH_INFO split, nothing outside reaches the app',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip: (ctx) => (ctx.plan.spec.app.mount === '/' ? 'app.mount is /: nothing to split' : null),
  expect: (ctx) => {
    const m = ctx.plan.spec.app.mount;
    return `${m}${BELOW}: SCRIPT_NAME ${m}, PATH_INFO ${BELOW}; ${m}: a redirect to ${m}/; ${outsidePaths(m).join(', ')}: 404, not the app`;
  },
  async observe(ctx) {
    const mount = ctx.plan.spec.app.mount;
    const root = absoluteTarget(ctx.front);
    const ask = async (path: string): Promise<Answer> => {
      const answer = await httpRequest(root, path, { signal: ctx.signal });
      const location = answer.headers.location;
      return {
        path,
        status: answer.status,
        excerpt: bodyExcerpt(answer),
        echo: jsonOf<EchoResponse>(answer),
        location: typeof location === 'string' ? location : null,
      };
    };
    const [inside, bare, ...outside] = await Promise.all([
      ask(`${mount}${BELOW}`),
      ask(mount),
      ...outsidePaths(mount).map(ask),
    ]);
    return { mount, inside: inside!, bare: bare!, outside };
  },
  judge({ mount, inside, bare, outside }) {
    const e = inside.echo;
    if (inside.status !== 200 || e?.app === undefined)
      return fail(`${inside.path} answered ${inside.status} ${inside.excerpt}, not the app's echo`);
    if (e.script_name !== mount || e.path !== BELOW)
      return fail(
        `${inside.path} reached the app as SCRIPT_NAME ${JSON.stringify(e.script_name)}, PATH_INFO ${JSON.stringify(e.path)}`,
      );
    const reached = outside.filter((a) => a.status !== 404 || a.echo?.app !== undefined);
    if (reached.length > 0)
      return fail(
        reached
          .map(
            (a) =>
              `${a.path} answered ${a.status}${a.echo?.app ? ` by the app (PATH_INFO ${a.echo.path})` : ` ${a.excerpt}`}`,
          )
          .join('; '),
      );
    // The mount point itself: the front's redirect to mount/ (nginx and the gateway both), or the
    // app with an empty PATH_INFO; a 404 would leave a user who types /hg at a dead end.
    const redirected = [301, 308].includes(bare.status) && (bare.location ?? '').endsWith(`${mount}/`);
    const asRoot = bare.echo?.app !== undefined && bare.echo.script_name === mount && bare.echo.path === '';
    if (!redirected && !asRoot)
      return fail(
        `${mount} answered ${bare.status}${bare.echo?.app ? ` by the app as SCRIPT_NAME ${JSON.stringify(bare.echo.script_name)}, PATH_INFO ${JSON.stringify(bare.echo.path)}` : ` ${bare.excerpt}`}`,
      );
    const bareSays = redirected
      ? `${bare.status} → ${bare.location}`
      : asRoot
        ? 'the app at its root'
        : '404';
    return pass(
      `SCRIPT_NAME ${e.script_name}, PATH_INFO ${e.path}; ${mount}: ${bareSays}; ${outside.map((a) => a.path).join(', ')}: 404`,
    );
  },
};
