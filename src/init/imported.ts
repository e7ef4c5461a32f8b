// `stackgen init --import`: let the framework load its own settings (Django: django.setup())
// when reading them as text is not enough (settings split over modules, paths from the
// environment). Per framework, as data: the Python that prints the settings as JSON, and a
// pure function that folds what it printed into the detection. Only with --import: loading
// settings runs the project's code.

import { posix } from 'node:path';
import type { Framework } from '../stack/enums.js';
import { type Detection, mediaStatic } from './detect.js';

export interface SettingsImporter {
  /** Python that prints one JSON object on stdout (run with cwd = app root, the detection's env set). */
  script: string;
  /** The detection with what the settings said (paths are absolute: made relative to rootDir). */
  apply: (
    detection: Detection,
    values: Record<string, unknown>,
    rootDir: string,
    isDirectory: (path: string) => boolean,
  ) => Detection;
}

const DJANGO_SCRIPT = `
import json, os, sys
sys.path.insert(0, os.getcwd())
import django
django.setup()
from django.conf import settings as s
db = s.DATABASES.get("default", {})
print(json.dumps({
    "STATIC_URL": s.STATIC_URL, "STATIC_ROOT": str(s.STATIC_ROOT) if s.STATIC_ROOT else None,
    "MEDIA_URL": s.MEDIA_URL, "MEDIA_ROOT": str(s.MEDIA_ROOT) if s.MEDIA_ROOT else None,
    "DB_ENGINE": db.get("ENGINE"), "DB_NAME": str(db.get("NAME")) if db.get("NAME") else None,
    "INSTALLED_APPS": list(s.INSTALLED_APPS), "ALLOWED_HOSTS": list(s.ALLOWED_HOSTS), "DEBUG": bool(s.DEBUG),
}))
`;

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** `/static/` form of a URL setting (Django 4 writes `static/`). */
const prefix = (url: string) => `/${url.replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/');

/** An absolute path from the settings → relative to root when inside it. */
function underRoot(path: string, rootDir: string): string {
  const rel = posix.relative(rootDir, path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
}

function applyDjango(
  detection: Detection,
  v: Record<string, unknown>,
  rootDir: string,
  isDirectory: (path: string) => boolean,
): Detection {
  // What the settings said replaces what their text suggested.
  const out: Detection = {
    ...detection,
    static: {},
    writable: [],
    evidence: [...detection.evidence],
    notes: detection.notes.filter((n) => !n.includes('STATIC_ROOT') && !n.includes('MEDIA_ROOT')),
  };
  const said = (what: string) => out.evidence.push(`django.setup() (--import): ${what}`);
  const staticUrl = str(v['STATIC_URL']);
  const staticRoot = str(v['STATIC_ROOT']);
  if (staticUrl && staticRoot) {
    out.static[prefix(staticUrl)] = underRoot(staticRoot, rootDir);
    said(`STATIC_ROOT ${staticRoot} at ${prefix(staticUrl)}`);
    // The textual reading's "no STATIC_ROOT" is answered.
    out.notes = out.notes.filter((n) => !n.includes('no STATIC_ROOT'));
  }
  const mediaRoot = str(v['MEDIA_ROOT']);
  if (mediaRoot) {
    const dir = underRoot(mediaRoot, rootDir);
    if (!out.writable.includes(dir)) out.writable.push(dir);
    const mediaUrl = str(v['MEDIA_URL']);
    if (mediaUrl) mediaStatic(out, prefix(mediaUrl), dir, isDirectory(dir));
    said(`MEDIA_ROOT ${mediaRoot} writable`);
  }
  const dbName = str(v['DB_NAME']);
  if (v['DB_ENGINE'] === 'django.db.backends.sqlite3' && dbName && dbName !== ':memory:') {
    const dir = underRoot(posix.dirname(dbName), rootDir);
    // The app root is never made writable (see detect.ts: the app would own its code).
    if (dir !== '.' && !out.writable.includes(dir)) out.writable.push(dir);
    said(
      `a SQLite database ${dbName}${dir === '.' ? ' beside the code (not made writable)' : ` → ${dir} writable`}`,
    );
    if (dir === '.' && !out.notes.some((n) => n.includes('SQLite')))
      out.notes.push(
        `the SQLite database ${dbName} lies beside the code: move NAME into a directory of its own (BASE_DIR / 'data' / 'db.sqlite3') and rerun init (or pass --writable data)`,
      );
  }
  const apps = Array.isArray(v['INSTALLED_APPS']) ? (v['INSTALLED_APPS'] as string[]) : [];
  if (apps.includes('channels') && !out.websockets) {
    out.websockets = true;
    out.interface = 'asgi';
    out.entry = out.entry.replace(/\.wsgi:application$/, '.asgi:application');
    said('channels in INSTALLED_APPS → ASGI, with WebSockets');
  }
  if (Array.isArray(v['ALLOWED_HOSTS'])) {
    const hosts = v['ALLOWED_HOSTS'] as string[];
    const localOnly = hosts.length === 0 && v['DEBUG'] === true;
    out.allowedHosts = {
      hosts: localOnly ? ['.localhost', '127.0.0.1', '[::1]'] : hosts,
      where: `django.setup(): ALLOWED_HOSTS = ${JSON.stringify(hosts)}${localOnly ? ' (with DEBUG: localhost only)' : ''}`,
    };
  }
  return out;
}

/** The frameworks whose settings `--import` can load. */
export const SETTINGS_IMPORTERS: Partial<Record<Framework, SettingsImporter>> = {
  django: { script: DJANGO_SCRIPT, apply: applyDjango },
};
