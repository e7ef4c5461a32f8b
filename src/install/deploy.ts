// How new code goes live on an installed stack without failing requests, by what the
// catalog says of its app server: a graceful reload where the server has one (uWSGI's chain
// reload, gunicorn's rolling HUP), a rolling restart where it runs one process per port
// behind the proxy (nginx sends new requests to the instances still up: proxy_next_upstream
// error), and a plain restart, said plainly, where it has neither. Pure: the deploy README
// lists it and verify --target machine's reload-under-load probe runs it.

import type { Artifact } from '../render/artifacts.js';
import { masterFifoPath } from '../topology/catalog/files.js';
import { backendComponent, isTaskComponent, type Plan, unitBaseName } from '../render/plan.js';
import { shellQuote } from '../render/helpers.js';
import { PROXIES } from '../topology/catalog/proxies.js';
import { SERVERS } from '../topology/catalog/servers.js';
import { backendUnitFilter, supervisorPrograms, systemdServices } from './steps.js';

export type CodeUpdate =
  | {
      kind: 'reload';
      commands: string[][];
      why: string;
      /**
       * The reload leaves a window without an answer (measured), at most this long, and why:
       * reload-under-load allows it in the app's window (still no failed request).
       */
      acceptGap?: { ms: number; why: string };
    }
  | {
      kind: 'rolling-restart';
      ctl: 'systemctl' | 'supervisorctl';
      instances: Array<{ unit: string; host: string; port: number }>;
      /** Wait after each instance answers, until the proxy sends it requests again (catalog). */
      readmit: { seconds: number; why: string } | null;
      why: string;
    }
  | { kind: 'restart'; units: string[]; why: string }
  | { kind: 'none'; why: string };

/** What `systemctl` (or supervisorctl) steps put new app code live, and why that way. */
export function codeUpdate(plan: Plan, artifacts: readonly Artifact[]): CodeUpdate {
  const app = plan.topology.components.find((c) => c.role === 'app-server');
  const manager = plan.spec.processes.manager;
  if (!app || backendComponent(plan) !== 'app')
    return { kind: 'none', why: 'a CGI script is read again for every request: new code is live at once' };
  if (manager === 'none') return { kind: 'none', why: 'no process manager: restart the app server yourself' };
  // A module of the front (mod_wsgi): the daemons restart themselves when their script changes.
  const inFront = SERVERS[app.server].inFront;
  if (inFront)
    return { kind: 'reload', ...inFront.codeUpdate, commands: [['touch', plan.files.modWsgiScript]] };
  const isBackend = backendUnitFilter(plan);
  const units = (manager === 'systemd' ? systemdServices(plan, artifacts) : supervisorPrograms(plan)).filter(
    isBackend,
  );
  const ports = app.listen.flatMap((ep) => (ep.kind === 'tcp' ? [{ host: ep.host, port: ep.port }] : []));
  if (app.reload && manager === 'systemd')
    return {
      kind: 'reload',
      commands: [['systemctl', 'reload', ...units]],
      why: app.reload.masterFifo?.why ?? app.reload.why,
    };
  // supervisor has no reload of its own, but passes a signal on (supervisorctl signal); a
  // master FIFO is written directly, as the unit's ExecReload does.
  if (app.reload && manager === 'supervisor')
    return {
      kind: 'reload',
      commands: app.reload.masterFifo
        ? [['sh', '-c', `echo ${app.reload.masterFifo.command} > ${masterFifoPath(plan.site.runDir)}`]]
        : [['supervisorctl', 'signal', app.reload.signal.replace('SIG', ''), ...units]],
      why: app.reload.masterFifo?.why ?? app.reload.why,
    };
  // supervisor names a numbered program's processes group:program-port.
  const base = unitBaseName(plan, 'app');
  const instances =
    manager === 'systemd'
      ? units.length === ports.length
        ? units.map((unit, i) => ({ unit, ...ports[i]! }))
        : []
      : ports.map((p) => ({ unit: `${base}:${base}-${p.port}`, ...p }));
  if (ports.length > 1 && instances.length === ports.length)
    return {
      kind: 'rolling-restart',
      ctl: manager === 'systemd' ? 'systemctl' : 'supervisorctl',
      instances,
      readmit: PROXIES[plan.front.kind].backendReadmit,
      why: `${app.title} has no graceful reload, but runs one process per port: restarted one at a time, each after the one before answers again, the proxy sends new requests to the others and each stops gracefully`,
    };
  return {
    kind: 'restart',
    units,
    why: `${app.title} has no graceful reload and runs one process: a restart refuses new connections until it is back (${plan.front.kind === 'none' ? 'clients facing it directly are refused' : 'the proxy answers 502'} meanwhile)`,
  };
}

/** The update as shell lines for the deploy README (comments say why). */
export function codeUpdateSteps(plan: Plan, update: CodeUpdate): string[] {
  const ctl = plan.spec.processes.manager === 'supervisor' ? 'supervisorctl' : 'systemctl';
  return [...appUpdateSteps(update, ctl), ...taskUpdateSteps(plan, ctl)];
}

/**
 * `tasks:`: the workers and beat import the app's code too. They have no graceful reload: a
 * restart is a warm shutdown (running tasks finish, up to tasks.time_limit), then new code;
 * tasks sent meanwhile wait in the broker.
 */
function taskUpdateSteps(plan: Plan, ctl: string): string[] {
  const names = plan.launches
    .filter((l) => l.managed && l.runsAppCode && isTaskComponent(plan, l.component))
    .map((l) => `${unitBaseName(plan, l.component)}${ctl === 'systemctl' ? '.service' : ''}`);
  if (names.length === 0 || plan.spec.processes.manager === 'none') return [];
  return [
    '# The Celery worker and beat run the same code: a restart is their warm shutdown (running tasks finish first; new ones wait in the broker).',
    `sudo ${ctl} restart ${names.join(' ')}`,
  ];
}

function appUpdateSteps(update: CodeUpdate, ctl: string): string[] {
  switch (update.kind) {
    case 'none':
      return [`# ${update.why}`];
    case 'reload':
      return [`# ${update.why}`, ...update.commands.map((argv) => `sudo ${argv.map(shellQuote).join(' ')}`)];
    case 'rolling-restart':
      return [
        `# ${update.why}`,
        ...(update.readmit ? [`# ${update.readmit.why}`] : []),
        ...update.instances.flatMap(({ unit, host, port }, i) => [
          `sudo ${update.ctl} restart ${unit}`,
          `until ${answersCommand(host, port)} 2>/dev/null; do sleep 0.2; done`,
          ...(update.readmit && i < update.instances.length - 1 ? [`sleep ${update.readmit.seconds}`] : []),
        ]),
      ];
    case 'restart':
      return [`# ${update.why}`, `sudo ${ctl} restart ${update.units.join(' ')}`];
  }
}

/**
 * A shell command that succeeds once host:port answers an HTTP request, whatever its status
 * (python3 is there: the app runs on it). Answering, not listening: a process can hold its
 * port before it serves (or die just after binding), and the next instance must not go down
 * until this one serves. Every per-port app server here speaks HTTP to the proxy.
 */
export function answersCommand(host: string, port: number): string {
  return `python3 -c 'import http.client as h; c = h.HTTPConnection("${host}", ${port}, timeout=2); c.request("HEAD", "/"); c.getresponse()'`;
}
