// `stackgen ci [--provider github|gitlab] [stack.yaml] [--out DIR] [--install-from SRC]
// [--check]`: write a CI workflow for the user's repository that installs the stack's system
// packages (the catalog `doctor` uses, named for the runner's distribution), a Node stackgen
// supports and stackgen itself pinned, and runs `stackgen verify --junit`. With --check, run
// the written file's steps on a throwaway machine (src/ci/check.ts) and fail naming the step.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkWorkflow, formatCiCheck } from '../ci/check.js';
import { parseWorkflow } from '../ci/workflow.js';
import { machineMasks } from '../runtime/machine.js';
import { StackgenError } from '../errors.js';
import {
  CI_PROVIDER_ENTRIES,
  parseInstallFrom,
  renderCiWorkflow,
  type StackgenSource,
} from '../render/ci.js';
import { writeArtifacts } from '../render/write.js';
import { CI_PROVIDERS, oneOf } from './options.js';
import { loadAndResolve, productionPlan } from './shared.js';

/** stackgen's own package directory (where package.json is), from src/cli or dist/cli. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the default install source, this stackgen packed, goes in the user's repository. */
const PACK_DIR = '.stackgen';

/** `stackgen ci`'s options, as commander parses them. */
export interface CiCliOptions {
  /** Defaults to github. */
  provider: string;
  out?: string;
  force?: true;
  installFrom?: string;
  integrity?: string;
  check?: true;
}

export async function run(file: string, opts: CiCliOptions): Promise<number> {
  const provider = oneOf('--provider', CI_PROVIDERS, opts.provider);
  const l = loadAndResolve(file);
  const out = opts.out !== undefined ? resolve(opts.out) : process.cwd();
  const specPath = relative(out, resolve(l.loaded.file)) || 'stack.yaml';
  const source = installSource(out, opts);
  const artifact = renderCiWorkflow(productionPlan(l), provider, specPath, source);
  const result = writeArtifacts(out, [artifact], { force: opts.force === true, source: specPath });
  for (const p of [...result.written, ...result.unchanged]) process.stdout.write(`wrote ${p}\n`);
  if (opts.check !== true) return 0;

  // The file on disk, as the provider would read it from the repository.
  const text = readFileSync(join(out, CI_PROVIDER_ENTRIES[provider].path), 'utf8');
  const job = parseWorkflow(provider, text);
  const report = await checkWorkflow({
    job,
    repoDir: out,
    masked: machineMasks(l.loaded.spec.proxy.kind),
    onStep: (r) => process.stderr.write(`  ${r.status} ${r.name.split('\n')[0]} (${r.ms} ms)\n`),
    log: process.env['STACKGEN_DEBUG'] ? (line) => process.stderr.write(`  machine: ${line}\n`) : undefined,
  });
  process.stdout.write(formatCiCheck(report, `stackgen ci --check ${provider} (${artifact.path})`));
  const failed = report.steps.find((r) => r.status === 'failed');
  if (failed)
    throw new StackgenError(
      'SG_ERR_CI_STEP_FAILED',
      `step "${failed.name.split('\n')[0]}" of ${artifact.path} failed with exit code ${failed.exitCode ?? '-'}`,
      {
        details: { output: failed.tail },
        hint: 'the step would fail the same way on the CI runner; its output tail is above',
      },
    );
  return 0;
}

/** --install-from (a tarball is hashed here), or by default this stackgen packed into the repository. */
function installSource(out: string, opts: CiCliOptions): StackgenSource {
  if (opts.installFrom === undefined) return packSelf(out);
  const parsed = parseInstallFrom(opts.installFrom, opts.integrity);
  if (parsed.kind !== 'tarball' || parsed.sha512 !== null) return parsed as StackgenSource;
  const file = resolve(out, parsed.path);
  const path = relative(out, file);
  if (isAbsolute(path) || path.startsWith(`..${sep}`) || !existsSync(file))
    throw new StackgenError('SG_ERR_USAGE', `--install-from ${opts.installFrom}: no such file in ${out}`, {
      hint: 'the tarball must be inside the repository (the workflow installs it from the checkout)',
    });
  return { kind: 'tarball', path: path.split(sep).join('/'), sha512: sha512Of(file) };
}

/** The newest modification time in a tree (0 when it does not exist). */
function newest(dir: string): number {
  let max = 0;
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
      if (entry.isFile()) max = Math.max(max, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  } catch {
    return 0;
  }
  return max;
}

function sha512Of(file: string): string {
  return createHash('sha512').update(readFileSync(file)).digest('hex');
}

/**
 * `npm pack` this stackgen into OUT/.stackgen/, without npm's scripts: what is packed is the
 * dist/ that is running. From a checkout (src/ is there), a dist/ older than src/ is refused:
 * the tarball would not be the code that wrote the workflow.
 */
function packSelf(out: string): StackgenSource {
  const dest = join(out, PACK_DIR);
  if (
    existsSync(join(PACKAGE_ROOT, 'src')) &&
    newest(join(PACKAGE_ROOT, 'src')) > newest(join(PACKAGE_ROOT, 'dist'))
  )
    throw new StackgenError(
      'SG_ERR_USAGE',
      `${PACKAGE_ROOT}/dist is older than its src/: nothing current to pack`,
      {
        hint: 'run `npm run build` in the stackgen checkout, or pass --install-from',
      },
    );
  mkdirSync(dest, { recursive: true });
  let json: string;
  try {
    json = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new StackgenError('SG_ERR_TOOL_MISSING', `\`npm pack\` of stackgen (${PACKAGE_ROOT}) failed`, {
      cause: err,
      details: { output: String((err as { stderr?: string }).stderr ?? '') },
      hint: 'or pass --install-from (a tarball, a git URL at a commit, or stackgen@X.Y.Z with --integrity)',
    });
  }
  const packed = JSON.parse(json) as Array<{ filename: string }>;
  const file = join(dest, packed[0]!.filename);
  process.stdout.write(`wrote ${relative(out, file)}\n`);
  return { kind: 'tarball', path: relative(out, file).split(sep).join('/'), sha512: sha512Of(file) };
}
