// What `stackgen init` can tell about a project from its files, without running them: the
// framework and its entry point, Django's settings (static and media directories, a SQLite
// database, Channels), a virtualenv, the app servers the project already depends on.
// Pure: it reads a listing and file texts (src/init/scan.ts is the I/O edge), never imports
// the project. Every finding carries the evidence it came from, for the proposal to quote.

import { posix } from 'node:path';
import type { AppInterface, Framework, ServerName } from '../stack/enums.js';
import { SERVER_NAMES } from '../topology/catalog/names.js';

/** A project directory as init sees it: paths relative to it, `/`-separated. */
export interface ProjectFiles {
  /** Every file (a virtualenv's contents and dot-directories left out, but `venv/bin/python` kept). */
  paths: readonly string[];
  /** Every directory. */
  dirs: readonly string[];
  /** Files with an executable bit. */
  executables: readonly string[];
  /** The text of the files worth reading (Python, .wsgi, .cgi, requirements, pyproject). */
  texts: Readonly<Record<string, string>>;
}

/** What was found, each field with the reason it was found. */
export interface Detection {
  framework: Framework;
  /** Only when the framework's default interface is not the one to use (Django with Channels → asgi). */
  interface?: AppInterface;
  entry: string;
  /** The directory holding the code (app.root), relative to the project dir. */
  root: string;
  env: Record<string, string>;
  /** URL prefix → directory relative to root. */
  static: Record<string, string>;
  writable: string[];
  websockets: boolean;
  /** The virtualenv directory, relative to root (app.venv). */
  venv?: string;
  /** App servers the requirements name, in catalog order. */
  dependsOn: ServerName[];
  /** One line per finding: what was read and what it means. */
  evidence: string[];
  /** What init could not settle and the user should know (collectstatic not run…). */
  notes: string[];
  /**
   * The Host names the app itself accepts (Django's ALLOWED_HOSTS, as a literal list, with
   * DEBUG's localhost names when it is empty), and where that is set; absent: no such check read.
   */
  allowedHosts?: { hosts: string[]; where: string };
}

/** What a framework detector found: the framework's part of a Detection. */
type Found = Pick<Detection, 'entry' | 'root' | 'evidence'> &
  Partial<
    Pick<Detection, 'interface' | 'env' | 'static' | 'writable' | 'websockets' | 'notes' | 'allowedHosts'>
  >;

interface Detector {
  framework: Framework;
  detect: (files: ProjectFiles) => Found | null;
}

/** Directories a virtualenv is usually made in, next to the code. */
export const VENV_DIRS = ['.venv', 'venv', 'env'] as const;

/** The distribution name each app server has on PyPI (wsgiref is the standard library; cgi is not Python). */
const SERVER_DISTRIBUTIONS: Partial<Record<ServerName, string>> = {
  uwsgi: 'uwsgi',
  gunicorn: 'gunicorn',
  uvicorn: 'uvicorn',
  tornado: 'tornado',
  waitress: 'waitress',
};

/** Is this a file a requirements reader should read? */
export function isRequirementsFile(path: string): boolean {
  const base = posix.basename(path);
  return /^requirements.*\.txt$/.test(base) || base === 'pyproject.toml' || base === 'Pipfile';
}

/** Is this a file init reads the text of? */
export function isReadable(path: string): boolean {
  return /\.(py|wsgi|cgi)$/.test(path) || isRequirementsFile(path) || path.includes('cgi-bin/');
}

/** Files by depth (shallow first), then by name: the project's own entry beats a vendored one. */
function byDepth(paths: readonly string[]): string[] {
  return [...paths].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
}

/** Conventional entry file names, best first: among several matches these win. */
const USUAL_FILES = ['app.py', 'main.py', 'wsgi.py', 'asgi.py', 'application.py', 'server.py'];

function preferUsual(paths: string[]): string[] {
  const rank = (p: string) => {
    const i = USUAL_FILES.indexOf(posix.basename(p));
    return i === -1 ? USUAL_FILES.length : i;
  };
  return [...paths].sort((a, b) => a.split('/').length - b.split('/').length || rank(a) - rank(b));
}

/**
 * A Python file's import root and module name: the root is the nearest directory above it
 * that is not a package (has no __init__.py), as Python's import path needs it.
 */
export function moduleOf(files: ProjectFiles, path: string): { root: string; module: string } {
  const parts = path.replace(/\.py$/, '').split('/');
  if (parts.at(-1) === '__init__') parts.pop();
  let cut = parts.length - 1;
  const has = new Set(files.paths);
  while (cut > 0 && has.has(`${parts.slice(0, cut).join('/')}/__init__.py`)) cut--;
  return { root: parts.slice(0, cut).join('/') || '.', module: parts.slice(cut).join('.') };
}

/** Files whose text matches, shallow and usual names first. */
function filesMatching(files: ProjectFiles, pattern: RegExp, ext = /\.py$/): string[] {
  return preferUsual(Object.keys(files.texts).filter((p) => ext.test(p) && pattern.test(files.texts[p]!)));
}

/** `name = Factory(` at module level: the variable holding the app object. */
function assignedObject(factory: string): RegExp {
  return new RegExp(String.raw`^(\w+)\s*(?::[^=\n]*)?=\s*(?:[\w.]+\.)?${factory}\(`, 'm');
}

/** An object made by a framework class (`app = Flask(__name__)`) → module:variable. */
function objectDetector(
  framework: Framework,
  factories: string[],
  imports: RegExp,
  staticFolder?: { url: string; dir: string; why: string },
): Detector {
  return {
    framework,
    detect: (files) => {
      for (const factory of factories) {
        const pattern = assignedObject(factory);
        const path = filesMatching(files, pattern).find((p) => imports.test(files.texts[p]!));
        if (!path) continue;
        const variable = pattern.exec(files.texts[path]!)![1]!;
        const { root, module } = moduleOf(files, path);
        const evidence = [`${path}: \`${variable} = ${factory}(…)\` → entry ${module}:${variable}`];
        // The framework's default static folder beside a top-level module (inside a package it
        // would be the code the entry imports, which app.static refuses to publish).
        const call = new RegExp(
          String.raw`^${variable}\s*(?::[^=\n]*)?=\s*(?:[\w.]+\.)?${factory}\(([^\n]*)`,
          'm',
        );
        const ownFolder = /static_(folder|url_path)/.test(call.exec(files.texts[path]!)?.[1] ?? '');
        const folder =
          staticFolder && !ownFolder && !module.includes('.') && !path.endsWith('__init__.py')
            ? staticFolder
            : undefined;
        const dir = folder ? posix.join(posix.dirname(path), folder.dir) : '';
        const served = folder !== undefined && files.paths.some((p) => p.startsWith(`${dir}/`));
        if (served) evidence.push(`${dir}/: ${folder.why} → served by the proxy at ${folder.url}`);
        return {
          entry: `${module}:${variable}`,
          root,
          evidence,
          ...(served ? { static: { [folder.url]: folder.dir } } : {}),
        };
      }
      return null;
    },
  };
}

/** An app factory (`def create_app(`): gunicorn calls it when the entry is `module:create_app()`. */
function factoryDetector(
  framework: Framework,
  factory: string,
  imports: RegExp,
  call: (module: string) => string,
): Detector {
  const pattern = new RegExp(String.raw`^def ${factory}\(`, 'm');
  return {
    framework,
    detect: (files) => {
      const path = filesMatching(files, pattern).find((p) => imports.test(files.texts[p]!));
      if (!path) return null;
      const { root, module } = moduleOf(files, path);
      const entry = call(module);
      return { entry, root, evidence: [`${path}: an app factory \`def ${factory}(\` → entry ${entry}`] };
    },
  };
}

// ---- Django: manage.py names the settings module; the settings name the rest. ----

const SETTINGS_MODULE = /os\.environ\.setdefault\(\s*['"]DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]/;

/** A top-level setting's right-hand side (one line, as startproject writes them). */
function setting(text: string, name: string): string | undefined {
  return new RegExp(String.raw`^${name}\s*=\s*(.+?)\s*(?:#.*)?$`, 'm').exec(text)?.[1];
}

function literal(expr: string | undefined): string | undefined {
  return expr === undefined ? undefined : /^[rbu]?['"]([^'"]*)['"]$/.exec(expr)?.[1];
}

/**
 * A path setting relative to the project dir: `BASE_DIR / 'static'`, `os.path.join(BASE_DIR,
 * 'static')`, `str(BASE_DIR / 'a' / 'b')`, or an absolute string. undefined: not a form read here.
 */
export function settingPath(expr: string | undefined, baseDir: string): string | undefined {
  if (expr === undefined) return undefined;
  const absolute = literal(expr);
  if (absolute !== undefined) return absolute.startsWith('/') ? absolute : undefined;
  if (!/\bBASE_DIR\b/.test(expr)) return undefined;
  const after = expr.slice(expr.indexOf('BASE_DIR') + 'BASE_DIR'.length);
  // Only literal segments (`/ 'a'`, `, 'a'`): a segment from the environment is not a path init can know.
  if (!/^(?:\s*[/,]\s*['"][^'"]+['"])*\s*\)*\s*$/.test(after)) return undefined;
  const parts = [...after.matchAll(/['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  return posix.normalize(posix.join(baseDir, ...parts));
}

/**
 * BASE_DIR from its definition: each `.parent` or `os.path.dirname(` is one directory up from
 * settings. A settings file without one imports it (`from .base import *`): startproject's
 * two levels up is assumed.
 */
function baseDirOf(settingsText: string, settingsPath: string): string {
  const def = setting(settingsText, 'BASE_DIR');
  const ups =
    def === undefined ? 2 : (def.match(/\.parent\b/g)?.length ?? 0) + (def.match(/dirname\(/g)?.length ?? 0);
  let dir = settingsPath;
  for (let i = 0; i < Math.max(ups, 1); i++) dir = posix.dirname(dir);
  return dir;
}

/** `static/` or `/static` → `/static/`: the URL prefix form app.static takes. */
function urlPrefix(url: string): string {
  return `/${url.replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/');
}

const django: Detector = {
  framework: 'django',
  detect: (files) => {
    const manage = byDepth(files.paths).find(
      (p) => posix.basename(p) === 'manage.py' && SETTINGS_MODULE.test(files.texts[p] ?? ''),
    );
    if (!manage) return null;
    const root = posix.dirname(manage);
    const inRoot = (p: string) => (root === '.' ? p : posix.join(root, p));
    const settingsModule = SETTINGS_MODULE.exec(files.texts[manage]!)![1]!;
    const evidence = [`${manage}: DJANGO_SETTINGS_MODULE=${settingsModule}`];
    const notes: string[] = [];
    const has = new Set(files.paths);

    // The project package holds wsgi.py/asgi.py beside the settings (mysite.settings → mysite;
    // config.settings.production → config).
    const modules = settingsModule.split('.');
    const packages = modules
      .map((_, i) => modules.slice(0, i).join('.'))
      .filter(Boolean)
      .reverse();
    const pkgWith = (file: string) =>
      packages.find((pkg) => has.has(inRoot(`${pkg.replaceAll('.', '/')}/${file}`)));
    const wsgiPkg = pkgWith('wsgi.py');
    const asgiPkg = pkgWith('asgi.py');
    const settingsRel = [
      `${settingsModule.replaceAll('.', '/')}.py`,
      `${settingsModule.replaceAll('.', '/')}/__init__.py`,
    ].find((p) => has.has(inRoot(p)));
    const settingsFile = settingsRel === undefined ? undefined : inRoot(settingsRel);
    const text = settingsFile ? (files.texts[settingsFile] ?? '') : '';
    if (!settingsFile)
      notes.push(`${settingsModule} was not found under ${root}: its settings were not read`);

    // Channels, or async views, need the ASGI application.
    const channels =
      /['"](channels|daphne)['"]/.test(setting(text, 'INSTALLED_APPS') ?? '') ||
      /^INSTALLED_APPS\s*=\s*\[[^\]]*['"]channels['"]/ms.test(text);
    const asyncViews = Object.keys(files.texts).filter(
      (p) =>
        (p === root || root === '.' || p.startsWith(`${root}/`)) &&
        /views\.py$/.test(p) &&
        /^async def /m.test(files.texts[p]!),
    );
    const asgi = (channels || asyncViews.length > 0) && asgiPkg !== undefined;
    if (channels) evidence.push(`${settingsFile}: channels in INSTALLED_APPS → ASGI, with WebSockets`);
    if (asyncViews.length > 0) evidence.push(`${asyncViews.join(', ')}: async views → ASGI`);
    const pkg = asgi ? asgiPkg : (wsgiPkg ?? asgiPkg);
    const kind = asgi || wsgiPkg === undefined ? 'asgi' : 'wsgi';
    const entry = `${pkg ?? modules[0]}.${kind}:application`;
    evidence.push(
      `${pkg ? inRoot(`${pkg.replaceAll('.', '/')}/${kind}.py`) : 'no wsgi.py found'} → entry ${entry}`,
    );

    const found: Found = {
      entry,
      root,
      evidence,
      notes,
      env: { DJANGO_SETTINGS_MODULE: settingsModule },
      static: {},
      writable: [],
      websockets: channels,
      ...(kind === 'asgi' ? { interface: 'asgi' as const } : {}),
    };
    if (settingsRel === undefined) return found;

    // Paths in settings hang off BASE_DIR; app.static and app.writable are relative to root.
    const baseDir = baseDirOf(text, settingsRel);
    const directory = (name: string) => settingPath(setting(text, name), baseDir);

    const staticUrl = literal(setting(text, 'STATIC_URL'));
    const staticRoot = directory('STATIC_ROOT');
    if (staticUrl && staticRoot && !staticRoot.startsWith('/')) {
      found.static![urlPrefix(staticUrl)] = staticRoot;
      evidence.push(
        `${settingsFile}: STATIC_URL ${staticUrl}, STATIC_ROOT ${staticRoot} → served by the proxy`,
      );
      if (!files.paths.some((p) => p.startsWith(`${inRoot(staticRoot)}/`)))
        notes.push(
          `${staticRoot} is empty or missing: run \`python3 manage.py collectstatic\` before deploying`,
        );
    } else if (staticUrl) {
      notes.push(
        `${settingsFile}: STATIC_URL ${staticUrl} but no STATIC_ROOT init can read: set STATIC_ROOT (e.g. BASE_DIR / 'staticfiles'), run collectstatic, then add it to app.static (or rerun init)`,
      );
    }

    const mediaUrl = literal(setting(text, 'MEDIA_URL'));
    const mediaRoot = directory('MEDIA_ROOT');
    if (mediaRoot && !mediaRoot.startsWith('/')) {
      found.writable!.push(mediaRoot);
      evidence.push(`${settingsFile}: MEDIA_ROOT ${mediaRoot} → writable (uploads)`);
      if (mediaUrl)
        mediaStatic(
          { static: found.static!, notes },
          urlPrefix(mediaUrl),
          mediaRoot,
          files.dirs.includes(inRoot(mediaRoot)),
        );
    }

    // ALLOWED_HOSTS as a literal list; empty with DEBUG = True, Django allows localhost names only.
    const hostsExpr = setting(text, 'ALLOWED_HOSTS');
    if (hostsExpr !== undefined && /^\[[^\]]*\]$/.test(hostsExpr)) {
      const hosts = [...hostsExpr.matchAll(/['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      const debug = setting(text, 'DEBUG') === 'True';
      const localOnly = hosts.length === 0 && debug;
      found.allowedHosts = {
        hosts: localOnly ? ['.localhost', '127.0.0.1', '[::1]'] : hosts,
        where: `${settingsFile}: ALLOWED_HOSTS = ${hostsExpr}${localOnly ? ' (with DEBUG: localhost only)' : ''}`,
      };
    }

    const sqlite =
      /['"]ENGINE['"]\s*:\s*['"]django\.db\.backends\.sqlite3['"]\s*,\s*['"]NAME['"]\s*:\s*([^,\n}]+)/.exec(
        text,
      );
    if (sqlite) {
      const db = settingPath(sqlite[1]!.trim(), baseDir);
      if (db && !db.startsWith('/')) {
        const dir = posix.dirname(db);
        // app.writable is owned by the app's account (`stackgen install` chowns it) and is
        // where the hardened unit may write: the app root or a package would hand the app
        // its own code to rewrite. Such a database gets a note instead.
        const holdsCode =
          dir === '.' || has.has(inRoot(`${dir}/__init__.py`)) || has.has(inRoot(`${dir}/manage.py`));
        if (holdsCode) {
          evidence.push(`${settingsFile}: a SQLite database ${db}, beside the code: not made writable`);
          notes.push(
            `the SQLite database ${db} lies beside the code: SQLite writes its journal in the database's directory, and making that writable would let the app rewrite its own code — move NAME into a directory of its own (BASE_DIR / 'data' / 'db.sqlite3') and rerun init (or pass --writable data); until then the app can read but not write it`,
          );
        } else {
          found.writable!.push(dir);
          evidence.push(
            `${settingsFile}: a SQLite database ${db} → ${dir} writable (SQLite writes its journal beside the file)`,
          );
        }
      }
    }
    found.writable = [...new Set(found.writable)];
    return found;
  },
};

/**
 * MEDIA_URL → MEDIA_ROOT served by the proxy, once the directory exists: a static directory
 * that does not exist is a 404 for every request (verify's static probe fails it), and
 * `stackgen install` creates it only as app.writable.
 */
export function mediaStatic(
  into: { static: Record<string, string>; notes: string[] },
  url: string,
  dir: string,
  exists: boolean,
): void {
  if (exists) into.static[url] = dir;
  else
    into.notes.push(
      `MEDIA_ROOT ${dir} does not exist yet: it is app.writable (install creates it); once it does, add \`${url}: ${dir}\` to app.static so the proxy serves the uploads`,
    );
}

// ---- Plain WSGI callables and CGI scripts: the frameworks of last resort. ----

const WSGI_CALLABLE = /^(?:def application\(|application\s*=)/m;

const plainWsgi: Detector = {
  framework: 'wsgi',
  detect: (files) => {
    // A .wsgi file is loaded as mod_wsgi loads it: by path, defining `application`.
    const wsgiFile = filesMatching(files, WSGI_CALLABLE, /\.wsgi$/)[0];
    if (wsgiFile) {
      const root = posix.dirname(wsgiFile);
      const entry = posix.basename(wsgiFile);
      return {
        entry,
        root,
        evidence: [`${wsgiFile}: a WSGI file defining \`application\` → entry ${entry}`],
      };
    }
    const path = filesMatching(files, WSGI_CALLABLE)[0];
    if (!path) return null;
    const { root, module } = moduleOf(files, path);
    return {
      entry: `${module}:application`,
      root,
      evidence: [`${path}: a WSGI callable \`application\` → entry ${module}:application`],
    };
  },
};

const cgiScripts: Detector = {
  framework: 'cgi',
  detect: (files) => {
    const executable = new Set(files.executables);
    const script = byDepth(files.paths).find(
      (p) => p.endsWith('.cgi') || (p.split('/').includes('cgi-bin') && executable.has(p)),
    );
    if (!script) return null;
    const root = posix.dirname(script);
    const entry = posix.basename(script);
    return { entry, root, evidence: [`${script}: a CGI script → entry ${entry}`] };
  },
};

/**
 * The detectors, most specific first: a Django project also holds a `application = …` in
 * wsgi.py, and a FastAPI app is also a Starlette one.
 */
export const DETECTORS: readonly Detector[] = [
  django,
  objectDetector('fastapi', ['FastAPI'], /\bfastapi\b/),
  objectDetector('starlette', ['Starlette'], /\bstarlette\b/),
  objectDetector('flask', ['Flask'], /\bflask\b/, {
    url: '/static/',
    dir: 'static',
    why: "Flask's default static_folder (static_url_path /static)",
  }),
  factoryDetector('flask', 'create_app', /\bflask\b/, (m) => `${m}:create_app()`),
  factoryDetector('tornado', 'make_app', /\btornado\b/, (m) => `${m}:make_app`),
  objectDetector('tornado', ['Application'], /\btornado\b/),
  objectDetector('bottle', ['Bottle', 'default_app'], /\bbottle\b/),
  plainWsgi,
  cgiScripts,
];

/** The distribution names a requirements.txt, pyproject.toml or Pipfile lists (lowercase, `-` for `_`). */
export function requirementNames(path: string, text: string): string[] {
  const norm = (n: string) => n.toLowerCase().replaceAll('_', '-');
  if (posix.basename(path).endsWith('.txt')) {
    return text
      .split('\n')
      .map((l) => /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(l.replace(/#.*/, ''))?.[1])
      .filter((n): n is string => n !== undefined && !n.startsWith('-'))
      .map(norm);
  }
  // pyproject.toml / Pipfile: quoted requirement strings ("gunicorn>=21") and Pipfile keys (gunicorn = "*").
  const quoted = [
    ...text.matchAll(/["']([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:[<>=!~;@(][^"']*)?["']/g),
  ];
  const keys = [...text.matchAll(/^([A-Za-z0-9][A-Za-z0-9._-]*)\s*=/gm)];
  return [...quoted, ...keys].map((m) => norm(m[1]!));
}

/** Detect the project: the first detector that recognizes it, plus venv and requirements. */
export function detectProject(files: ProjectFiles): Detection | null {
  for (const detector of DETECTORS) {
    const found = detector.detect(files);
    if (!found) continue;
    const evidence = [...found.evidence];
    const has = new Set(files.paths);
    const rootPrefix = found.root === '.' ? '' : `${found.root}/`;
    // A virtualenv beside the code or beside the project (app.venv is relative to root).
    const venvAt = [found.root, '.']
      .flatMap((base) => VENV_DIRS.map((d) => (base === '.' ? d : `${base}/${d}`)))
      .find((d) => has.has(`${d}/bin/python`));
    const venv =
      venvAt === undefined ? undefined : posix.relative(found.root === '.' ? '' : found.root, venvAt) || '.';
    if (venvAt) evidence.push(`${venvAt}/bin/python → app.venv ${venv}`);

    const deps = new Set<string>();
    for (const p of Object.keys(files.texts).filter(isRequirementsFile)) {
      if (p.split('/').length > 1 && !p.startsWith(rootPrefix)) continue;
      for (const n of requirementNames(p, files.texts[p]!)) deps.add(n);
    }
    const dependsOn = SERVER_NAMES.filter((s) => {
      const dist = SERVER_DISTRIBUTIONS[s];
      return dist !== undefined && deps.has(dist);
    });
    if (dependsOn.length > 0) evidence.push(`the requirements name ${dependsOn.join(', ')}`);
    return {
      framework: detector.framework,
      ...(found.interface ? { interface: found.interface } : {}),
      entry: found.entry,
      root: found.root,
      env: found.env ?? {},
      static: found.static ?? {},
      writable: found.writable ?? [],
      websockets: found.websockets ?? false,
      ...(venv !== undefined ? { venv } : {}),
      ...(found.allowedHosts ? { allowedHosts: found.allowedHosts } : {}),
      dependsOn,
      evidence,
      notes: found.notes ?? [],
    };
  }
  return null;
}

/**
 * Why an entry point does not name a file of the project, or null when it does: a
 * `module:callable` needs module.py or module/__init__.py under root; a WSGI file or a
 * CGI script is a path under root.
 */
export function missingEntry(files: ProjectFiles, root: string, entry: string): string | null {
  const has = new Set(files.paths);
  const under = (p: string) => (root === '.' ? p : posix.normalize(`${root}/${p}`));
  const colon = entry.indexOf(':');
  if (colon === -1) {
    return has.has(under(entry)) ? null : `${under(entry)} does not exist`;
  }
  const module = entry.slice(0, colon);
  if (
    !/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(module) ||
    !/^[A-Za-z_]\w*(\(\))?$/.test(entry.slice(colon + 1))
  )
    return `${entry} is not module:callable (e.g. app:app, mysite.wsgi:application, app:create_app())`;
  const base = module.replaceAll('.', '/');
  return has.has(under(`${base}.py`)) || has.has(under(`${base}/__init__.py`))
    ? null
    : `no ${under(`${base}.py`)} or ${under(`${base}/__init__.py`)} for ${entry}`;
}
