// scripts: a server that runs script files by name (php-fpm; catalog `scripts`) runs only the
// scripts the front names, each with its path split as PHP apps expect — /info.php/a/b is
// SCRIPT_NAME /info.php and PATH_INFO /a/b (nginx's fastcgi_split_path_info; the gateway's
// ?root=) — and nothing else: a missing script is a 404 and never the front controller or
// another file, PHP code inside a text file (/hole.txt/x.php, the cgi.fix_pathinfo hole) never
// runs, and the server's own status page (pm.status_path) is not a client's to read.

import { type EchoResponse, PHP_PROBE_FIXTURES } from './contract.js';
import { httpRequest, jsonOf } from './http.js';
import { STATUS_PAGE } from './server-status.js';
import { SERVERS } from '../topology/catalog/servers.js';
import { fail, pass, type ProbeDefinition } from './types.js';

const MISSING = '/stackgen-no-such-script.php';
const SPLIT_PATH = '/a/b';

interface Answer {
  path: string;
  status: number;
  body: string;
  echo: EchoResponse | null;
}

interface Observed {
  split: Answer;
  missing: Answer;
  hole: Answer;
  /** The status path as the front controller's PATH_INFO, and as a named script's. */
  status: Answer[];
}

export const scriptsProbe: ProbeDefinition<Observed> = {
  id: 'scripts',
  title: 'scripts by name: PATH_INFO split, a missing script is a 404, nothing else runs',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip: (ctx) =>
    SERVERS[ctx.plan.spec.serve.server].scripts
      ? null
      : 'the app server runs one app, not script files by name',
  expect(ctx) {
    const s = SERVERS[ctx.plan.spec.serve.server].scripts;
    const { script, textFile } = PHP_PROBE_FIXTURES;
    return `${script}${SPLIT_PATH}: SCRIPT_NAME ${script}, PATH_INFO ${SPLIT_PATH}; ${MISSING}: 404; ${textFile}/x${s?.extension ?? ''}: not executed${s?.statusPath ? `; ${s.statusPath}: not the status page` : ''}`;
  },
  async observe(ctx) {
    const s = SERVERS[ctx.plan.spec.serve.server].scripts!;
    const get = async (path: string): Promise<Answer> => {
      const a = await httpRequest(ctx.front, path, { signal: ctx.signal });
      return { path, status: a.status, body: a.body.toString('utf8'), echo: jsonOf<EchoResponse>(a) };
    };
    const [split, missing, hole, status] = await Promise.all([
      get(`${PHP_PROBE_FIXTURES.script}${SPLIT_PATH}?x=1`),
      get(MISSING),
      get(`${PHP_PROBE_FIXTURES.textFile}/x${s.extension}`),
      Promise.all(
        s.statusPath
          ? [get(`${s.statusPath}?full`), get(`${PHP_PROBE_FIXTURES.script}${s.statusPath}?full`)]
          : [],
      ),
    ]);
    return { split, missing, hole, status };
  },
  judge({ split, missing, hole, status }) {
    const { script, marker } = PHP_PROBE_FIXTURES;
    const said = (a: Answer) =>
      `${a.status}${a.echo?.app ? ` by the app as SCRIPT_NAME ${JSON.stringify(a.echo.script_name)}, PATH_INFO ${JSON.stringify(a.echo.path)}` : ` ${JSON.stringify(a.body.slice(0, 80))}`}`;
    if (split.status !== 200 || split.echo?.script_name !== script || split.echo.path !== SPLIT_PATH)
      return fail(`${split.path} answered ${said(split)}`);
    if (missing.status !== 404 || missing.echo?.app !== undefined)
      return fail(`${missing.path} answered ${said(missing)}, not a 404`);
    if (hole.body.includes(marker))
      return fail(`${hole.path} ran the PHP code inside ${PHP_PROBE_FIXTURES.textFile}`);
    // Refused (404, or php-fpm's 403) or answered by the front controller: both leave the file unrun.
    const holeOk =
      hole.status === 404 || hole.status === 403 || (hole.status === 200 && hole.echo?.app !== undefined);
    if (!holeOk) return fail(`${hole.path} answered ${said(hole)}`);
    const leak = status.find((a) => STATUS_PAGE.test(a.body));
    if (leak)
      return fail(
        `${leak.path} answered ${leak.status} with the pool's status page: ${JSON.stringify(leak.body.slice(0, 80))}`,
      );
    return pass(
      `${split.path}: SCRIPT_NAME ${script}, PATH_INFO ${SPLIT_PATH}; ${missing.path}: 404; ${hole.path}: ${hole.status}${hole.echo?.app ? ' (front controller)' : ''}, not run${status.map((a) => `; ${a.path}: ${a.status}, not the status page`).join('')}`,
    );
  },
};
