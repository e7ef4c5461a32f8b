// secrets: app.env_file reaches the app and nothing else. Every process holding the app's
// listening sockets has each KEY=value of the file in its environment (/proc/PID/environ,
// what os.environ and every framework's settings read — so it holds for any app, not only
// the probe app); `systemctl show -p Environment` of the app's units shows none of the
// values; no generated file contains one; the file itself is root's alone. The report
// names keys, never values.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile } from '../../stack/env-file.js';
import { fail, pass, type ProbeDefinition } from '../types.js';
import { listeningHolders } from './app-user.js';

/** Shorter values could match any file by chance ("1", "true"): only these are searched for. */
const MIN_SEARCHED = 8;

interface Observed {
  keys: string[];
  /** pid → keys whose value in its environment differs from the file (or is absent). */
  missing: Array<{ pid: number; keys: string[] }>;
  processes: number;
  /** `systemctl show -p Environment` (or a generated file) that contains a value: its name and the key. */
  leaks: string[];
  fileMode: number | null;
  fileUid: number | null;
}

/** NUL-separated KEY=value pairs of /proc/PID/environ. Pure. */
export function parseEnviron(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const pair of text.split('\0')) {
    const eq = pair.indexOf('=');
    if (eq > 0) env.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return env;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export const secretsProbe: ProbeDefinition<Observed> = {
  id: 'secrets',
  title: 'app.env_file reaches the app processes, and no unit property, generated file or other user',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) => {
    if (ctx.plan.site.envFile === null) return 'no app.env_file';
    return (ctx.plan.upstream?.endpoints.length ?? 0) === 0
      ? 'no app server process to look into (CGI: a process per request)'
      : null;
  },
  expect: () =>
    'every app process has each KEY=value; no value in `systemctl show -p Environment` or the generated files; the file root-only',
  async observe(ctx) {
    const path = ctx.plan.site.envFile!;
    const st = statSync(path);
    const entries = parseEnvFile(readFileSync(path, 'utf8')).entries;
    const procs = listeningHolders(ctx.plan.upstream!.endpoints);
    const missing = procs.flatMap((p) => {
      let env: Map<string, string>;
      try {
        env = parseEnviron(readFileSync(`/proc/${p.pid}/environ`, 'latin1'));
      } catch {
        return [{ pid: p.pid, keys: ['(environ unreadable)'] }];
      }
      const keys = entries.filter(([k, v]) => env.get(k) !== v).map(([k]) => k);
      return keys.length ? [{ pid: p.pid, keys }] : [];
    });
    const searched = entries.filter(([, v]) => v.length >= MIN_SEARCHED);
    const leaks: string[] = [];
    const look = (where: string, text: string) => {
      for (const [k, v] of searched) if (text.includes(v)) leaks.push(`${where} has ${k}'s value`);
    };
    const host = ctx.host!;
    if (host.manager === 'systemd')
      for (const unit of host.appUnits) {
        const r = await host.run(['systemctl', 'show', '-p', 'Environment', unit]);
        look(`systemctl show -p Environment ${unit}`, r.output);
      }
    for (const f of filesUnder(ctx.plan.site.configDir)) look(f, readFileSync(f, 'latin1'));
    return {
      keys: entries.map(([k]) => k),
      missing,
      processes: procs.length,
      leaks,
      fileMode: st.mode & 0o777,
      fileUid: st.uid,
    };
  },
  judge(o) {
    const problems: string[] = [];
    if (o.keys.length === 0) problems.push('app.env_file has no KEY=value line');
    if (o.processes === 0) problems.push("no process holds the app server's listening socket");
    for (const m of o.missing) problems.push(`pid ${m.pid} lacks ${m.keys.join(', ')}`);
    problems.push(...o.leaks);
    if (o.fileUid !== 0 || o.fileMode === null || (o.fileMode & 0o077) !== 0)
      problems.push(`the file is uid ${o.fileUid} mode ${o.fileMode?.toString(8)}: not root's alone`);
    if (problems.length > 0) return fail(problems.join('; '));
    return pass(
      `${o.keys.join(', ')} in all ${o.processes} app processes; no value in the unit's Environment or the generated files; the file ${o.fileMode!.toString(8)} root`,
    );
  },
};
