// `stackgen init [dir]`: read the project (src/init/detect.ts, without importing it), propose
// a stack with the reason for each choice, ask on a terminal (the detected value preselected,
// each answer checked by the rules `check` uses and re-asked with the reason), then write
// stack.yaml atomically — never over an existing one without --force — and render it.
// Non-interactive (--yes, or no terminal): detection and flags only.

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { basename, join, posix, resolve } from 'node:path';
import { stringify } from 'yaml';
import { StackgenError } from '../errors.js';
import { type Diagnostic, formatDiagnostic, type SpecPath } from '../stack/diagnostics.js';
import { INTERFACES } from '../stack/enums.js';
import { parseStackSpec } from '../stack/parse.js';
import { writeAtomic } from '../render/write.js';
import { FRAMEWORKS } from '../topology/catalog/frameworks.js';
import { MANAGERS, PROTOCOLS, PROXIES } from '../topology/catalog/proxies.js';
import { SERVERS } from '../topology/catalog/servers.js';
import { type Detection, detectProject, missingEntry, type ProjectFiles } from '../init/detect.js';
import {
  type AppFields,
  CHOICE_ORDER,
  type ChoiceKey,
  type Choices,
  formatReasons,
  hostNote,
  proposeChoices,
  stackDocument,
} from '../init/propose.js';
import { SETTINGS_IMPORTERS } from '../init/imported.js';
import { scanProject } from '../init/scan.js';
import { INIT_CHOICES, oneOf } from './options.js';

/** `stackgen init`'s options, as commander parses them. */
export interface InitCliOptions {
  name?: string;
  /** The stack.yaml choices: checked against the schema's values (usage error otherwise). */
  framework?: string;
  interface?: string;
  server?: string;
  concurrency?: string;
  proxy?: string;
  protocol?: string;
  manager?: string;
  entry?: string;
  root?: string;
  /** `URL=DIR`, repeatable. */
  static?: string[];
  /** `KEY=VALUE`, repeatable. */
  env?: string[];
  writable?: string[];
  listen?: string[];
  serverName?: string;
  python?: string;
  venv?: string;
  /** Let the framework load its own settings (runs the project's code). */
  import?: true;
  yes?: true;
  force?: true;
  /** false with --no-render. */
  render: boolean;
  cores?: string;
}

/** Where each answer lives in stack.yaml: a diagnostic there is that answer's fault. */
const CHOICE_PATHS: Record<ChoiceKey | 'entry' | 'name', SpecPath> = {
  name: ['name'],
  framework: ['app', 'framework'],
  interface: ['app', 'interface'],
  entry: ['app', 'entry'],
  server: ['serve', 'server'],
  concurrency: ['serve', 'concurrency'],
  protocol: ['proxy', 'protocol'],
  proxy: ['proxy', 'kind'],
  manager: ['processes', 'manager'],
};

/** The values a choice may take, and a title for each (from the catalog). */
function optionsFor(key: ChoiceKey, choices: Choices): { value: string; name: string }[] {
  const titled = (values: readonly string[], title: (v: string) => string) =>
    values.map((value) => ({ value, name: title(value) === value ? value : `${value} — ${title(value)}` }));
  switch (key) {
    case 'framework':
      return titled(INIT_CHOICES.framework, (v) => FRAMEWORKS[v as Choices['framework']].title);
    case 'interface':
      return titled(FRAMEWORKS[choices.framework].interfaces, (v) => v.toUpperCase());
    case 'server':
      return titled(INIT_CHOICES.server, (v) => SERVERS[v as Choices['server']].title);
    case 'concurrency': {
      // The models the server runs this interface under (gunicorn: async only for ASGI).
      const server = SERVERS[choices.server];
      return titled(server.interfaceModels[choices.interface]?.models ?? server.concurrency, (v) => v);
    }
    case 'protocol':
      return titled(SERVERS[choices.server].protocols, (v) => PROTOCOLS[v as Choices['protocol']].title);
    case 'proxy':
      return titled(INIT_CHOICES.proxy, (v) => PROXIES[v as Choices['proxy']].title);
    case 'manager':
      return titled(INIT_CHOICES.manager, (v) => MANAGERS[v as Choices['manager']].title);
  }
}

/** `A=B` pairs of a repeatable flag → a record (usage error for a pair without `=`). */
function pairs(flag: string, values: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    values.map((v) => {
      const eq = v.indexOf('=');
      if (eq <= 0) throw new StackgenError('SG_ERR_USAGE', `${flag} takes NAME=VALUE, not ${v}`);
      return [v.slice(0, eq), v.slice(eq + 1)];
    }),
  );
}

/** The choices given as flags, each checked against the schema's values. */
function givenChoices(opts: InitCliOptions): Partial<Choices> {
  const given: Partial<Choices> = {};
  const set = <K extends ChoiceKey>(key: K, values: readonly string[], value: string | undefined) => {
    if (value !== undefined) given[key] = oneOf(`--${key}`, values, value) as Choices[K];
  };
  set('framework', INIT_CHOICES.framework, opts.framework);
  set('interface', INTERFACES, opts.interface);
  set('server', INIT_CHOICES.server, opts.server);
  set('concurrency', INIT_CHOICES.concurrency, opts.concurrency);
  set('protocol', INIT_CHOICES.protocol, opts.protocol);
  set('proxy', INIT_CHOICES.proxy, opts.proxy);
  set('manager', INIT_CHOICES.manager, opts.manager);
  return given;
}

/** Detection (or nothing), rebased when --root points init at a subdirectory. */
function detect(files: ProjectFiles, root: string | undefined): Detection | null {
  const found = detectProject(files);
  if (!found || root === undefined) return found;
  return { ...found, root: posix.normalize(posix.join(root, found.root)) };
}

/**
 * --import: the framework's own settings loader, run with the interpreter the stack will use
 * (the venv's, --python, or Debian's), in app.root with the detected environment. A failure
 * is said and the textual reading stands.
 */
function importSettings(detection: Detection | null, dir: string, opts: InitCliOptions): Detection | null {
  if (opts.import !== true) return detection;
  const importer = detection ? SETTINGS_IMPORTERS[detection.framework] : undefined;
  if (!detection || !importer) {
    process.stderr.write(
      `stackgen init: --import: ${detection ? `${FRAMEWORKS[detection.framework].title} has no settings to load` : 'no framework detected'}; the files were read as text\n`,
    );
    return detection;
  }
  const rootDir = resolve(dir, detection.root);
  const venv = opts.venv ?? detection.venv;
  const python =
    opts.python ?? (venv !== undefined ? join(rootDir, venv, 'bin', 'python') : '/usr/bin/python3');
  const r = spawnSync(python, ['-c', importer.script], {
    cwd: rootDir,
    env: { ...process.env, ...detection.env, ...pairs('--env', opts.env ?? []) },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const line = r.stdout?.trim().split('\n').at(-1) ?? '';
  try {
    if (r.status !== 0) throw new Error(r.stderr?.trim().split('\n').at(-1) ?? String(r.error ?? r.signal));
    return importer.apply(detection, JSON.parse(line) as Record<string, unknown>, rootDir, (p) =>
      isDirectory(resolve(rootDir, p)),
    );
  } catch (err) {
    process.stderr.write(
      `stackgen init: --import: ${python} could not load the settings (${err instanceof Error ? err.message : String(err)}); the files were read as text\n`,
    );
    return detection;
  }
}

interface Draft {
  name: string;
  choices: Choices;
  app: AppFields;
  proxyFields: Record<string, unknown>;
}

function documentText(draft: Draft): string {
  const doc = stackDocument(draft.name, draft.choices, draft.app);
  const proxy = doc['proxy'] as Record<string, unknown>;
  // With no front server nothing speaks a protocol to the app server: the key would be refused.
  if (!PROXIES[draft.choices.proxy].process) delete proxy['protocol'];
  Object.assign(proxy, draft.proxyFields);
  return `# stackgen stack description, written by \`stackgen init\` — reference: \`stackgen schema\` or the README.\n# Render with: stackgen render; prove with: stackgen verify\n${stringify(doc)}`;
}

/** The errors of a draft: the schema and rules `check` runs, plus an entry that names no file. */
function problems(draft: Draft, files: ProjectFiles, dir: string): Diagnostic[] {
  const parsed = parseStackSpec(documentText(draft), {
    baseDir: dir,
    isDirectory,
  });
  const errors = [...parsed.errors];
  const entry = draft.app.entry ?? FRAMEWORKS[draft.choices.framework].defaultEntry[draft.choices.interface];
  const missing = entry === undefined ? 'no entry point' : missingEntry(files, draft.app.root, entry);
  if (missing)
    errors.push({
      severity: 'error',
      kind: 'invalid-value',
      path: ['app', 'entry'],
      message: `the entry point: ${missing}`,
      hint: 'give the module:callable the app server loads (--entry)',
    });
  return errors;
}

/**
 * A problem of the choices, named by the flag that sets it (`--server`), or by its stack.yaml
 * key when no flag does: there is no stack.yaml yet to point a line number into.
 */
function describeProblem(d: Diagnostic): string {
  const flag = Object.entries(CHOICE_PATHS).find(
    ([, p]) => p.length === d.path.length && samePath(d.path, p),
  )?.[0];
  const at = flag !== undefined ? `--${flag}` : d.path.length > 0 ? d.path.join('.') : 'the stack';
  return `  ${at}: ${d.message}${d.hint ? `\n    hint: ${d.hint}` : ''}`;
}

const isDirectory = (p: string) => existsSync(p) && statSync(p).isDirectory();

const samePath = (a: SpecPath, b: SpecPath) => a.length >= b.length && b.every((p, i) => a[i] === p);

export async function run(projectDir: string, opts: InitCliOptions): Promise<number> {
  const dir = resolve(projectDir);
  const file = join(dir, 'stack.yaml');
  const refuseExisting = () => {
    if (existsSync(file) && opts.force !== true)
      throw new StackgenError('SG_ERR_USER_EDITED', `${file} already exists; nothing was written`, {
        hint: 'edit it, or pass --force to replace it',
      });
  };
  refuseExisting();
  const given = givenChoices(opts);
  const files = scanProject(opts.root === undefined ? dir : join(dir, opts.root));
  const rootFiles = opts.root === undefined ? files : scanProject(dir);
  const detection = importSettings(detect(files, opts.root), dir, opts);
  const { choices, reasons } = proposeChoices(detection, given);

  const writable = [...new Set([...(detection?.writable ?? []), ...(opts.writable ?? [])])];
  // The detected entry belongs to the detected root (a --root above it is rebased onto it).
  const root =
    (opts.entry === undefined ? detection?.root : undefined) ?? opts.root ?? detection?.root ?? '.';
  const venv = opts.venv ?? detection?.venv;
  const draft: Draft = {
    name: opts.name ?? slug(basename(dir)),
    choices,
    app: {
      ...(opts.entry !== undefined || detection ? { entry: opts.entry ?? detection?.entry } : {}),
      root,
      static: { ...detection?.static, ...pairs('--static', opts.static ?? []) },
      env: { ...detection?.env, ...pairs('--env', opts.env ?? []) },
      writable,
      websockets: detection?.websockets ?? false,
      ...(opts.python !== undefined ? { python: opts.python } : {}),
      // app.venv is taken as written (its bin/python is the units' ExecStart): absolute.
      ...(venv !== undefined ? { venv: resolve(dir, root, venv) } : {}),
    },
    proxyFields: {
      ...(opts.listen?.length ? { listen: opts.listen.length === 1 ? opts.listen[0] : opts.listen } : {}),
      ...(opts.serverName !== undefined ? { server_name: opts.serverName } : {}),
    },
  };

  const out = process.stdout;
  out.write(`stackgen init: ${dir}\n`);
  if (detection) out.write(`found:\n${detection.evidence.map((e) => `  ${e}`).join('\n')}\n`);
  else out.write('found: no framework, WSGI file or CGI script init recognizes\n');
  out.write(
    `proposed (interface → server → concurrency → protocol → proxy → manager):\n${formatReasons(reasons)}\n`,
  );
  out.write(`  → ${summary(choices)}\n`);
  const hosts = hostNote(detection, opts.serverName);
  for (const n of [...(detection?.notes ?? []), ...(hosts ? [hosts] : [])]) out.write(`note: ${n}\n`);

  const interactive = opts.yes !== true && process.stdin.isTTY === true && process.stdout.isTTY === true;
  if (interactive) await ask(draft, given, detection, rootFiles, dir);
  const errors = problems(draft, rootFiles, dir);
  if (errors.length > 0) {
    throw new StackgenError(
      'SG_ERR_SPEC_INVALID',
      `these choices do not make a valid stack; nothing was written:\n${errors.map(describeProblem).join('\n')}`,
      {
        hint: 'give the value with its flag (stackgen init --help lists them), or run init on a terminal to be asked',
      },
    );
  }
  const text = documentText(draft);
  const parsed = parseStackSpec(text);
  // Asked questions take time: a stack.yaml written meanwhile is not replaced silently either.
  refuseExisting();
  writeAtomic(file, text, 0o644);
  out.write(`wrote ${file}\n`);
  for (const w of parsed.warnings) process.stderr.write(`${formatDiagnostic(file, w)}\n`);
  if (!opts.render) return 0;
  const render = await import('./render.js');
  return render.run(file, { out: join(dir, 'deploy'), cores: opts.cores });
}

/** "Django (WSGI) → Gunicorn (prefork) behind nginx over HTTP/1.1, managed by systemd". */
function summary(c: Choices): string {
  const front = PROXIES[c.proxy].process
    ? ` behind ${PROXIES[c.proxy].title} over ${PROTOCOLS[c.protocol].title}`
    : ', facing clients itself';
  return `${FRAMEWORKS[c.framework].title} (${c.interface.toUpperCase()}) → ${SERVERS[c.server].title} (${c.concurrency})${front}, managed by ${MANAGERS[c.manager].title}`;
}

/**
 * The dialogue: each choice not given as a flag, proposed from the earlier answers, as a
 * select list with the proposal preselected; an answer the rules refuse is asked again with
 * the reason. Ctrl-C ends it with nothing written.
 */
async function ask(
  draft: Draft,
  given: Partial<Choices>,
  detection: Detection | null,
  files: ProjectFiles,
  dir: string,
): Promise<void> {
  const prompts = await import('@inquirer/prompts');
  const answered: Partial<Choices> = { ...given };
  const errorsAt = (path: SpecPath) => problems(draft, files, dir).filter((d) => samePath(d.path, path));
  const reason = (ds: Diagnostic[]) =>
    ds.map((d) => `${d.message}${d.hint ? ` (${d.hint})` : ''}`).join('; ');
  try {
    draft.name = await prompts.input({
      message: 'Stack name',
      default: draft.name,
      validate: (v) => {
        draft.name = v.trim();
        return errorsAt(CHOICE_PATHS.name).length === 0 || reason(errorsAt(CHOICE_PATHS.name));
      },
    });
    for (const key of CHOICE_ORDER) {
      if (given[key] !== undefined) continue;
      // Later proposals follow earlier answers (a server's concurrency models, its protocol).
      const proposal = proposeChoices(detection, answered).choices;
      draft.choices = proposal;
      const options = optionsFor(key, proposal);
      // One possible value (Flask serves WSGI only) is not a question.
      for (; options.length > 1; ) {
        const value = await prompts.select({
          message: label(key),
          choices: options,
          default: proposal[key],
          loop: false,
        });
        (answered as Record<string, string>)[key] = value;
        draft.choices = proposeChoices(detection, answered).choices;
        const wrong = errorsAt(CHOICE_PATHS[key]).filter((d) => d.kind !== 'missing-directory');
        if (wrong.length === 0) break;
        process.stdout.write(`✗ ${key} ${value}: ${reason(wrong)}\n  choose again\n`);
        delete (answered as Record<string, string>)[key];
      }
      if (options.length <= 1) (answered as Record<string, string>)[key] = proposal[key];
      if (key === 'interface') {
        const fw = FRAMEWORKS[draft.choices.framework];
        const entry = await prompts.input({
          message: 'Entry point (module:callable, a .wsgi file, or a CGI script)',
          default: draft.app.entry ?? fw.defaultEntry[draft.choices.interface],
          validate: (v) => {
            draft.app.entry = v.trim();
            const wrong = errorsAt(CHOICE_PATHS.entry);
            return wrong.length === 0 || reason(wrong);
          },
        });
        draft.app.entry = entry.trim();
      }
    }
  } catch (err) {
    if (err instanceof Error && err.name === 'ExitPromptError')
      throw new StackgenError('SG_ERR_INTERRUPTED', 'init was interrupted; nothing was written', {
        cause: err,
      });
    throw err;
  }
}

function label(key: ChoiceKey): string {
  return {
    framework: 'Framework',
    interface: 'Interface the app server calls',
    server: 'App server',
    concurrency: 'Concurrency model',
    protocol: 'Protocol proxy → app server',
    proxy: 'Proxy',
    manager: 'Process manager',
  }[key];
}

function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'app';
}
