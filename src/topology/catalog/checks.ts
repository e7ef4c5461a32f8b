// The config tests of each front and app server, as catalog entries: `stackgen check` runs
// the ones a stack's recipes name (recipes.ts), each a real tool against the rendered file.
// Pure: the steps say what to run; src/check/runner.ts runs them.

import type { CheckDefinition } from '../../check/definitions.js';
import { judgeExitCode, type ToolOutput } from '../../check/judge.js';
import type { Verdict } from '../../report/verdict.js';
import { PROXIES } from './proxies.js';
import { SERVERS } from './servers.js';

const NO_PREPARE = { mkdir: [], copy: [] };

// --- nginx ---------------------------------------------------------------------------

/**
 * nginx -t: parse the whole config and open every file it names. -p and -e keep nginx
 * from touching its compiled-in prefix and /var/log/nginx/error.log (both root-owned)
 * before it has read the sandbox config, which moves pid, logs and temp paths anyway.
 */
export const nginxTest: CheckDefinition = {
  id: 'nginx-test',
  steps: (ctx) => {
    const { site } = ctx.plan;
    const conf = ctx.plan.files.nginxConf;
    const nginx = PROXIES.nginx.programs[0]!;
    return [
      {
        check: 'nginx-test',
        title: 'nginx -t',
        subject: 'nginx/nginx.conf',
        need: { program: 'nginx', package: nginx.package },
        prepare: { mkdir: [site.nginx.tempDir, site.logDir, site.runDir], copy: [] },
        action: {
          kind: 'exec',
          argv: ['nginx', '-t', '-p', `${ctx.dir}/`, '-e', site.nginx.errorLog, '-c', conf],
          timeoutMs: 15_000,
          judge: judgeNginx,
        },
      },
    ];
  },
};

/** nginx -t exits 0 when the config is valid; `[warn]` lines (e.g. `user` when not root) are warnings. */
export function judgeNginx(out: ToolOutput): Verdict {
  const verdict = judgeExitCode(out);
  const warnings = out.output.split('\n').filter((l) => l.includes('[warn]'));
  return { ...verdict, warnings: verdict.status === 'pass' ? warnings : [] };
}

// --- Apache ------------------------------------------------------------------------

/**
 * apache2 -t -f: parse the top-level config that verify runs — Debian's layout stood in for —
 * and with it the very site file install enables; every module it names is loaded.
 */
export const apacheTest: CheckDefinition = {
  id: 'apache-test',
  steps: (ctx) => {
    const { site } = ctx.plan;
    const apache = PROXIES.apache.programs[0]!;
    return [
      {
        check: 'apache-test',
        title: 'apache2 -t -f',
        subject: `apache/${ctx.plan.name}.conf`,
        need: { program: 'apache2', package: apache.package },
        prepare: { mkdir: [site.apache.runDir, site.logDir], copy: [] },
        action: {
          kind: 'exec',
          argv: ['apache2', '-t', '-f', ctx.plan.files.apacheConf],
          timeoutMs: 15_000,
          judge: judgeExitCode,
        },
      },
    ];
  },
};

// --- lighttpd ------------------------------------------------------------------------

/**
 * lighttpd -tt -f: parse the config and load (preflight) every module it names, which `-t`
 * alone does not; the very file the unit runs.
 */
export const lighttpdTest: CheckDefinition = {
  id: 'lighttpd-test',
  steps: (ctx) => {
    const lighttpd = PROXIES.lighttpd.programs[0]!;
    return [
      {
        check: 'lighttpd-test',
        title: 'lighttpd -tt -f',
        subject: `lighttpd/${ctx.plan.name}.conf`,
        need: { program: 'lighttpd', package: lighttpd.package },
        prepare: NO_PREPARE,
        action: {
          kind: 'exec',
          argv: ['lighttpd', '-tt', '-f', ctx.plan.files.lighttpdConf],
          timeoutMs: 15_000,
          judge: judgeLighttpd,
        },
      },
    ];
  },
};

/**
 * lighttpd -tt exits 0 for a key it does not know ("WARNING: unknown config-key: … (ignored)"):
 * a setting the config says and lighttpd drops is a failure, not a warning.
 */
export function judgeLighttpd(out: ToolOutput): Verdict {
  const verdict = judgeExitCode(out);
  const ignored = out.output.split('\n').filter((l) => l.includes('WARNING'));
  if (verdict.status === 'pass' && ignored.length > 0)
    return { ...verdict, status: 'fail', actual: ignored.join('; ') };
  return verdict;
}

/**
 * gunicorn --check-config: the launch command with the flag inserted, so the very
 * interpreter, config file and entry point are checked. It imports the app too.
 */
export const gunicornCheckConfig: CheckDefinition = {
  id: 'gunicorn-check-config',
  steps: (ctx) => {
    const launch = ctx.plan.launches.find((l) => l.component === 'app');
    if (!launch) return [];
    const at = launch.argv.indexOf('gunicorn');
    const argv = [...launch.argv.slice(0, at + 1), '--check-config', ...launch.argv.slice(at + 1)];
    return [
      {
        check: 'gunicorn-check-config',
        title: 'gunicorn --check-config',
        subject: `gunicorn/${ctx.plan.name}.conf.py`,
        need: { program: launch.argv[0]!, package: SERVERS.gunicorn.programs[0]!.package },
        prepare: { mkdir: [ctx.plan.site.runDir], copy: [] },
        action: {
          kind: 'exec',
          argv,
          cwd: launch.cwd,
          env: launch.env,
          timeoutMs: 60_000,
          judge: judgeExitCode,
        },
      },
    ];
  },
};

/**
 * uWSGI has no dry-run flag. `--get <option>` is the reliable substitute in 2.0.x: uWSGI
 * parses the ini, loads the plugins it names (python3) and applies `strict = true` —
 * rejecting any option no loaded plugin knows — then prints the value and exits without
 * binding a socket or importing the app. (`--show-config` goes on to start the server;
 * starting it for real is verify's job.)
 */
export const uwsgiStrictOptions: CheckDefinition = {
  id: 'uwsgi-options',
  steps: (ctx) => {
    const ini = ctx.plan.files.uwsgiIni;
    return [
      {
        check: 'uwsgi-options',
        title: 'uwsgi --strict --get',
        subject: `uwsgi/${ctx.plan.name}.ini`,
        need: { program: 'uwsgi', package: SERVERS.uwsgi.programs[0]!.package },
        prepare: NO_PREPARE,
        action: {
          kind: 'exec',
          argv: ['uwsgi', '--ini', ini, '--strict', '--get', 'plugins'],
          timeoutMs: 15_000,
          judge: judgeExitCode,
        },
      },
    ];
  },
};

/** The gateway's own config loader (src/gateway/config.ts), the same code `stackgen gateway` runs. */
export const gatewayConfig: CheckDefinition = {
  id: 'gateway-config',
  steps: (ctx) => {
    const load = ctx.loadGatewayConfig;
    if (load === null) return [];
    const file = ctx.plan.files.gatewayConfig;
    return [
      {
        check: 'gateway-config',
        title: 'stackgen gateway config',
        subject: `gateway/${ctx.plan.name}.yaml`,
        need: null,
        prepare: NO_PREPARE,
        action: {
          kind: 'call',
          run: async () => {
            await load(file);
            return null;
          },
        },
      },
    ];
  },
};

/**
 * php-fpm8.2 -t: parse the generated file (global section and pool) as the unit's php-fpm
 * will, resolve the pool's user and group, and exit; it binds no socket and runs no PHP.
 */
export const phpFpmTest: CheckDefinition = {
  id: 'php-fpm-test',
  steps: (ctx) => {
    const launch = ctx.plan.launches.find((l) => l.component === 'app');
    if (!launch) return [];
    const fpm = SERVERS['php-fpm'].programs[0]!;
    return [
      {
        check: 'php-fpm-test',
        title: `${fpm.program} -t`,
        subject: `php-fpm/${ctx.plan.name}.conf`,
        need: { program: fpm.program, package: fpm.package },
        prepare: { mkdir: [ctx.plan.site.runDir], copy: [] },
        action: {
          kind: 'exec',
          argv: [launch.argv[0]!, '-t', '-y', ctx.plan.files.phpFpmConf],
          timeoutMs: 15_000,
          judge: judgeExitCode,
        },
      },
    ];
  },
};

/**
 * php8.2 -l on the front controller: the PHP app's counterpart of the Python import check —
 * the entry parses (a syntax error would be every request's 500). Runs no code.
 */
export const phpEntryLint: CheckDefinition = {
  id: 'php-lint',
  steps: (ctx) => {
    const entry = `${ctx.plan.app.root}/${ctx.plan.spec.app.entry.replace(/^\/+/, '')}`;
    return [
      {
        check: 'php-lint',
        title: `php8.2 -l ${ctx.plan.spec.app.entry}`,
        subject: ctx.plan.app.root,
        need: { program: 'php8.2', package: 'php8.2-cli' },
        prepare: NO_PREPARE,
        action: { kind: 'exec', argv: ['php8.2', '-l', entry], timeoutMs: 15_000, judge: judgeExitCode },
      },
    ];
  },
};
