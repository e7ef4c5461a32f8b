// journal: the app server's log is where an operator looks first — `journalctl -u <unit>`
// under systemd (stdout/stderr go to the journal), the program's log file under supervisor.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, pass, type ProbeDefinition } from '../types.js';

interface Observed {
  where: string;
  lines: string[];
}

export const journalProbe: ProbeDefinition<Observed> = {
  id: 'journal',
  title: "the app server's log is in the journal (or supervisor's log file)",
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) =>
    ctx.plan.appServer === null
      ? "no app server: a CGI script's stderr goes to the proxy's error log (fcgiwrap writes no log of its own)"
      : ctx.host?.manager === 'none'
        ? 'no process manager keeps a log'
        : null,
  expect: (ctx) =>
    ctx.host?.manager === 'supervisor'
      ? `lines in ${ctx.plan.site.logDir}/${ctx.plan.name}*.log`
      : `lines from the app server in journalctl -u ${ctx.host?.appUnits[0]}`,
  async observe(ctx) {
    const host = ctx.host!;
    if (host.manager === 'supervisor') {
      // One file per program, or per process of a numbered program (name-N.log).
      const dir = ctx.plan.site.logDir;
      const mine = new RegExp(`^${ctx.plan.name}(-\\d+)?\\.log$`);
      const files = readdirSync(dir).filter((f) => mine.test(f));
      const lines = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
      return { where: files.map((f) => join(dir, f)).join(', ') || `${dir}/${ctx.plan.name}*.log`, lines };
    }
    const unit = host.appUnits[0]!;
    const r = await host.run(['journalctl', '--no-pager', '-o', 'cat', '-n', '200', '-u', unit]);
    return {
      where: `journalctl -u ${unit}`,
      lines: r.output.split('\n').filter((l) => l && !/^-- /.test(l)),
    };
  },
  judge({ where, lines }) {
    // systemd's own "Started …" lines are not the server's log.
    const own = lines.filter((l) => !/^(Started|Starting|Stopped|Stopping|Reloading|Reloaded) /.test(l));
    if (own.length === 0) return fail(`${where}: nothing from the app server`);
    return pass(`${own.length} line(s) in ${where}, e.g. ${JSON.stringify(own[0]!.slice(0, 80))}`);
  },
};
