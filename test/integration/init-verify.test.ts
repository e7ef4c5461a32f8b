// The "done means": in a fresh Django project, a Flask app, a FastAPI app and a bare
// WSGI file, `stackgen init --yes` writes a stack.yaml that `stackgen verify` passes with no
// edit — real frameworks (Debian's python3-django, -flask, -fastapi), real gunicorn and nginx.
// Two deployable Django forms besides: the database in data/ with STATIC_ROOT collected, and
// settings whose STATIC_ROOT only django.setup() can tell (--import).

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeWith } from '../helpers/tools.js';
import { ROOT, removeAnnouncedSandboxes, runVerify } from '../helpers/verify-cli.js';

/** `stackgen init` as a user runs it (through tsx, no terminal: detection and flags only). */
function runInit(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'init', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PROJECTS: Record<string, (dir: string) => void> = {
  django: (dir) => execFileSync('django-admin', ['startproject', 'mysite', dir]),
  // The deployable form: the database in data/, STATIC_ROOT set and collectstatic run.
  'django-collected': (dir) => {
    execFileSync('django-admin', ['startproject', 'mysite', dir]);
    const settings = join(dir, 'mysite', 'settings.py');
    const text = readFileSync(settings, 'utf8').replace(
      "BASE_DIR / 'db.sqlite3'",
      "BASE_DIR / 'data' / 'db.sqlite3'",
    );
    writeFileSync(settings, `${text}\nSTATIC_ROOT = BASE_DIR / 'staticfiles'\n`);
    mkdirSync(join(dir, 'data'));
    execFileSync('/usr/bin/python3', ['manage.py', 'collectstatic', '--noinput'], { cwd: dir });
  },
  // Settings text cannot settle: prod.py takes STATIC_ROOT's directory from the environment.
  'django-import': (dir) => {
    execFileSync('django-admin', ['startproject', 'mysite', dir]);
    writeFileSync(
      join(dir, 'mysite', 'prod.py'),
      "import os\nfrom mysite.settings import *\nSTATIC_ROOT = os.path.join(BASE_DIR, os.environ.get('STATIC_DIR', 'collected'))\n",
    );
    const manage = join(dir, 'manage.py');
    writeFileSync(manage, readFileSync(manage, 'utf8').replace("'mysite.settings'", "'mysite.prod'"));
    execFileSync('/usr/bin/python3', ['manage.py', 'collectstatic', '--noinput'], { cwd: dir });
  },
  // An async view: Django through ASGI (gunicorn with uvicorn workers).
  'django-async': (dir) => {
    execFileSync('django-admin', ['startproject', 'mysite', dir]);
    writeFileSync(
      join(dir, 'mysite', 'views.py'),
      'from django.http import HttpResponse\n\n\nasync def index(request):\n    return HttpResponse("async hello")\n',
    );
    writeFileSync(
      join(dir, 'mysite', 'urls.py'),
      'from django.contrib import admin\nfrom django.urls import path\nfrom mysite.views import index\n\nurlpatterns = [path("admin/", admin.site.urls), path("", index)]\n',
    );
  },
  flask: (dir) => {
    writeFileSync(
      join(dir, 'hello.py'),
      'from flask import Flask\n\nweb = Flask(__name__)\n\n\n@web.route("/")\ndef index():\n    return "hello from flask"\n',
    );
    mkdirSync(join(dir, 'static'));
    writeFileSync(join(dir, 'static', 'site.css'), 'body { margin: 0 }\n');
  },
  // A virtualenv beside the code (seeing Debian's packages: PyPI is not reachable from tests).
  'flask-venv': (dir) => {
    execFileSync('/usr/bin/python3', [
      '-m',
      'venv',
      '--without-pip',
      '--system-site-packages',
      join(dir, '.venv'),
    ]);
    writeFileSync(
      join(dir, 'app.py'),
      'from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.route("/")\ndef index():\n    return "hello"\n',
    );
    writeFileSync(join(dir, 'requirements.txt'), 'flask>=2\ngunicorn\n');
  },
  fastapi: (dir) => {
    mkdirSync(join(dir, 'api'));
    writeFileSync(join(dir, 'api', '__init__.py'), '');
    writeFileSync(
      join(dir, 'api', 'main.py'),
      'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get("/")\nasync def index():\n    return {"hello": "fastapi"}\n',
    );
  },
  wsgi: (dir) =>
    writeFileSync(
      join(dir, 'site.wsgi'),
      'def application(environ, start_response):\n    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [b"hello from a WSGI file\\n"]\n',
    ),
};

// The other detectors, on the repo's example apps (copied: init writes stack.yaml beside them).
for (const app of ['tornado', 'bottle', 'cgi'])
  PROJECTS[`example-${app}`] = (dir) => cpSync(join(ROOT, 'examples', 'apps', app), dir, { recursive: true });

const WANT: Record<string, RegExp[]> = {
  'example-tornado': [/framework: tornado/, /entry: app:make_app/, /server: tornado/],
  'example-bottle': [/framework: bottle/, /entry: app:app/],
  'example-cgi': [/framework: cgi/, /entry: hello\.cgi/, /server: cgi/],
  django: [
    /framework: django/,
    /entry: mysite\.wsgi:application/,
    /DJANGO_SETTINGS_MODULE: mysite\.settings/,
    // db.sqlite3 lies beside the code: a note, never a writable (app-owned) root.
    /^(?![\s\S]*writable)/,
  ],
  'django-async': [/interface: asgi/, /entry: mysite\.asgi:application/, /concurrency: async/],
  'django-import': [/DJANGO_SETTINGS_MODULE: mysite\.prod/, /\/static\/: collected/],
  'django-collected': [/\/static\/: staticfiles/, /writable:\n\s+- data/],
  flask: [/framework: flask/, /entry: hello:web/, /\/static\/: static/],
  // app.venv absolute: its bin/python is the units' ExecStart (a relative one is refused by systemd).
  'flask-venv': [/venv: \/.*\/init-flask-venv\/\.venv\n/, /server: gunicorn/],
  fastapi: [/framework: fastapi/, /entry: api\.main:app/],
  wsgi: [/framework: wsgi/, /entry: site\.wsgi/],
};

// verify runs the app as its own account (daemon here): it must reach the project, as on a server.
const base = mkdtempSync(join(tmpdir(), 'sg-init-'));
chmodSync(base, 0o755);
afterAll(() => {
  removeAnnouncedSandboxes();
  rmSync(base, { recursive: true, force: true });
});

describeWith({
  tools: ['nginx', 'gunicorn', 'django-admin', 'fcgiwrap'],
  pythonModules: ['django', 'flask', 'fastapi', 'uvicorn', 'tornado', 'bottle'],
})('stackgen init --yes in a fresh project → stackgen verify passes with no edit', () => {
  it.each(Object.keys(PROJECTS))('%s', { timeout: 180_000 }, async (kind) => {
    const dir = join(base, `init-${kind}`);
    mkdirSync(dir);
    PROJECTS[kind]!(dir);
    // --import lets Django load the settings its text cannot settle.
    const init = runInit([dir, '--yes', '--no-render', ...(kind.endsWith('-import') ? ['--import'] : [])]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/proposed \(interface → server → concurrency → protocol → proxy → manager\)/);
    const text = readFileSync(join(dir, 'stack.yaml'), 'utf8');
    for (const want of WANT[kind]!) expect(text).toMatch(want);
    const verify = await runVerify([join(dir, 'stack.yaml')]);
    expect(verify.code, `${text}\n${verify.stdout}\n${verify.stderr}`).toBe(0);
    expect(verify.stdout + verify.stderr).toMatch(/PASS/);
  });
});
