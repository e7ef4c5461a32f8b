// What `stackgen check` runs, as data: each check definition looks at a plan rendered for
// a sandbox site and returns the steps that apply to it — a real tool, the file it reads,
// and how to judge the tool's answer. Pure: src/check/runner.ts is the only part that
// spawns anything, so `verify` can reuse the same list against its own sandbox.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../render/artifacts.js';
import type { Plan } from '../render/plan.js';
import type { Verdict } from '../report/verdict.js';
import { contractFacts } from '../render/app-contract.js';
import { APP_CONTRACTS, type SettingsValues } from '../topology/catalog/app-contracts.js';
import { MANAGERS } from '../topology/catalog/proxies.js';
import { recipeChecks } from '../topology/catalog/recipes.js';
import { tlsFileProblems } from '../tls/files.js';
import { describeEnd, judgeExitCode, type ToolOutput } from './judge.js';

/** Debian's interpreter: the one supervisor's package installs its modules for. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** systemd-analyze security: an app server unit must score at or below this exposure. */
export const MAX_EXPOSURE = 2.0;

/** What a step needs installed; a missing program is a failed check with this install hint. */
export interface ToolNeed {
  program: string;
  /** Debian package that provides it. */
  package: string;
}

export type StepAction =
  | {
      kind: 'exec';
      argv: string[];
      cwd?: string | undefined;
      env?: Record<string, string> | undefined;
      timeoutMs: number;
      judge: (out: ToolOutput) => Verdict;
    }
  /** An in-process validator (the gateway's own config loader); throws to fail. */
  | { kind: 'call'; run: () => Promise<string | null> };

export interface CheckStep {
  /** Definition id, e.g. `nginx-test`. */
  check: string;
  /** What ran, as a user would type it: `nginx -t`. */
  title: string;
  /** The generated file it checked, relative to the deploy dir. */
  subject: string;
  need: ToolNeed | null;
  /** Directories to create and files to copy before the tool runs. */
  prepare: { mkdir: string[]; copy: Array<{ from: string; to: string }> };
  action: StepAction;
}

export interface CheckContext {
  plan: Plan;
  artifacts: readonly Artifact[];
  /** The sandbox directory (the site's deploy dir is `<dir>/deploy`). */
  dir: string;
  /** How to validate a gateway config file in-process (null: no loader available). */
  loadGatewayConfig: ((file: string) => Promise<unknown>) | null;
}

export interface CheckDefinition {
  id: string;
  /** The steps for this stack; empty when the check does not apply. */
  steps: (ctx: CheckContext) => CheckStep[];
}

const NO_PREPARE = { mkdir: [], copy: [] };

/**
 * The config tests of the stack's own front and app server (nginx -t, uwsgi --strict,
 * gunicorn --check-config, the gateway's loader): catalog entries (catalog/checks.ts),
 * named by each server's and proxy's recipe.
 */
const componentChecks: CheckDefinition = {
  id: 'component-checks',
  steps: (ctx) => recipeChecks(ctx.plan).definitions.flatMap((d) => d.steps(ctx)),
};

/** The deploy-dir-absolute path of an artifact. */
const deployPath = (ctx: CheckContext, rel: string) => join(ctx.plan.site.configDir, rel);

// --- systemd -------------------------------------------------------------------------

/** Unit files to analyze: a template unit (name@.service) as the instances it is started as. */
function systemdUnits(
  ctx: CheckContext,
): Array<{ subject: string; file: string; copy: CheckStep['prepare'] }> {
  const units = ctx.artifacts.filter((a) => a.path.startsWith('systemd/') && a.path.endsWith('.service'));
  return units.flatMap((a) => {
    const source = deployPath(ctx, a.path);
    if (!a.path.endsWith('@.service')) return [{ subject: a.path, file: source, copy: NO_PREPARE }];
    // systemd-analyze wants an instance: copy the template to name@<instance>.service so %i
    // expands to what the target really starts (tornado: the port).
    const base = a.path.slice('systemd/'.length, -'@.service'.length);
    const dir = join(ctx.dir, 'check', 'systemd');
    return ctx.plan.launches
      .filter((l) => l.instance !== null && l.component === a.component)
      .map((l) => {
        const file = join(dir, `${base}@${l.instance}.service`);
        return {
          subject: `${a.path} as ${base}@${l.instance}.service`,
          file,
          copy: { mkdir: [dir], copy: [{ from: source, to: file }] },
        };
      });
  });
}

/**
 * systemd-analyze verify: loads the unit like systemd would and checks that every
 * ExecStart binary exists. Unknown keys are only logged (exit code 0), so any line that
 * names the unit file counts as a failure too.
 */
const systemdVerify: CheckDefinition = {
  id: 'systemd-verify',
  steps: (ctx) => {
    if (ctx.plan.spec.processes.manager !== 'systemd') return [];
    const systemd = MANAGERS.systemd.programs[0]!;
    const targets = ctx.artifacts.filter((a) => a.path.endsWith('.target'));
    const units = systemdUnits(ctx);
    return [
      ...units.map((u) => verifyStep(u.subject, [u.file], u.copy, systemd.package)),
      ...targets.map((t) => {
        // A target Wants= its instances: verify them together so the names resolve.
        const instances = units.map((u) => u.file);
        const copy = {
          mkdir: units.flatMap((u) => u.copy.mkdir),
          copy: units.flatMap((u) => u.copy.copy),
        };
        return verifyStep(t.path, [deployPath(ctx, t.path), ...instances], copy, systemd.package);
      }),
    ];
  },
};

function verifyStep(subject: string, files: string[], prepare: CheckStep['prepare'], pkg: string): CheckStep {
  return {
    check: 'systemd-verify',
    title: 'systemd-analyze verify',
    subject,
    need: { program: 'systemd-analyze', package: pkg },
    prepare,
    action: {
      kind: 'exec',
      argv: ['systemd-analyze', 'verify', ...files],
      timeoutMs: 30_000,
      judge: (out) => judgeSystemdVerify(out, files),
    },
  };
}

/** Fail on a non-zero exit or on any line about one of our unit files (unknown keys, bad values). */
export function judgeSystemdVerify(out: ToolOutput, files: readonly string[]): Verdict {
  const names = files.map((f) => f.slice(f.lastIndexOf('/') + 1));
  const ours = out.output.split('\n').filter((l) => names.some((n) => l.includes(n)));
  const ok = out.exitCode === 0 && !out.timedOut && ours.length === 0;
  return { status: ok ? 'pass' : 'fail', actual: '', detail: describeEnd(out) };
}

/**
 * systemd-analyze security --offline=yes: scores the sandboxing of the app server's unit
 * (0 = locked down, 10 = exposed). stackgen's units promise ≤ MAX_EXPOSURE.
 */
const systemdSecurity: CheckDefinition = {
  id: 'systemd-security',
  steps: (ctx) => {
    if (ctx.plan.spec.processes.manager !== 'systemd') return [];
    const systemd = MANAGERS.systemd.programs[0]!;
    return systemdUnits(ctx).map((u) => ({
      check: 'systemd-security',
      title: 'systemd-analyze security',
      subject: u.subject,
      need: { program: 'systemd-analyze', package: systemd.package },
      prepare: u.copy,
      action: {
        kind: 'exec',
        argv: ['systemd-analyze', 'security', '--offline=yes', '--no-pager', u.file],
        timeoutMs: 30_000,
        judge: judgeExposure,
      },
    }));
  },
};

/** The number in "→ Overall exposure level for x.service: 1.4 OK". */
export function parseExposure(output: string): number | null {
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(output);
  return m ? Number(m[1]) : null;
}

export function judgeExposure(out: ToolOutput): Verdict {
  const exposure = parseExposure(out.output);
  if (out.exitCode !== 0 || exposure === null) {
    return { status: 'fail', actual: 'no exposure level reported', detail: describeEnd(out) };
  }
  const ok = exposure <= MAX_EXPOSURE;
  // On failure the ✗ lines are the tool's own explanation of what to tighten.
  const exposed = out.output
    .split('\n')
    .filter((l) => l.startsWith('✗'))
    .map((l) => l.replace(/\s{2,}/g, '  ').trim());
  return {
    status: ok ? 'pass' : 'fail',
    actual: `exposure ${exposure.toFixed(1)} ${ok ? '≤' : '>'} ${MAX_EXPOSURE.toFixed(1)}`,
    detail: ok ? '' : [...exposed, out.output.trim().split('\n').at(-1) ?? ''].join('\n'),
  };
}

// --- app servers ---------------------------------------------------------------------

/**
 * The app's entry point imports under the stack's interpreter with the stack's
 * environment, for servers that have no config check of their own that does it
 * (uWSGI, uvicorn, waitress, tornado, wsgiref, the CGI adapter).
 */
const appImport: CheckDefinition = {
  id: 'app-import',
  steps: (ctx) => {
    const { plan } = ctx;
    // A server's own config check may import it already (gunicorn --check-config); a plain
    // CGI script has no entry point.
    if (recipeChecks(plan).importsApp || plan.spec.app.interface === 'cgi' || plan.app.module === '')
      return [];
    const python = plan.site.python;
    const script = [
      'import importlib, sys',
      'sys.path.insert(0, sys.argv[1])',
      'module = importlib.import_module(sys.argv[2])',
      'name = sys.argv[3]',
      'if name and not hasattr(module, name):',
      '    sys.exit(f"{sys.argv[2]} has no attribute {name!r}")',
    ].join('\n');
    return [
      {
        check: 'app-import',
        title: `${python} import ${plan.app.entry}`,
        subject: plan.app.root,
        need: { program: python, package: 'python3' },
        prepare: NO_PREPARE,
        action: {
          kind: 'exec',
          argv: [python, '-c', script, plan.app.root, plan.app.module, plan.app.callable],
          cwd: plan.app.root,
          // The app's own launch environment (PYTHONPATH of a WSGI-file loader included).
          env: {
            ...(plan.launches.find((l) => l.component === 'app')?.env ?? {}),
            PYTHONDONTWRITEBYTECODE: '1',
          },
          timeoutMs: 60_000,
          judge: judgeExitCode,
        },
      },
    ];
  },
};

/**
 * Read settings attributes from the app's settings module: the app root on sys.path, the
 * module from the stack's env; each attribute or its framework default, as one JSON line.
 */
const SETTINGS_READ = [
  'import importlib, json, sys',
  'sys.path.insert(0, sys.argv[1])',
  'module = importlib.import_module(sys.argv[2])',
  'defaults = json.loads(sys.argv[3])',
  'values = {k: getattr(module, k, v) for k, v in defaults.items()}',
  "values['__file__'] = getattr(module, '__file__', None)",
  'print(json.dumps(values, default=repr))',
].join('\n');

/**
 * The app's own settings agree with the stack (Django: ALLOWED_HOSTS against server_name,
 * DATA_UPLOAD_MAX_MEMORY_SIZE against max_body). A disagreement is a warning with where,
 * what and what to do — the stack itself is fine, and no other check depends on it.
 */
const appSettings: CheckDefinition = {
  id: 'app-settings',
  steps: (ctx) => {
    const { plan } = ctx;
    const settings = APP_CONTRACTS[plan.spec.app.framework]?.settings;
    const module = settings ? plan.spec.app.env[settings.envVar] : undefined;
    if (!settings || !module) return [];
    const facts = contractFacts(plan);
    const python = plan.site.python;
    return [
      {
        check: 'app-settings',
        title: `${settings.envVar}=${module} against the stack`,
        subject: plan.app.root,
        need: { program: python, package: 'python3' },
        prepare: NO_PREPARE,
        action: {
          kind: 'exec',
          argv: [python, '-c', SETTINGS_READ, plan.app.root, module, JSON.stringify(settings.read)],
          cwd: plan.app.root,
          env: {
            ...(plan.launches.find((l) => l.component === 'app')?.env ?? {}),
            PYTHONDONTWRITEBYTECODE: '1',
          },
          timeoutMs: 60_000,
          judge: (out) => judgeAppSettings(out, module, (v) => settings.disagreements(v, facts)),
        },
      },
    ];
  },
};

/** Pass, with a warning per disagreement; settings that cannot be imported are a warning too. Pure. */
export function judgeAppSettings(
  out: ToolOutput,
  module: string,
  disagreements: (values: SettingsValues) => string[],
): Verdict {
  const line = out.output.trim().split('\n').at(-1) ?? '';
  let values: SettingsValues | null = null;
  try {
    values = out.exitCode === 0 ? (JSON.parse(line) as SettingsValues) : null;
  } catch {
    values = null;
  }
  if (values === null)
    return {
      status: 'pass',
      actual: 'settings not read',
      warnings: [
        `cannot import ${module} to compare it with the stack: ${describeEnd(out).split('\n').at(-1)}`,
      ],
    };
  const found = disagreements(values);
  return {
    status: 'pass',
    actual: found.length ? `${found.length} disagreement(s) with the stack` : 'agree with the stack',
    warnings: found,
  };
}

/** py_compile: the runner scripts and the CGI adapter are Python that stackgen generated. */
const pythonCompile: CheckDefinition = {
  id: 'python-compile',
  steps: (ctx) =>
    ctx.artifacts
      .filter((a) => a.path.startsWith('python/') || a.path.startsWith('cgi/'))
      .map((a) => ({
        check: 'python-compile',
        title: `${ctx.plan.site.python} -m py_compile`,
        subject: a.path,
        need: { program: ctx.plan.site.python, package: 'python3' },
        prepare: NO_PREPARE,
        action: {
          kind: 'exec',
          // Compile into the sandbox, not into __pycache__ next to the file.
          argv: [ctx.plan.site.python, '-m', 'py_compile', deployPath(ctx, a.path)],
          env: { PYTHONPYCACHEPREFIX: join(ctx.dir, 'check', 'pycache') },
          timeoutMs: 30_000,
          judge: judgeExitCode,
        },
      })),
};

// --- process managers and the gateway ------------------------------------------------

/**
 * supervisord's own option processing: ServerOptions.realize() reads the config and its
 * [include]s and validates every value (signals, users, paths) exactly as supervisord
 * does at startup, then returns — it starts nothing. Errors exit 2 with the message.
 */
const SUPERVISOR_REALIZE = [
  'import sys',
  'from supervisor.options import ServerOptions',
  'options = ServerOptions()',
  "options.realize(['-c', sys.argv[1]])",
  'for group in options.process_group_configs:',
  "    print(f'program {group.name}: {len(group.process_configs)} process(es)')",
].join('\n');

const supervisorOptions: CheckDefinition = {
  id: 'supervisor-options',
  steps: (ctx) => {
    if (ctx.plan.spec.processes.manager !== 'supervisor') return [];
    const supervisor = MANAGERS.supervisor.programs[0]!;
    return [
      {
        check: 'supervisor-options',
        title: 'supervisord options',
        subject: 'supervisor/supervisord.conf',
        need: { program: 'supervisord', package: supervisor.package },
        // childlogdir and the socket's directory must exist for realize() to accept them.
        prepare: { mkdir: [ctx.plan.site.logDir, ctx.plan.site.runDir], copy: [] },
        action: {
          kind: 'exec',
          argv: [DEBIAN_PYTHON, '-c', SUPERVISOR_REALIZE, ctx.plan.files.supervisordConf],
          timeoutMs: 30_000,
          judge: judgeExitCode,
        },
      },
    ];
  },
};

/**
 * Static directories exist: nginx and the gateway accept an alias to nowhere and answer
 * every request below it with 404, so no config test catches it.
 */
const staticDirectories: CheckDefinition = {
  id: 'static-dirs',
  steps: (ctx) =>
    ctx.plan.app.static.map(({ url, dir }) => ({
      check: 'static-dirs',
      title: `static directory for ${url}`,
      subject: dir,
      need: null,
      prepare: NO_PREPARE,
      action: {
        kind: 'call',
        run: async () => {
          let isDir = false;
          try {
            isDir = statSync(dir).isDirectory();
          } catch {
            // does not exist
          }
          if (!isDir)
            throw new Error(
              `${dir} does not exist: every ${url} request would be a 404 (create it, e.g. Django's collectstatic, or fix app.static)`,
            );
          return null;
        },
      },
    })),
};

/**
 * proxy.tls's certificate files (the user's, not the throwaway one `nginx -t` ran with): they
 * exist, the key belongs to the certificate, it has not expired, and the key is private.
 * `nginx -t` would say only "cannot load certificate", and only on the host itself.
 */
const tlsFiles: CheckDefinition = {
  id: 'tls-files',
  steps: (ctx) => {
    const tls = ctx.plan.site.tls;
    if (tls === null || ctx.plan.spec.proxy.tls === 'off' || !('cert' in ctx.plan.spec.proxy.tls)) return [];
    const files = tls.replaces ?? tls;
    return [
      {
        check: 'tls-files',
        title: 'proxy.tls certificate and key',
        subject: files.cert,
        need: null,
        prepare: NO_PREPARE,
        action: {
          kind: 'call',
          run: async () => {
            const problems = tlsFileProblems(files.cert, files.key);
            if (problems.length > 0) throw new Error(problems.join('; '));
            return `${files.key} matches ${files.cert}`;
          },
        },
      },
    ];
  },
};

/** Every check, in the order they are reported. */
export const CHECKS: readonly CheckDefinition[] = [
  staticDirectories,
  tlsFiles,
  componentChecks,
  appImport,
  appSettings,
  pythonCompile,
  supervisorOptions,
  systemdVerify,
  systemdSecurity,
];

/** The steps every applicable check contributes for this sandbox-rendered stack. */
export function checkSteps(ctx: CheckContext, checks: readonly CheckDefinition[] = CHECKS): CheckStep[] {
  return checks.flatMap((c) => c.steps(ctx));
}
