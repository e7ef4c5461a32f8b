// The command table: every command, its arguments and typed options, and the file that
// runs it. Command files are imported by literal path when their command runs, so
// `stackgen gateway` does not load Handlebars. Nothing here exits: a command's exit code
// goes to `onExitCode`, and src/main.ts decides.

import { Command } from 'commander';
import type { CheckCliOptions } from './check.js';
import type { CiCliOptions } from './ci.js';
import type { DoctorCliOptions } from './doctor.js';
import type { ExplainCliOptions } from './explain.js';
import type { GatewayCliOptions } from './gateway.js';
import type { InitCliOptions } from './init.js';
import type { InstallCliOptions } from './install.js';
import {
  CI_PROVIDERS,
  EXPLAIN_FORMATS,
  INIT_CHOICES,
  orList,
  VERIFY_TARGET_HELP,
  VERIFY_TARGETS,
} from './options.js';
import type { RenderCliOptions } from './render.js';
import type { SchemaCliOptions } from './schema.js';
import type { UninstallCliOptions } from './uninstall.js';
import type { VerifyCliOptions } from './verify.js';
import { INTERFACES } from '../stack/enums.js';
import { DISTRO_IDS } from '../topology/catalog/distros.js';

/** A repeatable option's values, in the order given. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Build the stackgen program; each command hands its exit code to `onExitCode`. */
export function buildProgram(onExitCode: (code: number) => void): Command {
  const exit = async (code: Promise<number>) => onExitCode(await code);
  const program = new Command('stackgen')
    .description('Generate, check and prove Python web deployment stacks.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('render')
    .description('Render the stack (nginx, app server, systemd/supervisor, gateway) into a directory.')
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('-o, --out <dir>', 'output directory (default: deploy/ next to stack.yaml)')
    .option('--force', 'overwrite generated files that were edited by hand')
    .option('--cores <n>', 'size `auto` workers for this many cores (default: this machine)')
    .action(async (file: string, opts: RenderCliOptions) =>
      exit((await import('./render.js')).run(file, opts)),
    );

  program
    .command('check')
    .description(
      'Render the stack into a sandbox and check the files with the real tools (nginx -t, systemd-analyze, gunicorn --check-config, …).',
    )
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--cores <n>', 'size `auto` workers for this many cores (default: this machine)')
    .option('--json', 'print the results as JSON')
    .option('--junit <file>', 'write the report as JUnit XML (one testcase per check)')
    .action(async (file: string, opts: CheckCliOptions) =>
      exit((await import('./check.js')).run(file, opts)),
    );

  program
    .command('doctor')
    .description(
      'Report which programs and Python modules the stack needs, which are missing, and how to install them.',
    )
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--install', 'apt-get install the missing packages, then check again')
    .option(
      '--distro <id>',
      `whose package names to print: ${orList(DISTRO_IDS)} (default: this host's /etc/os-release)`,
    )
    .action(async (file: string, opts: DoctorCliOptions) =>
      exit((await import('./doctor.js')).run(file, opts)),
    );

  program
    .command('init')
    .description(
      'Read the project, propose a stack.yaml with the reason for each choice, ask on a terminal (or take detection and flags), write it and render it.',
    )
    .argument('[dir]', 'project directory', '.')
    .option('--name <name>', 'stack name (default: the directory name)')
    .option('--framework <name>', orList(INIT_CHOICES.framework))
    .option('--interface <name>', orList(INTERFACES))
    .option('--server <name>', orList(INIT_CHOICES.server))
    .option('--concurrency <model>', orList(INIT_CHOICES.concurrency))
    .option('--proxy <kind>', orList(INIT_CHOICES.proxy))
    .option('--protocol <name>', orList(INIT_CHOICES.protocol))
    .option('--manager <name>', orList(INIT_CHOICES.manager))
    .option('--entry <module:callable>', 'the app entry point (default: detected)')
    .option('--root <dir>', 'directory holding the app code, relative to dir (default: detected)')
    .option(
      '--static <url=dir>',
      'a static directory the proxy serves, e.g. /static/=staticfiles (repeatable)',
      collect,
    )
    .option('--env <key=value>', 'a non-secret environment variable of the app (repeatable)', collect)
    .option('--writable <path>', 'a directory the app writes, relative to root (repeatable)', collect)
    .option('--listen <address>', 'where clients connect: port, host:port or [v6]:port (repeatable)', collect)
    .option('--server-name <name>', 'the host name the proxy answers for (default: any)')
    .option('--python <path>', 'the Python interpreter (default: /usr/bin/python3)')
    .option('--venv <dir>', 'a virtualenv, relative to root (default: detected)')
    .option(
      '--import',
      "let the framework load its own settings (Django: django.setup(); runs the project's code) instead of reading them as text",
    )
    .option('-y, --yes', 'accept defaults for everything not given; never prompt')
    .option('--force', 'overwrite an existing stack.yaml')
    .option('--no-render', 'write stack.yaml only')
    .option('--cores <n>', 'size `auto` workers for this many cores')
    .action(async (dir: string, opts: InitCliOptions) => exit((await import('./init.js')).run(dir, opts)));

  program
    .command('explain')
    .description('Draw the request path hop by hop, with the protocol of each hop and why it is there.')
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--format <format>', orList(EXPLAIN_FORMATS), 'text')
    .option('--cores <n>', 'size `auto` workers for this many cores')
    .action(async (file: string, opts: ExplainCliOptions) =>
      exit((await import('./explain.js')).run(file, opts)),
    );

  program
    .command('ci')
    .description('Write a CI workflow that installs the stack and runs `stackgen verify --junit`.')
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--provider <name>', orList(CI_PROVIDERS), 'github')
    .option('-o, --out <dir>', 'repository root to write into (default: current directory)')
    .option('--force', 'overwrite a workflow file that was edited by hand')
    .option(
      '--install-from <source>',
      'how the workflow installs stackgen, pinned: a .tgz path in the repository, git+https://…#<40-hex commit>, or stackgen@X.Y.Z with --integrity (default: `npm pack` of this stackgen into .stackgen/, its sha512 in the workflow)',
    )
    .option(
      '--integrity <sri>',
      'the registry tarball’s sha512 integrity for --install-from stackgen@X.Y.Z (`npm view stackgen@X.Y.Z dist.integrity`)',
    )
    .option(
      '--check',
      'then run the written workflow on a throwaway machine (root): its run: steps in order, checkout/setup-node emulated; exit 8 naming the step that failed',
    )
    .action(async (file: string, opts: CiCliOptions) => exit((await import('./ci.js')).run(file, opts)));

  program
    .command('schema')
    .description('Print the JSON Schema of stack.yaml (point your editor at it for completion).')
    .option('--markdown', 'print the stack.yaml reference table instead (as in the README)')
    .action(async (opts: SchemaCliOptions) => exit((await import('./schema.js')).run(opts)));

  program
    .command('verify')
    .description(
      'Boot the stack (in a sandbox, or installed on a throwaway real host) and prove every request path.',
    )
    .argument('[stack.yaml...]', 'stack descriptions (several: a matrix, verified one after another)')
    .option('--json <file>', 'write the report as JSON')
    .option('--junit <file>', 'write the report as JUnit XML (one testsuite per stack)')
    .option('--keep', 'leave the stack running; print its URLs and the command that stops it')
    .option(
      '--probe-app',
      "substitute stackgen's probe app for your app (all probes; your checks get their own boot)",
    )
    .option('--only <path-name>', 'prove only this request path (app, websocket, "static /static/")')
    .option(
      '--target <target>',
      `${orList(VERIFY_TARGETS)} — ${VERIFY_TARGETS.map((t) => `${t}: ${VERIFY_TARGET_HELP[t]}`).join('; ')}`,
    )
    .option('--cores <n>', 'size `auto` workers for this many cores')
    .action(async (files: string[], opts: VerifyCliOptions) =>
      exit((await import('./verify.js')).run(files, opts)),
    );

  program
    .command('install')
    .description(
      'Install the stack on THIS machine as its deploy README describes (accounts, /etc/stackgen, units, nginx site); idempotent, rolled back on failure.',
    )
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--dry-run', 'print every step (and which are already done) without changing anything')
    .option('--force', 'overwrite generated files under /etc/stackgen that were edited by hand')
    .option('--cores <n>', 'size `auto` workers for this many cores')
    .action(async (file: string, opts: InstallCliOptions) =>
      exit((await import('./install.js')).run(file, opts)),
    );

  program
    .command('uninstall')
    .description('Take back exactly what `stackgen install` did on this machine (from its record).')
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--dry-run', 'print what would be taken back')
    .action(async (file: string, opts: UninstallCliOptions) =>
      exit((await import('./uninstall.js')).run(file, opts)),
    );

  // Internal: the inside half of `verify --target machine` (not listed in help).
  program
    .command('machine-pass', { hidden: true })
    .action(async () => exit((await import('./machine-pass.js')).run()));

  program
    .command('gateway')
    .description('Run the stackgen gateway (HTTP front for http/uwsgi/fastcgi/scgi/cgi backends).')
    .option(
      '--config <file>',
      'gateway config file (as rendered by `stackgen render` for proxy kind gateway)',
    )
    .option(
      '--listen <addr...>',
      'address(es) to listen on, host:port or unix:/path (default 127.0.0.1:8080)',
    )
    .option(
      '--upstream <url...>',
      'backend(s): http://h:p, uwsgi://h:p, fastcgi://unix:/p.sock[?root=/var/www/app], scgi://h:p, cgi:/path/script',
    )
    .option(
      '--env <NAME=value>',
      'environment for a cgi: script or FastCGI params (repeatable)',
      (pair: string, previous: string[] | undefined) => [...(previous ?? []), pair],
    )
    .option('--static <map...>', 'static mapping /url/=./dir (repeatable)')
    .option('--workers <n>', 'worker processes: a number or auto (half the cores, at least 1)')
    .option('--max-body <size>', 'request body limit, nginx syntax (10m, 512k)')
    .option('--tls-cert <file>', 'terminate TLS: PEM certificate (chain) file, re-read on SIGHUP')
    .option('--tls-key <file>', 'terminate TLS: PEM private key of --tls-cert')
    .option('--tls-listen <addr...>', 'TLS listen address(es) (default :443)')
    .option('--no-tls-redirect-http', 'serve plain --listen addresses instead of redirecting them to https')
    .option('--tls-hsts-max-age <seconds>', 'Strict-Transport-Security max-age (default 63072000), or off')
    .option('--tls-hsts-include-subdomains', 'add includeSubDomains to Strict-Transport-Security')
    .option('--tls-hsts-preload', 'add preload to Strict-Transport-Security')
    .option('--no-tls-http2', 'offer HTTP/1.1 only on the TLS listeners (no h2 by ALPN)')
    .option(
      '--max-header-size <size>',
      'request head limit (request line + headers), nginx syntax; default 64k, as the rendered nginx',
    )
    .action(async (opts: GatewayCliOptions) => exit((await import('./gateway.js')).run(opts)));

  return program;
}
