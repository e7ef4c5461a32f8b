// Detection over real project layouts: the repo's example apps (read from disk by the
// scanner) and the files `django-admin startproject` writes (Django 3.2 and 4.x forms).

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  detectProject,
  missingEntry,
  type ProjectFiles,
  requirementNames,
  settingPath,
} from '../../../src/init/detect.js';
import { scanProject } from '../../../src/init/scan.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples', 'apps');

function project(
  texts: Record<string, string>,
  extra: { paths?: string[]; executables?: string[] } = {},
): ProjectFiles {
  const paths = [...Object.keys(texts), ...(extra.paths ?? [])];
  const dirs = [
    ...new Set(
      paths.flatMap((p) =>
        p
          .split('/')
          .slice(0, -1)
          .map((_, i, a) => a.slice(0, i + 1).join('/')),
      ),
    ),
  ];
  return { paths, dirs, executables: extra.executables ?? [], texts };
}

// What Django 3.2's startproject writes (trimmed to the lines detection reads).
const MANAGE = `#!/usr/bin/env python
import os
import sys

def main():
    """Run administrative tasks."""
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')
`;
const SETTINGS_32 = `from pathlib import Path

# Build paths inside the project like this: BASE_DIR / 'subdir'.
BASE_DIR = Path(__file__).resolve().parent.parent

INSTALLED_APPS = [
    'django.contrib.admin',
    'django.contrib.staticfiles',
]

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.sqlite3',
        'NAME': BASE_DIR / 'db.sqlite3',
    }
}

STATIC_URL = '/static/'
`;
const WSGI = `import os\nfrom django.core.wsgi import get_wsgi_application\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\napplication = get_wsgi_application()\n`;
const ASGI = WSGI.replaceAll('wsgi', 'asgi').replaceAll('WSGI', 'ASGI');

function django(settings: string, more: Record<string, string> = {}, extra = {}): ProjectFiles {
  return project(
    {
      'manage.py': MANAGE,
      'mysite/__init__.py': '',
      'mysite/settings.py': settings,
      'mysite/urls.py': '',
      'mysite/wsgi.py': WSGI,
      'mysite/asgi.py': ASGI,
      ...more,
    },
    extra,
  );
}

describe('Django', () => {
  it('a fresh startproject: settings module, WSGI entry, the SQLite file beside the code (a note, not a writable root), no STATIC_ROOT yet', () => {
    const d = detectProject(django(SETTINGS_32))!;
    expect(d.framework).toBe('django');
    expect(d.entry).toBe('mysite.wsgi:application');
    expect(d.interface).toBeUndefined();
    expect(d.root).toBe('.');
    expect(d.env).toEqual({ DJANGO_SETTINGS_MODULE: 'mysite.settings' });
    // db.sqlite3 in BASE_DIR: a writable root would let the app rewrite its code (install chowns app.writable).
    expect(d.writable).toEqual([]);
    expect(d.notes.join('\n')).toMatch(/db\.sqlite3 lies beside the code.*BASE_DIR \/ 'data'/);
    expect(d.static).toEqual({});
    expect(d.notes.join('\n')).toMatch(/no STATIC_ROOT/);
  });

  it("Django 4's forms: STATIC_URL without a slash, STATIC_ROOT, MEDIA_ROOT, the database in data/", () => {
    const settings = `${SETTINGS_32.replace("'/static/'", "'static/'").replace("BASE_DIR / 'db.sqlite3'", "BASE_DIR / 'data' / 'db.sqlite3'")}STATIC_ROOT = BASE_DIR / 'staticfiles'\nMEDIA_URL = 'media/'\nMEDIA_ROOT = os.path.join(BASE_DIR, 'media')\n`;
    const d = detectProject(
      django(settings, {}, { paths: ['staticfiles/admin/css/base.css', 'media/a.png'] }),
    )!;
    expect(d.static).toEqual({ '/static/': 'staticfiles', '/media/': 'media' });
    expect(d.writable).toEqual(['media', 'data']);
    expect(d.notes).toEqual([]);
    // No media/ yet: writable (install creates it), not served (a missing static directory is a 404 everywhere).
    const fresh = detectProject(django(settings, {}, { paths: ['staticfiles/admin/css/base.css'] }))!;
    expect(fresh.static).toEqual({ '/static/': 'staticfiles' });
    expect(fresh.writable).toEqual(['media', 'data']);
    expect(fresh.notes.join('\n')).toMatch(/MEDIA_ROOT media does not exist yet/);
  });

  it('ALLOWED_HOSTS: an empty list with DEBUG allows localhost only; a list is read as written', () => {
    expect(
      detectProject(django(`${SETTINGS_32}DEBUG = True\nALLOWED_HOSTS = []\n`))!.allowedHosts!.hosts,
    ).toEqual(['.localhost', '127.0.0.1', '[::1]']);
    expect(
      detectProject(django(`${SETTINGS_32}ALLOWED_HOSTS = ['shop.example', '.cdn.example']\n`))!.allowedHosts!
        .hosts,
    ).toEqual(['shop.example', '.cdn.example']);
    expect(
      detectProject(django(`${SETTINGS_32}ALLOWED_HOSTS = env.list('HOSTS')\n`))!.allowedHosts,
    ).toBeUndefined();
  });

  it('collectstatic not run: STATIC_ROOT named but empty is a note', () => {
    const d = detectProject(django(`${SETTINGS_32}STATIC_ROOT = BASE_DIR / 'staticfiles'\n`))!;
    expect(d.static).toEqual({ '/static/': 'staticfiles' });
    expect(d.notes.join('\n')).toMatch(/collectstatic/);
  });

  it('Channels in INSTALLED_APPS → the ASGI application, with WebSockets', () => {
    const settings = SETTINGS_32.replace(
      "'django.contrib.admin',",
      "'channels',\n    'django.contrib.admin',",
    );
    const d = detectProject(django(settings))!;
    expect(d.entry).toBe('mysite.asgi:application');
    expect(d.interface).toBe('asgi');
    expect(d.websockets).toBe(true);
  });

  it('async views → ASGI without WebSockets', () => {
    const d = detectProject(
      django(SETTINGS_32, { 'shop/views.py': 'async def index(request):\n    ...\n' }),
    )!;
    expect(d.interface).toBe('asgi');
    expect(d.websockets).toBe(false);
  });

  it('a project one level down, a settings package, a venv and requirements', () => {
    const files = project(
      {
        'src/manage.py': MANAGE.replace('mysite.settings', 'config.settings.production'),
        'src/config/__init__.py': '',
        'src/config/settings/__init__.py': '',
        'src/config/settings/production.py':
          "BASE_DIR = Path(__file__).resolve().parent.parent.parent\nSTATIC_URL = '/assets/'\nSTATIC_ROOT = BASE_DIR / 'public'\n",
        'src/config/wsgi.py': WSGI,
        'requirements.txt': 'Django>=4.2\ngunicorn==21.2  # the server\n-r base.txt\n',
      },
      { paths: ['src/.venv/bin/python', 'src/public/app.css'] },
    );
    const d = detectProject(files)!;
    expect(d.root).toBe('src');
    expect(d.entry).toBe('config.wsgi:application');
    expect(d.static).toEqual({ '/assets/': 'public' });
    expect(d.venv).toBe('.venv');
    expect(d.dependsOn).toEqual(['gunicorn']);
  });

  it('settingPath reads the path forms settings use', () => {
    expect(settingPath("BASE_DIR / 'static'", '.')).toBe('static');
    expect(settingPath("os.path.join(BASE_DIR, 'a', 'b')", '.')).toBe('a/b');
    expect(settingPath("str(BASE_DIR / 'x')", 'src')).toBe('src/x');
    expect(settingPath("'/var/www/static'", '.')).toBe('/var/www/static');
    expect(settingPath("env('STATIC_ROOT')", '.')).toBeUndefined();
    expect(
      settingPath("os.path.join(BASE_DIR, os.environ.get('STATIC_DIR', 'collected'))", '.'),
    ).toBeUndefined();
  });
});

describe('the other frameworks', () => {
  it('Flask: the module holding Flask(__name__)', () => {
    const d = detectProject(project({ 'hello.py': 'from flask import Flask\nserver = Flask(__name__)\n' }))!;
    expect([d.framework, d.entry]).toEqual(['flask', 'hello:server']);
  });

  it('Flask: its default static folder beside a top-level module is served; a folder of its own or one inside the package is not', () => {
    const app = 'from flask import Flask\napp = Flask(__name__)\n';
    expect(detectProject(project({ 'app.py': app, 'static/site.css': '' }))!.static).toEqual({
      '/static/': 'static',
    });
    expect(detectProject(project({ 'app.py': app }))!.static).toEqual({});
    const own = 'from flask import Flask\napp = Flask(__name__, static_folder="assets")\n';
    expect(detectProject(project({ 'app.py': own, 'static/site.css': '' }))!.static).toEqual({});
    expect(detectProject(project({ 'shop/__init__.py': app, 'shop/static/site.css': '' }))!.static).toEqual(
      {},
    );
  });

  it('Flask: an app factory in a package → module:create_app() as gunicorn takes it', () => {
    const d = detectProject(
      project({
        'blog/__init__.py':
          'from flask import Flask\n\ndef create_app(config=None):\n    app = Flask(__name__)\n    return app\n',
      }),
    )!;
    // A Flask object inside the factory is not at module level: the factory wins.
    expect([d.framework, d.entry, d.root]).toEqual(['flask', 'blog:create_app()', '.']);
  });

  it('FastAPI and Starlette: the ASGI object', () => {
    expect(
      detectProject(project({ 'api/main.py': 'from fastapi import FastAPI\napi = FastAPI()\n' })),
    ).toMatchObject({
      framework: 'fastapi',
      entry: 'main:api',
      root: 'api',
    });
    expect(
      detectProject(
        project({ 'app.py': 'from starlette.applications import Starlette\napp = Starlette(routes=[])\n' }),
      ),
    ).toMatchObject({ framework: 'starlette', entry: 'app:app' });
  });

  it('a plain WSGI callable in a .py and in a .wsgi file (as mod_wsgi loads it)', () => {
    expect(
      detectProject(project({ 'site.py': 'def application(environ, start_response):\n    ...\n' })),
    ).toMatchObject({ framework: 'wsgi', entry: 'site:application' });
    expect(
      detectProject(
        project({ 'hg/hgweb.wsgi': 'from mercurial.hgweb import hgweb\napplication = hgweb(b"/srv/hg")\n' }),
      ),
    ).toMatchObject({ framework: 'wsgi', entry: 'hgweb.wsgi', root: 'hg' });
  });

  it('CGI: an executable in cgi-bin', () => {
    expect(
      detectProject(project({ 'cgi-bin/search': '#!/bin/sh\n' }, { executables: ['cgi-bin/search'] })),
    ).toMatchObject({ framework: 'cgi', entry: 'search', root: 'cgi-bin' });
  });

  it('the requirements name the servers the project depends on', () => {
    expect(requirementNames('requirements.txt', 'uvicorn[standard]>=0.20\n# gunicorn\nFlask\n')).toEqual([
      'uvicorn',
      'flask',
    ]);
    expect(
      requirementNames(
        'pyproject.toml',
        '[project]\ndependencies = ["fastapi>=0.100", "uvicorn[standard]"]\n',
      ),
    ).toEqual(expect.arrayContaining(['fastapi', 'uvicorn']));
    const d = detectProject(
      project({
        'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
        'requirements.txt': 'fastapi\nuvicorn\n',
      }),
    )!;
    expect(d.dependsOn).toEqual(['uvicorn']);
  });

  it('nothing recognizable → null', () => {
    expect(detectProject(project({ 'README.md': '', 'setup.py': 'import setuptools\n' }))).toBeNull();
  });

  it('missingEntry says why an entry names no file', () => {
    const files = project({ 'app.py': '', 'pkg/__init__.py': '' });
    expect(missingEntry(files, '.', 'app:app')).toBeNull();
    expect(missingEntry(files, '.', 'pkg:create_app()')).toBeNull();
    expect(missingEntry(files, '.', 'main:app')).toMatch(/no main\.py/);
    expect(missingEntry(files, '.', 'app')).toMatch(/does not exist/);
    expect(missingEntry(files, '.', 'app:')).toMatch(/not module:callable/);
  });
});

describe("the repo's example apps, read from disk", () => {
  it.each([
    ['django', 'django', 'mysite.wsgi:application'],
    ['flask', 'flask', 'app:app'],
    ['fastapi', 'fastapi', 'main:app'],
    ['bottle', 'bottle', 'app:app'],
    ['tornado', 'tornado', 'app:make_app'],
    ['wsgi', 'wsgi', 'app:application'],
    ['cgi', 'cgi', 'hello.cgi'],
  ])('%s', (dir, framework, entry) => {
    expect(detectProject(scanProject(join(EXAMPLES, dir)))).toMatchObject({ framework, entry });
  });
});
