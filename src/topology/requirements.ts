// What a stack needs on the machine that runs it, read from the catalog: the proxy's,
// server's and manager's programs (with minimum versions), the Python modules of the
// framework, server and concurrency model for the stack's interpreter, server plugins, and
// fcgiwrap when nginx runs CGI. Pure. doctor checks these; resolve lists their packages
// (for `stackgen ci` and the generated README).

import type { NormalizedSpec } from '../stack/normalize.js';
import { FRAMEWORKS } from './catalog/frameworks.js';
import { CERTBOT, FCGIWRAP, MANAGERS, needsCgiBridge, PROXIES } from './catalog/proxies.js';
import { SERVERS } from './catalog/servers.js';
import type { PluginRequirement, ProgramRequirement } from './catalog/types.js';
import { TASK_PROGRAMS, TASK_PYTHON_MODULES } from './catalog/tasks.js';

export type Requirement =
  | ({ kind: 'program'; neededBy: string } & ProgramRequirement)
  | { kind: 'python-module'; module: string; package: string; python: string; neededBy: string }
  | { kind: 'uwsgi-plugin'; plugin: string; package: string; neededBy: string }
  /** A module of the front the app server is (mod_wsgi in Apache): its file must exist. */
  | { kind: 'front-module'; module: string; file: string; package: string; neededBy: string };

/** Where a requirement came from, for the report ("needed by uWSGI"). */
function programs(list: readonly ProgramRequirement[], neededBy: string): Requirement[] {
  return list.map((p) => ({ kind: 'program', neededBy, ...p }));
}

/** Debian packages of every requirement, sorted and unique. */
export function requiredPackages(spec: NormalizedSpec): string[] {
  return [
    ...new Set(
      stackRequirements(spec, spec.app.python)
        .filter((r) => r.kind !== 'program' || r.obtain === undefined)
        .map((r) => r.package),
    ),
  ].sort();
}

/** Every program, module and plugin the stack needs, without duplicates, in report order. */
export function stackRequirements(spec: NormalizedSpec, python: string): Requirement[] {
  const server = SERVERS[spec.serve.server];
  const framework = FRAMEWORKS[spec.app.framework];
  const out: Requirement[] = [
    ...programs(PROXIES[spec.proxy.kind].programs, PROXIES[spec.proxy.kind].title),
    ...programs(server.programs, server.title),
    ...programs(MANAGERS[spec.processes.manager].programs, MANAGERS[spec.processes.manager].title),
  ];
  const tls = spec.proxy.tls;
  if (tls !== 'off' && 'acme' in tls) out.push({ kind: 'program', neededBy: 'proxy.tls.acme', ...CERTBOT });
  if (needsCgiBridge(spec.serve.server, spec.proxy.kind)) {
    out.push({
      kind: 'program',
      neededBy: `${PROXIES[spec.proxy.kind].title} (CGI)`,
      ...FCGIWRAP,
      versionArgs: [...FCGIWRAP.versionArgs],
    });
  }

  if (server.inFront) out.push({ kind: 'front-module', ...server.inFront.module, neededBy: server.title });

  // tasks: the stack's own Redis (Debian's binary, not its service).
  if (spec.tasks?.broker === 'redis') out.push(...programs([TASK_PROGRAMS.broker], 'the Celery broker'));

  const plugin = (p: PluginRequirement, neededBy: string): Requirement => ({
    kind: 'uwsgi-plugin',
    ...p,
    neededBy,
  });
  out.push(...server.plugins.map((p) => plugin(p, server.title)));
  out.push(
    ...(server.concurrencyPlugins[spec.serve.concurrency] ?? []).map((p) =>
      plugin(p, `${server.title} (${spec.serve.concurrency})`),
    ),
  );
  // A server with its own interpreter (uWSGI embeds Python, php-fpm runs PHP) never runs the
  // stack's interpreter; every other one
  // (and the CGI adapter of a WSGI app) runs under it.
  if (
    !server.ownInterpreter &&
    (server.processModel !== 'process-per-request' || spec.app.interface === 'wsgi')
  ) {
    out.push({
      kind: 'program',
      program: python,
      package: 'python3',
      versionArgs: ['--version'],
      minVersion: '0',
      why: 'runs the app server',
      neededBy: server.title,
    });
  }

  const modules = [
    ...server.pythonModules.map((m) => ({ ...m, neededBy: server.title })),
    ...(server.concurrencyModules[spec.serve.concurrency] ?? []).map((m) => ({
      ...m,
      neededBy: `${server.title} (${spec.serve.concurrency})`,
    })),
    ...framework.pythonModules.map((m) => ({ ...m, neededBy: framework.title })),
    ...(spec.tasks
      ? [
          { ...TASK_PYTHON_MODULES.celery, neededBy: 'the Celery workers (tasks)' },
          // The Redis transport of kombu and of the result backend.
          ...(spec.tasks.broker === 'redis' || spec.tasks.broker.startsWith('redis')
            ? [{ ...TASK_PYTHON_MODULES.redis, neededBy: 'the Celery workers (tasks)' }]
            : []),
        ]
      : []),
  ];
  const seen = new Set<string>();
  for (const m of modules) {
    if (seen.has(m.module)) continue;
    seen.add(m.module);
    out.push({ kind: 'python-module', module: m.module, package: m.package, python, neededBy: m.neededBy });
  }
  return dedupePrograms(out);
}

/** A program named twice (tornado as server and framework) is checked once. */
function dedupePrograms(list: Requirement[]): Requirement[] {
  const seen = new Set<string>();
  return list.filter((r) => {
    const key =
      r.kind === 'program'
        ? `p:${r.program}`
        : r.kind === 'uwsgi-plugin'
          ? `u:${r.plugin}`
          : r.kind === 'front-module'
            ? `f:${r.file}`
            : `m:${r.module}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The requirement's name as the report prints it. */
export function requirementName(r: Requirement): string {
  if (r.kind === 'program') return r.program;
  if (r.kind === 'uwsgi-plugin') return `uwsgi plugin ${r.plugin}`;
  if (r.kind === 'front-module') return `${r.module} module (${r.file})`;
  return r.module;
}
