// writable: every app.writable directory is the app's — owned by its account, and writable
// by the app's own processes under either manager. systemd: ReadWritePaths= opens it in the
// read-only tree of ProtectSystem=strict; supervisor: no sandbox, so ownership decides. The
// probe app creates a file in each (what a SQLite database, a Django session or an upload does).

import { statSync } from 'node:fs';
import { type PidResponse, probePaths } from '../contract.js';
import { httpRequest, jsonOf } from '../http.js';
import { readAccountBook } from '../../runtime/users.js';
import { fail, pass, type ProbeDefinition } from '../types.js';

interface Observed {
  dirs: Array<{ path: string; owner: string | null; writable: boolean | null }>;
  pidAnswered: boolean;
}

export const writableProbe: ProbeDefinition<Observed> = {
  id: 'writable',
  title: "the app's writable directories are its own, and it can write them",
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip: (ctx) => (ctx.plan.app.writable.length === 0 ? 'no app.writable' : null),
  expect: (ctx) =>
    `${ctx.plan.app.writable.join(', ')}: owned by ${ctx.plan.site.users.app}:${ctx.plan.site.users.group}, writable by the app`,
  async observe(ctx) {
    const book = readAccountBook();
    const answer = await httpRequest(ctx.front, probePaths.pid(), { signal: ctx.signal });
    const pid = answer.status === 200 ? jsonOf<PidResponse>(answer) : null;
    return {
      pidAnswered: pid !== null,
      dirs: ctx.plan.app.writable.map((path) => {
        let owner: string | null = null;
        try {
          const st = statSync(path);
          owner = `${book.accounts.find((a) => a.uid === st.uid)?.name ?? st.uid}:${book.groups.find((g) => g.gid === st.gid)?.name ?? st.gid}`;
        } catch {
          // missing: reported below
        }
        return { path, owner, writable: pid?.writable.dirs?.[path] ?? null };
      }),
    };
  },
  judge(o, ctx) {
    const want = `${ctx.plan.site.users.app}:${ctx.plan.site.users.group}`;
    if (!o.pidAnswered) return fail('the probe app did not answer /__probe/pid');
    const problems = o.dirs.flatMap((d) => [
      ...(d.owner === null
        ? [`${d.path} does not exist`]
        : d.owner !== want
          ? [`${d.path} is ${d.owner}`]
          : []),
      ...(d.writable === true
        ? []
        : [`the app cannot write ${d.path}${d.writable === null ? ' (not reported)' : ''}`]),
    ]);
    if (problems.length > 0) return fail(problems.join('; '));
    return pass(`${o.dirs.map((d) => d.path).join(', ')}: ${want}, the app created a file in each`);
  },
};
