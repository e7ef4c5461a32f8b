// The stackgen entry point: builds the commander program, runs it, and is the ONLY place
// that exits. Every command lives in src/cli/<name>.ts, is imported lazily (so
// `stackgen gateway` does not load Handlebars), and returns its exit code.

import { Command, CommanderError } from 'commander';
import { EXIT_CODES, isStackgenError } from './errors.js';

type CommandModule = { run: (args: unknown[], opts: Record<string, unknown>) => Promise<number> };

/** Lazily import src/cli/<name>.js and run it with commander's positional args and options. */
function lazy(name: string) {
  return async (...all: unknown[]): Promise<void> => {
    // commander passes: ...positionals, options, command
    const opts = all[all.length - 2] as Record<string, unknown>;
    const positionals = all.slice(0, -2);
    const mod = (await import(`./cli/${name}.js`)) as CommandModule;
    process.exitCode = await mod.run(positionals, opts);
  };
}

export function buildProgram(): Command {
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
    .action(lazy('render'));

  program
    .command('check')
    .description(
      'Render the stack into a sandbox and check the files with the real tools (nginx -t, systemd-analyze, gunicorn --check-config, …).',
    )
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--cores <n>', 'size `auto` workers for this many cores (default: this machine)')
    .option('--json', 'print the results as JSON')
    .option('--junit <file>', 'write the report as JUnit XML (one testcase per check)')
    .action(lazy('check'));

  program
    .command('doctor')
    .description(
      'Report which programs and Python modules the stack needs, which are missing, and how to install them.',
    )
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--install', 'apt-get install the missing packages, then check again')
    .action(lazy('doctor'));

  program
    .command('init')
    .description('Write a stack.yaml (from flags, or by asking on a terminal) and render it.')
    .argument('[dir]', 'project directory', '.')
    .option('--name <name>', 'stack name')
    .option('--framework <name>', 'flask, django, bottle, tornado, fastapi, starlette, wsgi, asgi, cgi')
    .option('--server <name>', 'uwsgi, gunicorn, uvicorn, tornado, waitress, wsgiref, cgi')
    .option('--concurrency <model>', 'prefork, threads, gevent, async')
    .option('--proxy <kind>', 'nginx, gateway, none')
    .option('--protocol <name>', 'http, uwsgi, fastcgi, scgi, cgi')
    .option('--manager <name>', 'systemd, supervisor, none')
    .option('--entry <module:callable>', 'the app entry point')
    .option('-y, --yes', 'accept defaults for everything not given; never prompt')
    .option('--force', 'overwrite an existing stack.yaml')
    .option('--no-render', 'write stack.yaml only')
    .option('--cores <n>', 'size `auto` workers for this many cores')
    .action(lazy('init'));

  program
    .command('explain')
    .description('Draw the request path hop by hop, with the protocol of each hop and why it is there.')
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--format <format>', 'text or mermaid', 'text')
    .option('--cores <n>', 'size `auto` workers for this many cores')
    .action(lazy('explain'));

  program
    .command('ci')
    .description('Write a CI workflow that installs the stack and runs `stackgen verify --junit`.')
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--provider <name>', 'github or gitlab', 'github')
    .option('-o, --out <dir>', 'repository root to write into (default: current directory)')
    .option('--force', 'overwrite a workflow file that was edited by hand')
    .action(lazy('ci'));

  program
    .command('schema')
    .description('Print the JSON Schema of stack.yaml (point your editor at it for completion).')
    .option('--markdown', 'print the stack.yaml reference table instead (as in the README)')
    .action(lazy('schema'));

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
      'sandbox (default: a temp dir, no root needed) or machine (a throwaway Debian host with systemd as PID 1: installs the production render with `stackgen install`, reboots it, uninstalls; needs root)',
    )
    .option('--cores <n>', 'size `auto` workers for this many cores')
    .action(lazy('verify'));

  program
    .command('install')
    .description(
      'Install the stack on THIS machine as its deploy README describes (accounts, /etc/stackgen, units, nginx site); idempotent, rolled back on failure.',
    )
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--dry-run', 'print every step (and which are already done) without changing anything')
    .option('--force', 'overwrite generated files under /etc/stackgen that were edited by hand')
    .option('--cores <n>', 'size `auto` workers for this many cores')
    .action(lazy('install'));

  program
    .command('uninstall')
    .description('Take back exactly what `stackgen install` did on this machine (from its record).')
    .argument('[stack.yaml]', 'the stack description', 'stack.yaml')
    .option('--dry-run', 'print what would be taken back')
    .action(lazy('uninstall'));

  // Internal: the inside half of `verify --target machine` (not listed in help).
  program.command('machine-pass', { hidden: true }).action(lazy('machine-pass'));

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
      'backend(s): http://h:p, uwsgi://h:p, fastcgi://unix:/p.sock, scgi://h:p, cgi:/path/script',
    )
    .option('--static <map...>', 'static mapping /url/=./dir (repeatable)')
    .option('--workers <n>', 'worker processes: a number or auto (half the cores, at least 1)')
    .option('--max-body <size>', 'request body limit, nginx syntax (10m, 512k)')
    .action(lazy('gateway'));

  return program;
}

/** Print a user-facing error: code, message, hint, and the cause chain. */
function printError(err: unknown): number {
  if (isStackgenError(err)) {
    process.stderr.write(`stackgen: error ${err.code}: ${err.message}\n`);
    // What a tool printed and the unit's journal: the first things an operator reads.
    for (const key of ['output', 'journal'] as const) {
      const text = err.details?.[key];
      if (typeof text === 'string' && text.trim())
        process.stderr.write(
          `  ${key}:\n${text
            .trim()
            .split('\n')
            .slice(-20)
            .map((l) => `    ${l}`)
            .join('\n')}\n`,
        );
    }
    if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
    if (process.env['STACKGEN_DEBUG'] && err.cause) process.stderr.write(`  cause: ${String(err.cause)}\n`);
    return err.exitCode;
  }
  process.stderr.write(
    `stackgen: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return EXIT_CODES.internal;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? 0 : EXIT_CODES.usage);
    }
    process.exit(printError(err));
  }
}

await main(process.argv);
