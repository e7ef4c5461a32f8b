// journal: the app server's log is where an operator looks first — `journalctl -u <unit>`
// under systemd (stdout/stderr go to the journal), the program's log file under supervisor.

import { readFileSync } from 'node:fs';
import { fail, pass, type ProbeDefinition, skip } from '../types.js';

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
  skip: (ctx) => (ctx.host?.appUnits.length ? null : 'no app server process (CGI)'),
  expect: (ctx) =>
    ctx.host?.manager === 'supervisor'
      ? `lines in ${ctx.plan.site.logDir}/${ctx.plan.name}*.log`
      : `lines from the app server in journalctl -u ${ctx.host?.appUnits[0]}`,
  async observe(ctx) {
    const host = ctx.host!;
    if (host.manager === 'supervisor') {
      const file = `${ctx.plan.site.logDir}/${ctx.plan.name}.log`;
      let lines: string[] = [];
      try {
        lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      } catch {
        // reported by the judge
      }
      return { where: file, lines };
    }
    const unit = host.appUnits[0]!;
    const r = await host.run(['journalctl', '--no-pager', '-o', 'cat', '-n', '200', '-u', unit]);
    return {
      where: `journalctl -u ${unit}`,
      lines: r.output.split('\n').filter((l) => l && !/^-- /.test(l)),
    };
  },
  judge({ where, lines }, ctx) {
    if (ctx.host?.manager === 'none') return skip('no process manager');
    // systemd's own "Started …" lines are not the server's log.
    const own = lines.filter((l) => !/^(Started|Starting|Stopped|Stopping|Reloading|Reloaded) /.test(l));
    if (own.length === 0) return fail(`${where}: nothing from the app server`);
    return pass(`${own.length} line(s) in ${where}, e.g. ${JSON.stringify(own[0]!.slice(0, 80))}`);
  },
};
