// CI workflow files for the user's repository, rendered from templates/ci/. Pure: the
// stackgen the workflow installs (StackgenSource) is decided by the CLI (src/cli/ci.ts),
// which packs and hashes it; here it becomes the install lines and their comment.

import { StackgenError } from '../errors.js';
import { DISTROS, type DistroId, packageFor } from '../topology/catalog/distros.js';
import type { Artifact } from './artifacts.js';
import { renderTemplate } from './engine.js';
import type { Plan } from './plan.js';

export type CiProvider = 'github' | 'gitlab';

/** Where each provider runs the job, and so whose package names the workflow installs. */
export interface CiProviderEntry {
  path: string;
  /** The distribution of the runner (GitHub) or of the job's image (GitLab). */
  distro: DistroId;
  /** Whether the job runs on a host with systemd as PID 1 (verify --target machine there). */
  machine: boolean;
}

export const CI_PROVIDER_ENTRIES: Readonly<Record<CiProvider, CiProviderEntry>> = {
  // runs-on: ubuntu-24.04 (not ubuntu-latest): the package names are resolved for noble, and
  // ubuntu-latest moves to the next LTS without the file changing.
  github: { path: '.github/workflows/stackgen-verify.yml', distro: 'ubuntu-24.04', machine: true },
  // image: node:20-bookworm — Debian 12 (the catalog's names) with a Node stackgen supports.
  gitlab: { path: '.gitlab-ci.yml', distro: 'debian-12', machine: false },
};

/**
 * The Node major the workflows install: package.json's engines says >= 20.19 (stackgen uses
 * import.meta.dirname, Node >= 20.11); the newest 20.x is what setup-node's "20" and the
 * node:20 image give. Debian 12's own nodejs (18.20) cannot run stackgen.
 */
export const CI_NODE_MAJOR = '20';

/** The stackgen a workflow installs, pinned to exact bytes or an exact commit. */
export type StackgenSource =
  /** A tarball committed in the repository (`npm pack`), checked against its sha512. */
  | { kind: 'tarball'; path: string; sha512: string }
  /** A git repository at a full commit id (npm checks the commit out and builds it). */
  | { kind: 'git'; url: string; commit: string }
  /** A published version, downloaded with `npm pack` and checked against its registry integrity. */
  | { kind: 'registry'; version: string; sha512: string };

const FULL_COMMIT = /^[0-9a-f]{40}$/;
const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/**
 * `--install-from` (and `--integrity`) → a source; a tarball's hash is left for the caller
 * to compute from the file. Refuses what is not a pin (a branch, a version range).
 */
export function parseInstallFrom(
  value: string,
  integrity: string | undefined,
): StackgenSource | { kind: 'tarball'; path: string; sha512: null } {
  if (value.startsWith('git+') || value.startsWith('git://')) {
    const hash = value.lastIndexOf('#');
    const commit = hash < 0 ? '' : value.slice(hash + 1);
    if (!FULL_COMMIT.test(commit))
      throw new StackgenError('SG_ERR_USAGE', `--install-from ${value}: not pinned to a commit`, {
        hint: 'end the URL with #<the full 40-hex commit id>: a branch or tag can move under every CI run',
      });
    return { kind: 'git', url: value.slice(0, hash), commit };
  }
  const registry = /^stackgen@(.+)$/.exec(value);
  if (registry) {
    const version = registry[1]!;
    if (!EXACT_VERSION.test(version))
      throw new StackgenError('SG_ERR_USAGE', `--install-from ${value}: not an exact version`, {
        hint: 'name one version (stackgen@1.2.3): a range installs whatever is published next',
      });
    const sha512 = integrity === undefined ? null : sriToHex(integrity);
    if (sha512 === null)
      throw new StackgenError('SG_ERR_USAGE', `--install-from ${value} needs --integrity sha512-…`, {
        hint: `\`npm view ${value} dist.integrity\` prints it; the workflow refuses a tarball with any other hash`,
      });
    return { kind: 'registry', version, sha512 };
  }
  if (value.endsWith('.tgz')) return { kind: 'tarball', path: value, sha512: null };
  throw new StackgenError(
    'SG_ERR_USAGE',
    `--install-from ${value}: not a .tgz, a git+ URL or stackgen@X.Y.Z`,
  );
}

/** sha512-<base64> (npm's integrity, W3C Subresource Integrity) → hex, or null. */
export function sriToHex(sri: string): string | null {
  const m = /^sha512-([A-Za-z0-9+/]{86}==)$/.exec(sri.trim());
  return m ? Buffer.from(m[1]!, 'base64').toString('hex') : null;
}

/** The shell lines that install the source, and the comment that says why they are safe. */
export function installLines(source: StackgenSource): { lines: string[]; why: string[] } {
  switch (source.kind) {
    case 'tarball':
      return {
        lines: [
          `echo "${source.sha512}  ${source.path}" | sha512sum --check --strict -`,
          `npm install --global ./${source.path}`,
        ],
        why: [
          `the tarball \`stackgen ci\` packed from the stackgen that wrote this file (${source.path},`,
          'commit it), refused unless its sha512 matches: stackgen is not on the npm registry,',
          'and a name there could be taken by anyone. Its dependencies come from the npm registry',
          "by the ranges in its package.json (npm checks each download's integrity; the versions",
          'are not locked).',
        ],
      };
    case 'git':
      return {
        lines: [`npm install --global ${source.url}#${source.commit}`],
        why: [
          `stackgen from ${source.url} at commit ${source.commit.slice(0, 12)}: a commit id cannot`,
          'move (a branch or tag can); npm builds it with its devDependencies from the registry.',
        ],
      };
    case 'registry':
      return {
        lines: [
          `npm pack stackgen@${source.version} --silent`,
          `echo "${source.sha512}  stackgen-${source.version}.tgz" | sha512sum --check --strict -`,
          `npm install --global ./stackgen-${source.version}.tgz`,
        ],
        why: [
          `stackgen ${source.version} from the npm registry, installed only if its tarball has the`,
          'sha512 the registry listed when this file was written: a republished or substituted',
          'tarball fails here instead of running as root.',
        ],
      };
  }
}

/** The workflow that installs the stack's packages and Node, pins stackgen and runs verify. */
export function renderCiWorkflow(
  plan: Plan,
  provider: CiProvider,
  specPath: string,
  source: StackgenSource,
): Artifact {
  const entry = CI_PROVIDER_ENTRIES[provider];
  const distro = DISTROS[entry.distro];
  const debian = [...plan.topology.packages];
  const renamed = debian
    .filter((p) => packageFor(entry.distro, p) !== p)
    .map((p) => `${p} → ${packageFor(entry.distro, p)}: ${distro.renames[p]!.why}`);
  const install = installLines(source);
  return {
    path: entry.path,
    mode: 0o644,
    component: 'ci',
    content: renderTemplate(`ci/${provider}.yml.hbs`, {
      header: `Generated by stackgen ci from ${plan.source} — do not edit: change ${plan.source} and run \`stackgen ci --provider ${provider}\`.`,
      name: plan.name,
      packages: [...new Set(debian.map((p) => packageFor(entry.distro, p)))].sort(),
      renamed,
      distro: distro.title,
      node: CI_NODE_MAJOR,
      install: install.lines,
      installWhy: install.why,
      specPath,
    }),
  };
}
