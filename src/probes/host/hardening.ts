// hardening: the units' sandboxing holds on the live system — `systemd-analyze security`
// of each running app unit stays at the exposure `stackgen check` enforces — while the app
// works: it can write where the unit lets it (its runtime directory, a private /tmp). What
// the hardening makes read-only for the app (its own directory: a SQLite database or
// uploads there would fail) is reported, not hidden.

import { dirname } from 'node:path';
import { MAX_EXPOSURE } from '../../check/definitions.js';
import { type PidResponse, probePaths } from '../contract.js';
import { httpRequest, jsonOf } from '../http.js';
import { fail, pass, type ProbeDefinition, skip } from '../types.js';

interface Observed {
  exposures: Array<{ unit: string; exposure: number | null; output: string }>;
  pid: PidResponse | null;
}

/** `Overall exposure level for x.service: 1.2 OK` → 1.2. Pure. */
export function exposureOf(output: string): number | null {
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(output);
  return m ? Number(m[1]) : null;
}

export const hardeningProbe: ProbeDefinition<Observed> = {
  id: 'hardening',
  title: 'unit hardening holds on the running system, and the app can write where it must',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip: (ctx) => (ctx.host?.manager === 'systemd' ? null : 'not run by systemd: no unit sandboxing to prove'),
  expect: () => `exposure ≤ ${MAX_EXPOSURE} per app unit; runtime dir and /tmp writable`,
  async observe(ctx) {
    const host = ctx.host!;
    const exposures = [];
    // Every running unit of the stack: the app server's, and the gateway's (CGI scripts run under it).
    for (const unit of [
      ...new Set([...host.appUnits, ...host.startUnits.filter((u) => u.endsWith('.service'))]),
    ]) {
      const r = await host.run(['systemd-analyze', 'security', '--no-pager', unit]);
      exposures.push({
        unit,
        exposure: exposureOf(r.output),
        output: r.output.split('\n').slice(-3).join(' '),
      });
    }
    const answer = await httpRequest(ctx.front, probePaths.pid(), { signal: ctx.signal });
    return { exposures, pid: answer.status === 200 ? jsonOf<PidResponse>(answer) : null };
  },
  judge({ exposures, pid }, ctx) {
    const problems: string[] = [];
    for (const e of exposures) {
      if (e.exposure === null) problems.push(`${e.unit}: no exposure level (${e.output})`);
      else if (e.exposure > MAX_EXPOSURE)
        problems.push(`${e.unit}: exposure ${e.exposure} > ${MAX_EXPOSURE}`);
    }
    if (!pid?.writable) return fail([...problems, 'the probe app did not say where it can write'].join('; '));
    if (!pid.writable.tmp) problems.push('the app cannot write its /tmp');
    if (pid.writable.counter_dir === false) problems.push('the app cannot write its runtime directory');
    const scores = exposures.map((e) => `${e.unit} ${e.exposure}`).join(', ');
    if (problems.length > 0) return fail(problems.join('; '));
    if (exposures.length === 0) return skip('no app unit to score');
    const readOnly = pid.writable.cwd
      ? ''
      : `; its own directory ${pid.cwd} is read-only (ProtectSystem=strict): an app that writes there (SQLite, uploads) fails until it gets a state directory`;
    const counterDir = ctx.probe ? dirname(ctx.probe.counterFile) : 'its runtime directory';
    return pass(`exposure ${scores}; as uid ${pid.uid} it writes /tmp and ${counterDir}${readOnly}`);
  },
};
