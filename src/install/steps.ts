// `stackgen install` as data: the steps that put a rendered stack on THIS machine exactly
// as its deploy README describes — accounts, files under /etc/stackgen/<name>, unit or
// program links, the nginx site, tests and reloads — each with the command a user would
// type, whether the host already has it (install is idempotent), and how to undo it
// (rollback of a failed run, and `stackgen uninstall`). Pure: facts about the host come
// in as a value (src/install/facts.ts gathers them), commands run in src/install/run.ts.

import { basename, dirname, join } from 'node:path';
import type { Artifact } from '../render/artifacts.js';
import {
  type BoundEndpoint,
  isFrontComponent,
  isTaskComponent,
  type Plan,
  unitBaseName,
} from '../render/plan.js';
import { MANAGERS, PROXIES } from '../topology/catalog/proxies.js';
import { allListens } from '../topology/types.js';
import { PROXY_RECIPES } from '../topology/catalog/recipes.js';
import { type AcmePlan, acmePlan, certonlyArgv, placeholderArgv } from '../tls/acme.js';

/** One thing done to the host. */
export type Command =
  | {
      kind: 'exec';
      argv: string[];
      /** Exit codes that mean "already so" (groupdel 6: no such group — userdel took it with the user). */
      okExit?: number[];
    }
  /** The generated files, written atomically under dir (src/render/write.ts). */
  | { kind: 'write-files'; dir: string }
  | { kind: 'write-file'; path: string; content: string; mode: number }
  | { kind: 'symlink'; link: string; target: string }
  | { kind: 'remove'; path: string; recursive?: boolean }
  /** Remove a directory only if it is empty: state the app wrote there is kept. */
  | { kind: 'remove-if-empty'; path: string }
  | { kind: 'mkdir'; path: string; mode: number; owner: string; group: string }
  /** Poll until every endpoint accepts connections (the unit is up, not only started). */
  | {
      kind: 'wait-ready';
      what: string;
      endpoints: BoundEndpoint[];
      /** systemd units that must not fail or restart meanwhile. */
      systemdUnits: string[];
      /** Units whose journal explains a failure. */
      logUnits: string[];
    }
  /** Poll supervisorctl until every program is RUNNING. */
  | { kind: 'wait-supervisor'; programs: string[] }
  /**
   * The front answers a request with something other than 502/503/504: the whole path
   * serves (an app server can accept connections while every worker fails to load the app).
   */
  | { kind: 'wait-answer'; host: string; port: number; hostHeader: string | undefined; logUnits: string[] }
  /**
   * Reload a master/worker server and wait until the reload took: `systemctl reload` returns
   * at once, and the old workers answer (with the old configuration) until they exit.
   */
  | { kind: 'reload'; service: string; pidFile: string };

export interface InstallStep {
  /** Stable across runs: the manifest merges steps by id. */
  id: string;
  /** What a user would type to do it by hand (a shell command line). */
  title: string;
  /** Why, when the command alone does not say it. */
  why?: string;
  /** The host already has it: nothing to do. */
  done: boolean;
  commands: Command[];
  /** What takes it back: rollback of this run, and `stackgen uninstall` later. */
  undo: Command[];
  /** A check, not a change (waiting for a unit to serve): it runs every time, changes nothing. */
  check?: boolean;
  /**
   * A host-wide change other stacks may need too (the nginx catch-all, Debian's default site
   * gone, the stackgen wrapper): recorded by every stack that needs it, even when another
   * stack already made it, and taken back only by the uninstall of the last one.
   */
  shared?: boolean;
}

/** What install needs to know about the host. Gathered by facts.ts; a plain value here. */
export interface HostFacts {
  users: string[];
  groups: Array<{ name: string; members: string[] }>;
  /** Primary group of each user. */
  primaryGroup: Record<string, string>;
  /** systemd is PID 1 (/run/systemd/system exists). */
  systemd: boolean;
  /** Symlink → its target, for every link install may create or remove (absent: not a link). */
  links: Record<string, string>;
  /** Paths that exist (any kind). */
  exists: string[];
  /** `user:group` owning each app.writable directory that exists. */
  owners: Record<string, string>;
  /** Current text of the generated files, by artifact path, and of the stackgen wrapper by its path (absent: no such file). */
  files: Record<string, string>;
  /** systemctl is-enabled / is-active per unit name. */
  units: Record<string, { enabled: boolean; active: boolean }>;
  /** The text of the distribution proxy's default site (Debian's nginx `default`), when it is enabled. */
  defaultSiteText: string | null;
  /** app.env_file as it is here: owner uid, permission bits, lines read two ways; null when absent. */
  envFile: { uid: number; mode: number; problems: string[] } | null;
  /** The worker user the distribution proxy's main config names. */
  frontUser: string | null;
  /** `supervisorctl status` says RUNNING for these programs. */
  supervisorRunning: string[];
  /** How this stackgen runs (node + entry), for the /usr/local/bin/stackgen wrapper. */
  selfCommand: string[];
  /** Shared steps other installed stacks recorded, by step id: which stacks, and the undo they keep. */
  claims: Record<string, { stacks: string[]; undo: Command[] }>;
  /** Who already listens on each TCP port the stack's own processes bind (stackPorts): absent when free. */
  portListeners: Array<{ port: number; pid: number | null; cmdline: string; unit: string | null }>;
}

/**
 * The TCP ports the stack's own processes bind, with what binds each. A distribution's front
 * (Debian's nginx, apache2) is left out: its own service binds those, and install reloads it.
 */
export function stackPorts(plan: Plan): Array<{ port: number; title: string }> {
  const distroFront = PROXIES[plan.front.kind].distro !== null;
  const out = new Map<number, string>();
  for (const c of plan.topology.components) {
    if (c.role === 'proxy' && distroFront) continue;
    for (const ep of allListens(c)) if (ep.kind === 'tcp' && !out.has(ep.port)) out.set(ep.port, c.title);
  }
  return [...out].map(([port, title]) => ({ port, title }));
}

/**
 * A port of the stack held by a process that is not the stack's: install would enable units
 * that cannot bind ("Address already in use") and roll back. Said before anything changes,
 * with the unit that holds it. The stack's own units (a second install) are not in the way,
 * nor is supervisord under supervisor (it runs this stack's programs, and maybe others').
 */
function portProblems(plan: Plan, facts: HostFacts): string[] {
  const ports = stackPorts(plan);
  const bases = plan.launches.map((l) => unitBaseName(plan, l.component));
  const own = (unit: string) =>
    bases.some((b) => unit === `${b}.service` || (unit.startsWith(`${b}@`) && unit.endsWith('.service'))) ||
    (plan.spec.processes.manager === 'supervisor' && unit === 'supervisor.service');
  return facts.portListeners.flatMap((l) => {
    if (l.unit !== null && own(l.unit)) return [];
    const title = ports.find((p) => p.port === l.port)?.title ?? 'the stack';
    const who =
      l.pid === null ? l.cmdline : `pid ${l.pid} (${l.cmdline.slice(0, 60)})${l.unit ? ` of ${l.unit}` : ''}`;
    const stop = l.unit?.endsWith('.service') ? `stop it (systemctl disable --now ${l.unit}) or ` : '';
    return [
      `port ${l.port} is already held by ${who}: ${title} cannot listen there — ${stop}move the stack to a free port in stack.yaml`,
    ];
  });
}

/** Debian's apache2 enables these on install (mods-enabled/<name>.load), among others. */
const DEBIAN_APACHE_MODULES = [
  'alias',
  'authz_core',
  'authz_host',
  'deflate',
  'dir',
  'env',
  'mime',
  'reqtimeout',
  'setenvif',
  'status',
];

/**
 * A stock Debian server with nginx and supervisor installed — and, for an Apache stack,
 * Debian's apache2 with the modules and the 000-default site its package enables: what the
 * deploy README assumes.
 */
export const FRESH_DEBIAN: HostFacts = {
  users: ['root', 'www-data'],
  groups: [
    { name: 'root', members: [] },
    { name: 'www-data', members: [] },
  ],
  primaryGroup: { root: 'root', 'www-data': 'www-data' },
  systemd: true,
  links: {
    '/etc/nginx/sites-enabled/default': '/etc/nginx/sites-available/default',
    '/etc/apache2/sites-enabled/000-default.conf': '../sites-available/000-default.conf',
  },
  exists: [
    '/etc/nginx/sites-enabled',
    '/etc/supervisor/conf.d',
    '/etc/apache2/sites-enabled',
    ...DEBIAN_APACHE_MODULES.map((m) => `/etc/apache2/mods-enabled/${m}.load`),
  ],
  owners: {},
  files: {},
  units: {
    'nginx.service': { enabled: true, active: true },
    'apache2.service': { enabled: true, active: true },
  },
  defaultSiteText: 'server {\n\tlisten 80 default_server;\n\tlisten [::]:80 default_server;\n}\n',
  envFile: null,
  frontUser: 'www-data',
  supervisorRunning: [],
  selfCommand: ['stackgen'],
  claims: {},
  portListeners: [],
};

/** The by-hand form of an install on a stock Debian host, for the deploy README. Pure. */
export function manualSteps(plan: Plan, artifacts: readonly Artifact[]): string[] {
  return planInstall(plan, artifacts, FRESH_DEBIAN)
    .filter((s) => !s.check)
    .flatMap((s) => [
      // The file count is news for a run, not for a reader.
      ...(s.why && !s.id.startsWith('files:') ? [`# ${s.why}`] : []),
      `sudo ${s.title.replace(/ && /g, ' && sudo ')}`,
    ]);
}

/** Where install keeps what it did, for uninstall. */
export function manifestPath(name: string): string {
  return `/var/lib/stackgen/${name}/install.json`;
}

const SYSTEMD_DIR = '/etc/systemd/system';

/** Unit files of the stack (artifact paths under systemd/). */
function unitArtifacts(artifacts: readonly Artifact[]): Artifact[] {
  return artifacts.filter((a) => a.path.startsWith('systemd/'));
}

/** Units to enable and start: every plain service, or the target of per-port instances. */
export function startUnits(artifacts: readonly Artifact[]): string[] {
  const names = unitArtifacts(artifacts).map((a) => a.path.slice('systemd/'.length));
  const target = names.find((n) => n.endsWith('.target'));
  const services = names.filter((n) => n.endsWith('.service') && !n.includes('@'));
  return target ? [target, ...services] : services;
}

/** The running service units: plain services, and each instance of a template. */
export function systemdServices(plan: Plan, artifacts: readonly Artifact[]): string[] {
  const names = unitArtifacts(artifacts).map((a) => a.path.slice('systemd/'.length));
  const out = names.filter((n) => n.endsWith('.service') && !n.includes('@'));
  for (const template of names.filter((n) => n.endsWith('@.service'))) {
    const base = template.slice(0, -'@.service'.length);
    for (const l of plan.launches)
      if (l.instance !== null && unitBaseName(plan, l.component) === base)
        out.push(`${base}@${l.instance}.service`);
  }
  return out;
}

/**
 * Is this unit or program the app's side of the stack (the app server, or fcgiwrap), not a
 * front the stack runs itself (the gateway), nor a process of `tasks:` (broker, worker, beat)?
 */
export function backendUnitFilter(plan: Plan): (unit: string) => boolean {
  const others = plan.launches.filter(
    (l) => isFrontComponent(plan, l.component) || isTaskComponent(plan, l.component),
  );
  return (unit) => !others.some((l) => unit.startsWith(unitBaseName(plan, l.component)));
}

/** The state directories (StateDirectory=, /var/lib/…) of the unit named `unit`. */
function stateDirsOf(plan: Plan, unit: string): string[] {
  return plan.launches
    .filter(
      (l) => l.stateDir?.startsWith('/var/lib/') && `${unitBaseName(plan, l.component)}.service` === unit,
    )
    .map((l) => l.stateDir!);
}

/** supervisorctl names of the stack's programs (`name:*` for numbered groups). */
export function supervisorPrograms(plan: Plan): string[] {
  const seen = new Map<string, boolean>();
  for (const l of plan.launches) {
    if (!l.managed) continue;
    const name = unitBaseName(plan, l.component);
    seen.set(name, (seen.get(name) ?? false) || l.instance !== null);
  }
  return [...seen].map(([name, numbered]) => (numbered ? `${name}:*` : name));
}

/** The steps to install this rendered stack on a host with these facts. Pure. */
export function planInstall(plan: Plan, artifacts: readonly Artifact[], facts: HostFacts): InstallStep[] {
  const steps: InstallStep[] = [];
  const name = plan.name;
  const dir = plan.site.configDir;
  const { app: user, group, proxy: proxyUser } = plan.site.users;
  const manager = plan.spec.processes.manager;
  const add = (s: InstallStep) => steps.push(s);
  const linked = (link: string, target: string) => facts.links[link] === target;

  // --- accounts ------------------------------------------------------------------------
  const hasGroup = (g: string) => facts.groups.some((x) => x.name === g);
  if (!hasGroup(group))
    add({
      id: `group:${group}`,
      title: `groupadd --system ${group}`,
      done: false,
      commands: [{ kind: 'exec', argv: ['groupadd', '--system', group] }],
      // Debian's userdel (USERGROUPS_ENAB yes) already removes a user's same-named group.
      undo: [{ kind: 'exec', argv: ['groupdel', group], okExit: [6] }],
    });
  if (!facts.users.includes(user))
    add({
      id: `user:${user}`,
      title: `useradd --system --gid ${group} --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${user}`,
      done: false,
      commands: [
        {
          kind: 'exec',
          argv: [
            'useradd',
            '--system',
            '--gid',
            group,
            '--no-create-home',
            '--home-dir',
            '/nonexistent',
            '--shell',
            '/usr/sbin/nologin',
            user,
          ],
        },
      ],
      undo: [{ kind: 'exec', argv: ['userdel', user] }],
    });
  // The proxy opens the app's socket through the group (mode 660): its user joins the app's
  // group. Debian's nginx runs its workers as `user www-data;` (no group), and a gateway under
  // supervisor gets only its user's groups (supervisor has no group= option); a gateway unit
  // names the group itself (Group=), and the membership costs it nothing. Reloading nginx
  // afterwards is enough: each new worker calls initgroups() when it starts.
  const distro = PROXIES[plan.front.kind].distro;
  const proxyFront = plan.upstream?.endpoints.some((e) => e.kind === 'unix') ?? false;
  if (proxyFront && proxyUser !== user) {
    const inGroup =
      facts.primaryGroup[proxyUser] === group ||
      (facts.groups.find((g) => g.name === group)?.members.includes(proxyUser) ?? false);
    add({
      id: `member:${proxyUser}:${group}`,
      title: `usermod --append --groups ${group} ${proxyUser}`,
      done: inGroup,
      commands: [{ kind: 'exec', argv: ['usermod', '--append', '--groups', group, proxyUser] }],
      undo: [{ kind: 'exec', argv: ['gpasswd', '--delete', proxyUser, group] }],
    });
  }

  // --- files ---------------------------------------------------------------------------
  const changed = artifacts.filter((a) => facts.files[a.path] !== a.content);
  add({
    id: `files:${dir}`,
    title: `install -d ${dir} && cp -r . ${dir}/`,
    why: `${artifacts.length} files${changed.length ? `, ${changed.length} new or changed` : ''}`,
    done: changed.length === 0,
    commands: [{ kind: 'write-files', dir }],
    undo: [{ kind: 'remove', path: dir, recursive: true }],
  });
  const changedPaths = new Set(changed.map((a) => a.path));

  // --- state the app writes ------------------------------------------------------------
  for (const dir of plan.app.writable) {
    const owner = `${user}:${group}`;
    const now = facts.owners[dir];
    if (now === undefined)
      add({
        id: `writable:${dir}`,
        title: `install -d -o ${user} -g ${group} -m 0750 ${dir}`,
        why: 'app.writable: the app keeps its state here',
        done: false,
        commands: [{ kind: 'mkdir', path: dir, mode: 0o750, owner: user, group }],
        undo: [{ kind: 'remove-if-empty', path: dir }],
      });
    else
      add({
        id: `writable:${dir}`,
        title: `chown -R ${owner} ${dir}`,
        why: 'app.writable: the app keeps its state here',
        done: now === owner,
        commands: [{ kind: 'exec', argv: ['chown', '-R', owner, dir] }],
        undo: [{ kind: 'exec', argv: ['chown', '-R', now, dir] }],
      });
  }

  // --- the gateway's command ------------------------------------------------------------
  // A managed front is stackgen's own gateway: its units run this stackgen.
  const usesGateway = plan.launches.some((l) => l.managed && isFrontComponent(plan, l.component));
  const wrapper = plan.site.stackgenCommand[0];
  if (usesGateway && wrapper && plan.site.stackgenCommand.length === 1) {
    const content = `#!/bin/sh\n# Installed by \`stackgen install\`: runs this stackgen (the gateway units start it).\nexec ${facts.selfCommand.map(shellWord).join(' ')} "$@"\n`;
    add({
      id: `wrapper:${wrapper}`,
      title: `install -m 0755 stackgen ${wrapper}`,
      why: 'the gateway unit runs it',
      shared: true,
      // Rewritten when it execs another Node or stackgen than the one installing now.
      done: facts.files[wrapper] === content,
      commands: [{ kind: 'write-file', path: wrapper, content, mode: 0o755 }],
      undo: [{ kind: 'remove', path: wrapper }],
    });
  }

  // --- proxy.tls.acme, a front of the stack's own units (the gateway) --------------------
  // Its unit copies the certificate before it starts: the placeholder comes first.
  const acme = acmePlan(plan);
  if (acme && !distro) for (const step of acmePlaceholderSteps(acme, facts)) add(step);

  // --- process manager -----------------------------------------------------------------
  const launched = plan.launches.filter((l) => l.managed);
  const endpoints = launched.flatMap((l) => (l.ready ? [l.ready] : []));
  if (manager === 'systemd' && launched.length > 0) {
    const units = unitArtifacts(artifacts);
    let unitsChanged = false;
    for (const a of units) {
      const unit = a.path.slice('systemd/'.length);
      const file = join(dir, a.path);
      const link = join(SYSTEMD_DIR, unit);
      const done = linked(link, file);
      unitsChanged ||= !done || changedPaths.has(a.path);
      add({
        id: `unit-link:${unit}`,
        title: `systemctl link ${file}`,
        done,
        commands: [{ kind: 'exec', argv: ['systemctl', 'link', file] }],
        // `systemctl disable` (the start step's undo) already removes a linked unit's link.
        undo: [{ kind: 'remove', path: link }],
      });
    }
    add({
      id: 'daemon-reload',
      title: 'systemctl daemon-reload',
      done: !unitsChanged,
      commands: [{ kind: 'exec', argv: ['systemctl', 'daemon-reload'] }],
      undo: [],
    });
    const distroRun = new Set(plan.launches.filter((l) => !l.managed).map((l) => l.component));
    const appFiles = artifacts.filter((a) => !distroRun.has(a.component) && a.path !== 'README.md');
    const restart = appFiles.some((a) => changedPaths.has(a.path));
    for (const unit of startUnits(artifacts)) {
      const state = facts.units[unit] ?? { enabled: false, active: false };
      add({
        id: `unit-start:${unit}`,
        title: `systemctl enable --now ${unit}`,
        done: state.enabled && state.active,
        commands: [{ kind: 'exec', argv: ['systemctl', 'enable', '--now', unit] }],
        // Stop first, then disable: `disable` of a linked unit removes its file, and a unit
        // stopped after that no longer knows its RuntimeDirectory= (it would be left behind).
        undo: [
          // A target's stop returns while its instances still drain (PartOf= propagates it
          // without waiting): naming them waits for them, before their user is deleted.
          {
            kind: 'exec',
            argv: [
              'systemctl',
              'stop',
              unit,
              ...(unit.endsWith('.target')
                ? systemdServices(plan, artifacts).filter((s) => s.includes('@'))
                : []),
            ],
          },
          { kind: 'exec', argv: ['systemctl', 'disable', unit] },
          // Per-port instances keep their shared runtime directory (RuntimeDirectoryPreserve=):
          // the last one stopped leaves it.
          ...(unit.endsWith('.target') && plan.site.runDir.startsWith('/run/')
            ? [{ kind: 'remove' as const, path: plan.site.runDir, recursive: true }]
            : []),
          // systemd keeps a StateDirectory= after the stop (the broker's queued tasks, beat's
          // schedule): the stack's account is deleted next, so its files go with it.
          ...stateDirsOf(plan, unit).map((path) => ({ kind: 'remove' as const, path, recursive: true })),
        ],
      });
      if (state.active && restart)
        add({
          id: `unit-restart:${unit}`,
          title: `systemctl restart ${unit}`,
          why: 'its files changed',
          done: false,
          commands: [{ kind: 'exec', argv: ['systemctl', 'restart', unit] }],
          undo: [],
        });
    }
    add(readyCheck(name, endpoints, systemdServices(plan, artifacts), systemdServices(plan, artifacts)));
    // The gateway's unit now answers the challenge on port 80: certbot can get the certificate.
    // Its hook's `systemctl reload` returns once ExecReload= has sent the SIGHUP.
    if (acme && !distro) for (const step of acmeIssueSteps(acme, facts, null)) add(step);
  }
  if (manager === 'supervisor' && launched.length > 0) {
    const tmpfiles = artifacts.find((a) => a.path.startsWith('tmpfiles/'));
    if (tmpfiles) {
      const link = `/etc/tmpfiles.d/stackgen-${name}.conf`;
      add({
        id: `tmpfiles:${link}`,
        title: `ln -s ${join(dir, tmpfiles.path)} ${link} && systemd-tmpfiles --create ${link}`,
        done: linked(link, join(dir, tmpfiles.path)) && facts.exists.includes(plan.site.runDir),
        commands: [
          { kind: 'symlink', link, target: join(dir, tmpfiles.path) },
          { kind: 'exec', argv: ['systemd-tmpfiles', '--create', link] },
        ],
        undo: [
          { kind: 'remove', path: link },
          { kind: 'remove', path: plan.site.runDir, recursive: true },
          { kind: 'remove', path: plan.site.logDir, recursive: true },
          // The broker's run directory and the state directories the same file makes.
          ...plan.launches.flatMap((l) =>
            [
              ...(l.ownsRunDir && l.runDir !== plan.site.runDir ? [l.runDir] : []),
              ...(l.stateDir ? [l.stateDir] : []),
            ].map((path) => ({ kind: 'remove' as const, path, recursive: true })),
          ),
        ],
      });
    }
    const distro = MANAGERS.supervisor.distro!;
    const programsFile = join(dir, `supervisor/${name}.conf`);
    const link = join(distro.includeDir, `${name}.conf`);
    const programs = supervisorPrograms(plan);
    add({
      id: `supervisor-link:${link}`,
      title: `ln -s ${programsFile} ${link}`,
      done: linked(link, programsFile),
      commands: [{ kind: 'symlink', link, target: programsFile }],
      undo: [
        { kind: 'remove', path: link },
        { kind: 'exec', argv: ['supervisorctl', 'reread'] },
        { kind: 'exec', argv: ['supervisorctl', 'update'] },
      ],
    });
    const running = programs.every((p) => facts.supervisorRunning.includes(p));
    add({
      id: 'supervisor-update',
      title: 'supervisorctl reread && supervisorctl update',
      done: running && !changed.some((a) => a.path.startsWith('supervisor/') || a.component === 'app'),
      commands: [
        { kind: 'exec', argv: ['supervisorctl', 'reread'] },
        { kind: 'exec', argv: ['supervisorctl', 'update'] },
        { kind: 'wait-supervisor', programs },
      ],
      undo: [],
    });
    if (endpoints.length) add(readyCheck(name, endpoints, [], [distro.service]));
  }

  // --- the distribution's proxy (Debian's nginx) ---------------------------------------
  if (distro) {
    const kind = plan.front.kind;
    // The stack's site is default_server on its ports in both cases: its own server with
    // server_name _, or its catch-all (444) in front of a real server_name. Two
    // default_server claims on one address fail `nginx -t`, and without the claim Debian's
    // site would answer every Host but the stack's: it goes, recorded so uninstall puts it back.
    const ports = [...new Set(plan.front.listens.map((l) => l.port))];
    const claimed = ports.filter(
      (p) => facts.defaultSiteText !== null && distro.claimsDefaultServer(facts.defaultSiteText, p),
    );
    const defaultSiteId = `${kind}-default-site:${distro.defaultSite}`;
    const removedBefore = facts.claims[defaultSiteId];
    // Debian's apache2: a2dissite 000-default (a2ensite puts it back); nginx: the link goes.
    const defaultName = basename(distro.defaultSite, '.conf');
    const dissite = distro.sitesAvailable
      ? {
          title: `${distro.sitesAvailable.disable.join(' ')} ${defaultName}`,
          commands: [{ kind: 'exec' as const, argv: [...distro.sitesAvailable.disable, defaultName] }],
          undo: [{ kind: 'exec' as const, argv: [...distro.sitesAvailable.enable, defaultName] }],
        }
      : null;
    if (claimed.length > 0) {
      const target = facts.links[distro.defaultSite];
      const port = claimed.join(', ');
      add({
        id: defaultSiteId,
        title: dissite?.title ?? `rm ${distro.defaultSite}`,
        why:
          plan.spec.proxy.server_name === '_'
            ? `Debian's default site claims default_server on port ${port}; the stack answers every Host there`
            : `Debian's default site claims default_server on port ${port}; the stack's catch-all refuses every Host but ${plan.spec.proxy.server_name} there (444)`,
        done: false,
        shared: true,
        commands: dissite?.commands ?? [{ kind: 'remove', path: distro.defaultSite }],
        undo: dissite?.undo ?? (target ? [{ kind: 'symlink', link: distro.defaultSite, target }] : []),
      });
    } else if (removedBefore && facts.defaultSiteText === null) {
      // Another stack took it away: this one needs it gone as well, so it is put back only
      // when the last of them is uninstalled.
      add({
        id: defaultSiteId,
        title: dissite?.title ?? `rm ${distro.defaultSite}`,
        why: `already gone for ${removedBefore.stacks.join(', ')}; kept so while this stack is installed`,
        done: true,
        shared: true,
        commands: dissite?.commands ?? [{ kind: 'remove', path: distro.defaultSite }],
        undo: removedBefore.undo,
      });
    }
    // The catch-all of each address: a copy every stack with a real name on it shares.
    for (const f of PROXY_RECIPES[kind].sharedFiles?.(plan) ?? []) {
      const content = artifacts.find((a) => a.path === f.path)?.content;
      if (content === undefined) continue;
      add({
        id: `${kind}-shared:${f.installPath}`,
        title: `install -m 0644 ${join(dir, f.path)} ${f.installPath}`,
        why: facts.claims[`${kind}-shared:${f.installPath}`]
          ? `shared with ${facts.claims[`${kind}-shared:${f.installPath}`]!.stacks.join(', ')}`
          : f.what,
        done: facts.files[f.installPath] === content,
        shared: true,
        commands: [{ kind: 'write-file', path: f.installPath, content, mode: 0o644 }],
        undo: [{ kind: 'remove', path: f.installPath }],
      });
    }
    // The modules the site needs, with the distribution's own tool (Debian's a2enmod): one
    // already enabled stays as it is unless a stack of stackgen's enabled it (a claim), and
    // the last stack that needs a module it enabled disables it again.
    const modules = distro.modules;
    for (const m of modules ? (PROXY_RECIPES[kind].modules?.(plan) ?? []) : []) {
      const id = `${kind}-module:${m}`;
      const enabled = facts.exists.includes(join(modules!.enabledDir, `${m}.load`));
      const claim = facts.claims[id];
      if (enabled && !claim) continue;
      add({
        id,
        title: `${modules!.enable.join(' ')} ${m}`,
        why: claim ? `enabled for ${claim.stacks.join(', ')}` : undefined,
        done: enabled,
        shared: true,
        commands: [{ kind: 'exec', argv: [...modules!.enable, m] }],
        undo: claim ? claim.undo : [{ kind: 'exec', argv: [...modules!.disable, m] }],
      });
    }
    const site = plan.files[distro.siteFile];
    // Debian's apache2: the site is a file of sites-available that a2ensite enables; nginx:
    // a link straight into sites-enabled.
    const available = distro.sitesAvailable;
    const link = join(available ? available.dir : distro.sitesEnabled, `${name}.conf`);
    const enabledLink = join(distro.sitesEnabled, `${name}.conf`);
    const siteDone =
      linked(link, site) &&
      (!available || facts.links[enabledLink] === `../${basename(available.dir)}/${name}.conf`);
    add({
      id: `${kind}-site:${link}`,
      title: `ln -s ${site} ${link}`,
      done: linked(link, site),
      commands: [{ kind: 'symlink', link, target: site }],
      undo: [{ kind: 'remove', path: link }],
    });
    if (available)
      add({
        id: `${kind}-ensite:${name}`,
        title: `${available.enable.join(' ')} ${name}`,
        done: siteDone,
        commands: [{ kind: 'exec', argv: [...available.enable, name] }],
        undo: [{ kind: 'exec', argv: [...available.disable, name] }],
      });
    // The webroot first: its parent is made 0755 (nginx's workers read the tokens below it),
    // then the placeholder's directory, root's alone, inside it.
    if (acme) for (const step of acmePlaceholderSteps(acme, facts)) add(step);
    const frontChanged =
      !siteDone ||
      steps.some((s) => s.id === 'acme-placeholder' && !s.done) ||
      changed.some((a) => a.component === kind) ||
      // New group membership reaches nginx's workers only through a reload (initgroups at start).
      steps.some((s) => s.id.startsWith(`member:${proxyUser}:`) && !s.done) ||
      steps.some((s) => s.id.startsWith(`${kind}-default-site:`) && !s.done) ||
      steps.some((s) => s.id.startsWith(`${kind}-module:`) && !s.done) ||
      steps.some((s) => s.id.startsWith(`${kind}-shared:`) && !s.done);
    add({
      id: `${kind}-test`,
      title: distro.configTest.join(' '),
      done: !frontChanged,
      commands: [{ kind: 'exec', argv: distro.configTest }],
      undo: [],
    });
    const active = facts.units[`${distro.service}.service`]?.active ?? false;
    // A module that takes effect only when the master starts (mod_cgid's daemon), enabled by
    // this run: a restart, once, instead of the graceful reload.
    const restartFor = modules?.restartWhenEnabled;
    const restart =
      active &&
      restartFor !== undefined &&
      steps.some((s) => restartFor.modules.some((m) => s.id === `${kind}-module:${m}`) && !s.done);
    add({
      id: `${kind}-reload`,
      title: !active
        ? `systemctl enable --now ${distro.service}`
        : restart
          ? `systemctl restart ${distro.service}`
          : `systemctl reload ${distro.service}`,
      why: restart ? restartFor!.why : undefined,
      done: !frontChanged && active,
      commands: [
        !active
          ? { kind: 'exec', argv: ['systemctl', 'enable', '--now', distro.service] }
          : restart
            ? { kind: 'exec', argv: ['systemctl', 'restart', distro.service] }
            : { kind: 'reload', service: distro.service, pidFile: distro.pidFile },
      ],
      undo: [],
    });
    // nginx now answers the challenge on port 80: the CA can validate, certbot can issue.
    if (acme) for (const step of acmeIssueSteps(acme, facts, distro)) add(step);
  }
  // Last: a request through the front, as a client would send it.
  if (plan.launches.length > 0 && (manager !== 'none' || distro !== null)) {
    const { host, port } = plan.front.listen;
    const name0 = plan.spec.proxy.server_name.split(/\s+/)[0];
    add({
      id: 'front-answers',
      title: `curl http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/  (not 502/503/504)`,
      done: false,
      check: true,
      commands: [
        {
          kind: 'wait-answer',
          host: host === '0.0.0.0' ? '127.0.0.1' : host,
          port,
          hostHeader: name0 && name0 !== '_' ? name0 : undefined,
          logUnits: manager === 'systemd' ? systemdServices(plan, artifacts) : [],
        },
      ],
      undo: [],
    });
  }
  return steps;
}

/** The webroot and the self-signed pair the front starts with before the first issuance. */
function acmePlaceholderSteps(a: AcmePlan, facts: HostFacts): InstallStep[] {
  return [
    {
      id: `acme-webroot:${a.webroot}`,
      title: `install -d -m 0755 ${a.webroot}`,
      why: `certbot --webroot writes the challenge tokens here; ${a.frontTitle} serves /.well-known/acme-challenge/ from it`,
      done: facts.exists.includes(a.webroot),
      commands: [{ kind: 'mkdir', path: a.webroot, mode: 0o755, owner: 'root', group: 'root' }],
      undo: [{ kind: 'remove', path: a.webroot, recursive: true }],
    },
    {
      id: 'acme-placeholder',
      title: `install -d -m 0700 ${a.certDir} && ${placeholderArgv(a).join(' ')}`,
      why: `proxy.tls.acme: ${a.frontTitle} must start and serve the ACME challenge on port 80 before any certificate exists — a self-signed placeholder until certbot has one`,
      done: facts.exists.includes(a.cert) && facts.exists.includes(a.key),
      commands: [
        { kind: 'mkdir', path: a.certDir, mode: 0o700, owner: 'root', group: 'root' },
        { kind: 'exec', argv: placeholderArgv(a) },
      ],
      undo: [{ kind: 'remove', path: a.certDir, recursive: true }],
    },
  ];
}

/**
 * The first `certbot certonly`, and Debian's renewal timer. `distro`: the distribution's
 * front (nginx), whose new workers install waits for; null: the stack's own unit (the gateway).
 */
function acmeIssueSteps(
  a: AcmePlan,
  facts: HostFacts,
  distro: { service: string; pidFile: string } | null,
): InstallStep[] {
  const live = `${a.liveDir}/fullchain.pem`;
  const timer = facts.units['certbot.timer'] ?? { enabled: false, active: false };
  return [
    {
      id: `acme-certificate:${a.certName}`,
      title: certonlyArgv(a).join(' '),
      why: `the first issuance from ${a.directory}; its deploy hook links ${a.certDir} into ${a.liveDir} and reloads the front (${a.reloadCommand}), and certbot keeps the webroot, the directory and the hook in ${a.renewalConf} for every renewal`,
      done: facts.links[a.cert] === live && facts.exists.includes(a.renewalConf),
      commands: [
        { kind: 'exec', argv: certonlyArgv(a) },
        // The hook's `systemctl reload nginx` returns at once: wait until the new workers serve.
        ...(distro ? [{ kind: 'reload' as const, service: distro.service, pidFile: distro.pidFile }] : []),
      ],
      undo: [{ kind: 'exec', argv: ['certbot', 'delete', '--non-interactive', '--cert-name', a.certName] }],
    },
    {
      id: 'certbot-timer',
      title: 'systemctl enable --now certbot.timer',
      why: "Debian's timer runs `certbot renew` twice a day: each certificate within 30 days of expiry is renewed, with its deploy hook",
      done: timer.enabled && timer.active,
      commands: [{ kind: 'exec', argv: ['systemctl', 'enable', '--now', 'certbot.timer'] }],
      // Left enabled by uninstall: Debian's package enables it itself, other certificates
      // on the host may need it, and with none it renews nothing.
      undo: [],
    },
  ];
}

/**
 * What is wrong with app.env_file on this host, each in words (none without one). Pure.
 * The manager reads it as root, so root alone may: a file the group or others can read
 * hands the secrets to every account in that group, or to every account at all.
 */
export function envFileProblems(plan: Plan, facts: HostFacts): string[] {
  const path = plan.site.envFile;
  if (path === null) return [];
  const f = facts.envFile;
  if (f === null) return [`app.env_file ${path} does not exist (or cannot be read)`];
  const problems: string[] = [];
  const mode = f.mode.toString(8).padStart(3, '0');
  if (f.uid !== 0)
    problems.push(`app.env_file ${path} is owned by uid ${f.uid}, not root: chown root:root ${path}`);
  if ((f.mode & 0o077) !== 0)
    problems.push(
      `app.env_file ${path} has mode ${mode}: group or others can read the secrets: chmod 600 ${path}`,
    );
  problems.push(...f.problems.map((p) => `app.env_file ${path} ${p}`));
  return problems;
}

/** Preconditions a host must meet before any step runs: each a problem in words. Pure. */
export function installProblems(plan: Plan, facts: HostFacts): string[] {
  const problems: string[] = [];
  const manager = plan.spec.processes.manager;
  const front = PROXIES[plan.front.kind];
  const distro = front.distro;
  if ((manager === 'systemd' || manager === 'supervisor' || distro) && !facts.systemd)
    problems.push(
      'systemd is not running as PID 1 here: install enables units and reloads services with systemctl',
    );
  if (distro && facts.frontUser !== null && facts.frontUser !== plan.site.users.proxy)
    problems.push(
      `the distribution's ${front.title} runs its workers as ${facts.frontUser} (${distro.mainConfig}), but proxy.user is ${plan.site.users.proxy}: set proxy.user: ${facts.frontUser} in stack.yaml`,
    );
  if (distro && !facts.exists.includes(distro.sitesEnabled))
    problems.push(
      `${distro.sitesEnabled} does not exist: install Debian's ${front.title} (apt-get install ${front.programs[0]?.package})`,
    );
  if (manager === 'supervisor' && !facts.exists.includes(MANAGERS.supervisor.distro!.includeDir))
    problems.push(`${MANAGERS.supervisor.distro!.includeDir} does not exist: install Debian's supervisor`);
  problems.push(...portProblems(plan, facts));
  return problems;
}

/** Every link path and unit name the plan's steps may look at (what facts.ts must read). */
export function factQueries(
  plan: Plan,
  artifacts: readonly Artifact[],
): { links: string[]; units: string[]; paths: string[] } {
  const dir = plan.site.configDir;
  const distro = PROXIES[plan.front.kind].distro;
  const links = [
    ...unitArtifacts(artifacts).map((a) => join(SYSTEMD_DIR, a.path.slice('systemd/'.length))),
    `/etc/tmpfiles.d/stackgen-${plan.name}.conf`,
    join(MANAGERS.supervisor.distro!.includeDir, `${plan.name}.conf`),
    ...(distro ? [join(distro.sitesEnabled, `${plan.name}.conf`), distro.defaultSite] : []),
    ...(distro?.sitesAvailable ? [join(distro.sitesAvailable.dir, `${plan.name}.conf`)] : []),
  ];
  const acme = acmePlan(plan);
  if (acme) links.push(acme.cert);
  const units = [
    ...startUnits(artifacts),
    ...(distro ? [`${distro.service}.service`] : []),
    ...(acme ? ['certbot.timer'] : []),
  ];
  const paths = [
    ...(acme ? [acme.cert, acme.key, acme.renewalConf, acme.webroot] : []),
    dir,
    plan.site.runDir,
    ...(distro ? [distro.sitesEnabled] : []),
    ...(distro?.modules
      ? (PROXY_RECIPES[plan.front.kind].modules?.(plan) ?? []).map((m) =>
          join(distro.modules!.enabledDir, `${m}.load`),
        )
      : []),
    MANAGERS.supervisor.distro!.includeDir,
    dirname(manifestPath(plan.name)),
    ...(plan.site.stackgenCommand[0] ? [plan.site.stackgenCommand[0]] : []),
  ];
  return { links, units, paths };
}

/** The check that every process of the stack accepts connections (and its units stay up). */
function readyCheck(
  what: string,
  endpoints: BoundEndpoint[],
  systemdUnits: string[],
  logUnits: string[],
): InstallStep {
  return {
    id: 'units-ready',
    title: `wait until ${endpoints.map(endpointText).join(', ')} accept connections`,
    done: false,
    check: true,
    commands: [{ kind: 'wait-ready', what, endpoints, systemdUnits, logUnits }],
    undo: [],
  };
}

function endpointText(ep: BoundEndpoint): string {
  return ep.kind === 'unix' ? ep.path : `${ep.host}:${ep.port}`;
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
