// The distributions stackgen installs packages on, as data. The catalog names Debian 12's
// packages (what `doctor` and this host know); another distribution that packages the same
// programs under other names gets a rename map here, and `doctor` and `stackgen ci` read
// it through packageFor() — one mapping, so the workflow installs what doctor would.

export const DISTRO_IDS = ['debian-12', 'ubuntu-24.04'] as const;
export type DistroId = (typeof DISTRO_IDS)[number];

export interface PackageRename {
  /** The package of the same program on this distribution. */
  name: string;
  /** Why the name differs, for the generated comment and `doctor`. */
  why: string;
}

export interface Distro {
  id: DistroId;
  title: string;
  /** os-release's ID and VERSION_ID (os-release(5)) that identify it. */
  osRelease: { id: string; versionId: string };
  /** Debian 12 package name → this distribution's, for the names that differ. */
  renames: Readonly<Record<string, PackageRename>>;
}

export const DISTROS: Readonly<Record<DistroId, Distro>> = {
  'debian-12': {
    id: 'debian-12',
    title: 'Debian 12 (bookworm)',
    osRelease: { id: 'debian', versionId: '12' },
    renames: {},
  },
  'ubuntu-24.04': {
    id: 'ubuntu-24.04',
    title: 'Ubuntu 24.04 (noble)',
    osRelease: { id: 'ubuntu', versionId: '24.04' },
    renames: {
      // Debian 12's nginx-light is a metapackage: the `nginx` server package plus the echo
      // module (apt-cache show nginx-light: Depends: libnginx-mod-http-echo, nginx). noble's
      // archive has the server under the same name, `nginx` (with the Debian layout:
      // sites-enabled, the default site), and its nginx-light is not the package to count on;
      // `nginx` is the name both distributions install /usr/sbin/nginx from.
      'nginx-light': {
        name: 'nginx',
        why: 'the server package is `nginx` on both; Debian 12’s nginx-light only adds the echo module on top of it',
      },
    },
  },
};

/** The distribution's package for a package the catalog names (Debian 12's name). */
export function packageFor(distro: DistroId, debianPackage: string): string {
  return DISTROS[distro].renames[debianPackage]?.name ?? debianPackage;
}

/** The distribution an os-release(5) text describes, or null when the catalog has no entry. */
export function distroFromOsRelease(text: string): DistroId | null {
  const field = (key: string) => {
    const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
    return m ? m[1]!.trim().replace(/^["']|["']$/g, '') : null;
  };
  const id = field('ID');
  const versionId = field('VERSION_ID');
  for (const d of Object.values(DISTROS))
    if (d.osRelease.id === id && d.osRelease.versionId === versionId) return d.id;
  return null;
}
