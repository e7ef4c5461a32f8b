import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isStackgenError } from '../../../src/errors.js';
import { formatDiagnostic } from '../../../src/stack/diagnostics.js';
import { parseStackSpec, readStackSpec } from '../../../src/stack/parse.js';

const errorsOf = (text: string) => parseStackSpec(text).errors.map((d) => formatDiagnostic('stack.yaml', d));
const warningsOf = (text: string) =>
  parseStackSpec(text).warnings.map((d) => formatDiagnostic('stack.yaml', d));

describe('parseStackSpec: positions and hints', () => {
  it('points at a misspelt enum value with a did-you-mean hint', () => {
    const errors = errorsOf('app:\n  framework: flask\nserve:\n  server: gunicron\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^stack\.yaml:4:11: error: "gunicron" is not one of/);
    expect(errors[0]).toContain('did you mean `gunicorn`?');
  });

  it('points at an unknown key (the key, not its value) with a hint', () => {
    const [e] = errorsOf('app:\n  framework: flask\nserve:\n  wrokers: 3\n');
    expect(e).toMatch(/^stack\.yaml:4:3: error: unknown key `wrokers`/);
    expect(e).toContain('did you mean `workers`?');
  });

  it('reports YAML syntax errors with a position', () => {
    const [e] = errorsOf('app: {framework: flask\n');
    expect(e).toMatch(/^stack\.yaml:\d+:\d+: error: YAML:/);
  });

  it('reports a missing required key', () => {
    expect(errorsOf('name: x\napp: {}\n')[0]).toContain('missing required key `framework`');
  });

  it('rejects duplicate keys', () => {
    expect(errorsOf('app:\n  framework: flask\n  framework: django\n')[0]).toContain('YAML');
  });

  it('fills defaults from the catalog', () => {
    const { spec } = parseStackSpec('app: {framework: fastapi}\n');
    // gunicorn with uvicorn workers: gunicorn respawns a dead worker, uvicorn's own --workers do not.
    expect(spec?.serve.server).toBe('gunicorn');
    expect(spec?.serve.concurrency).toBe('async');
    expect(spec?.proxy.protocol).toBe('http');
    expect(spec?.serve.socket).toBe('unix');
    expect(spec?.defaulted['serve.server']).toBeDefined();
  });
});

describe('parseStackSpec: every diagnostic has a kind', () => {
  const kindsOf = (text: string) => {
    const r = parseStackSpec(text);
    return [...r.errors, ...r.warnings].map((d) => [d.severity, d.kind]);
  };

  it.each([
    ['a YAML syntax error', 'app: {framework: flask\n', [['error', 'syntax']]],
    ['a duplicate key', 'app:\n  framework: flask\n  framework: django\n', [['error', 'syntax']]],
    ['an unknown key', 'app: {framework: flask}\nserve: {wrokers: 3}\n', [['error', 'unknown-key']]],
    ['a missing enum key', 'app: {}\n', [['error', 'missing-key']]],
    ['a missing object', 'name: x\n', [['error', 'missing-key']]],
    ['a value outside its enum', 'app: {framework: flsk}\n', [['error', 'invalid-value']]],
    [
      'a value of the wrong type',
      'app: {framework: flask, websockets: "yes"}\n',
      [['error', 'invalid-value']],
    ],
    [
      'a value outside its pattern',
      'name: Bad_Name\napp: {framework: flask}\n',
      [['error', 'invalid-value']],
    ],
    [
      'a value outside its range',
      'app: {framework: flask}\nserve: {port: 0}\n',
      [['error', 'invalid-value']],
    ],
    [
      'an impossible combination',
      'app: {framework: flask}\nserve: {server: uvicorn, workers: 1}\n',
      [['error', 'rule']],
    ],
    [
      'a risky combination',
      'app: {framework: wsgi}\nserve: {server: wsgiref}\nproxy: {kind: gateway}\n',
      [['warning', 'rule']],
    ],
  ])('%s', (_name, text, kinds) => {
    expect(kindsOf(text)).toEqual(kinds);
  });
});

describe('readStackSpec: the error code follows the kind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackgen-parse-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const codeOf = (text: string) => {
    const file = join(dir, 'stack.yaml');
    writeFileSync(file, text);
    try {
      readStackSpec(file);
      return 'no error';
    } catch (err) {
      return isStackgenError(err) ? err.code : String(err);
    }
  };

  it('is SG_ERR_SPEC_DEV_SERVER for a development server, whatever else is wrong', () => {
    expect(codeOf('app: {framework: django}\nserve: {server: runserver}\n')).toBe('SG_ERR_SPEC_DEV_SERVER');
    expect(codeOf('app: {framework: flask, entry: flask run}\nproxy: {kind: nginx, listen: x}\n')).toBe(
      'SG_ERR_SPEC_DEV_SERVER',
    );
  });

  it('is SG_ERR_SPEC_SYNTAX for YAML that does not parse, SG_ERR_SPEC_INVALID for the rest', () => {
    expect(codeOf('app: {framework: flask\n')).toBe('SG_ERR_SPEC_SYNTAX');
    expect(codeOf('app:\n  framework: flask\n  framework: django\n')).toBe('SG_ERR_SPEC_SYNTAX');
    expect(codeOf('app: {framework: flask}\nserve: {server: uvicorn}\n')).toBe('SG_ERR_SPEC_INVALID');
  });
});

describe('development servers are refused for production, with the reason', () => {
  const devErrors = (text: string) => parseStackSpec(text).errors.filter((e) => e.kind === 'dev-server');

  it.each([
    [
      'serve.server: runserver',
      'app: {framework: django}\nserve: {server: runserver}\n',
      /runserver.*one process.*autoreloader/,
    ],
    [
      'app.entry: manage.py runserver',
      'app: {framework: django, entry: manage.py runserver 0.0.0.0:8000}\n',
      /runserver/,
    ],
    [
      'serve.server: flask',
      'app: {framework: flask}\nserve: {server: flask}\n',
      /Flask development server.*recycles no worker/,
    ],
    ['app.entry: flask run', 'app: {framework: flask, entry: flask run --debug}\n', /debugger/],
    [
      'app.entry: uvicorn --reload',
      'app: {framework: fastapi, entry: main:app --reload}\nserve: {server: uvicorn}\n',
      /reloader/,
    ],
    [
      'app.entry: python -m http.server',
      'app: {framework: wsgi, entry: python3 -m http.server}\n',
      /http\.server/,
    ],
  ])('%s', (_name, text, why) => {
    const { spec, errors } = parseStackSpec(text);
    expect(spec).toBeUndefined();
    const dev = devErrors(text);
    expect(dev).toHaveLength(1);
    expect(dev[0]!.message).toMatch(/a development server: refused for production/);
    expect(dev[0]!.message).toMatch(why);
    expect(dev[0]!.hint).toBeTruthy();
    // The schema's "not one of uwsgi, gunicorn…" for the same key is not said twice.
    expect(errors.filter((e) => e.path.join('.') === dev[0]!.path.join('.'))).toHaveLength(1);
  });

  it('points at the key, and leaves production servers and entries alone', () => {
    const text = 'app:\n  framework: django\nserve:\n  server: runserver\n';
    expect(errorsOf(text)).toEqual([
      expect.stringMatching(/^stack\.yaml:4:11: error: "runserver" is Django's runserver/),
    ]);
    expect(
      devErrors('app: {framework: django, entry: mysite.wsgi:application}\nserve: {server: gunicorn}\n'),
    ).toEqual([]);
    expect(devErrors('app: {framework: fastapi, entry: main:app}\nserve: {server: uvicorn}\n')).toEqual([]);
  });
});

describe('cross-field rules', () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'uvicorn needs ASGI',
      'app: {framework: flask}\nserve: {server: uvicorn}',
      /Uvicorn serves ASGI; Flask .* is WSGI[\s\S]*WsgiToAsgi/,
    ],
    [
      'uwsgi protocol needs uWSGI',
      'app: {framework: flask}\nserve: {server: gunicorn}\nproxy: {protocol: uwsgi}',
      /needs uWSGI/,
    ],
    [
      'sync WSGI cannot do WebSockets',
      'app: {framework: flask, websockets: true}',
      /WSGI cannot do WebSockets/,
    ],
    [
      'gevent needs gunicorn or uWSGI',
      'app: {framework: flask}\nserve: {server: waitress, concurrency: gevent}',
      /gevent needs gunicorn or uWSGI/,
    ],
    ['tornado serves itself', 'app: {framework: tornado}\nserve: {server: gunicorn}', /Tornado's own IOLoop/],
    ['CGI needs a spawner', 'app: {framework: cgi}\nproxy: {kind: none}', /process per request/],
    [
      'no public uwsgi socket',
      'app: {framework: flask}\nserve: {server: uwsgi, socket: tcp, host: 0.0.0.0}',
      /uwsgi socket on 0\.0\.0\.0/,
    ],
    [
      'no proxy means http',
      'app: {framework: flask}\nserve: {server: uwsgi}\nproxy: {kind: none, protocol: uwsgi}',
      /must speak http/,
    ],
    [
      'ASGI under gunicorn is async',
      'app: {framework: fastapi}\nserve: {server: gunicorn, concurrency: prefork}',
      /uvicorn workers/,
    ],
    [
      'websockets travel over http',
      'app: {framework: fastapi, websockets: true}\nserve: {server: uvicorn}\nproxy: {protocol: fastcgi}',
      /Uvicorn does not speak fastcgi/,
    ],
    [
      'interface must fit the framework',
      'app: {framework: flask, interface: asgi}',
      /Flask apps expose WSGI/,
    ],
  ];
  it.each(cases)('%s', (_name, text, pattern) => {
    const errors = errorsOf(`${text}\n`).join('\n');
    expect(errors).toMatch(pattern);
  });

  it('warns, without failing, for sync workers with no buffering proxy', () => {
    const text = 'app: {framework: flask}\nserve: {server: gunicorn}\nproxy: {kind: none, listen: "8000"}\n';
    expect(parseStackSpec(text).spec).toBeDefined();
    expect(warningsOf(text).join('\n')).toMatch(/without a buffering proxy/);
  });

  it.each([
    ['the app root', '{/static/: .}', /would publish the app root itself/],
    ['the app root, spelt with a slash', '{/static/: ./}', /would publish the app root itself/],
    ['above the root', '{/static/: ..}', /contains the app root/],
    ['a dot-directory', '{/static/: .git}', /a dot-directory/],
    ['inside a dot-directory', '{/static/: .venv/lib}', /a dot-directory/],
    ['the entry module', '{/s/: app.py}', /the code the entry imports \(app\.py\)/],
    ['the object form too', '{/static/: {dir: ., immutable: true}}', /app root itself/],
  ])('refuses a static directory that is %s', (_name, mapping, pattern) => {
    const errors = errorsOf(`app: {framework: flask, entry: 'app:app', static: ${mapping}}\n`);
    expect(errors.join('\n')).toMatch(pattern);
    expect(errors.join('\n')).toMatch(/at app\.static\./);
  });

  it('refuses the package of a dotted entry (mysite/settings.py), not a sibling', () => {
    const base = "app: {framework: django, entry: 'mysite.wsgi:application', static: ";
    expect(errorsOf(`${base}{/s/: mysite}}\n`).join()).toMatch(/the code the entry imports \(mysite\)/);
    expect(errorsOf(`${base}{/static/: static, /media/: ../media}}\n`)).toEqual([]);
  });

  it('refuses an unbuffered prefix that is also static, and warns for sync workers', () => {
    const text = 'app: {framework: flask, static: {/static/: static}}\nproxy: {unbuffered: [/static/]}\n';
    expect(errorsOf(text).join()).toMatch(/both a static prefix and an unbuffered app path/);
    const ok = 'app: {framework: flask}\nserve: {concurrency: prefork}\nproxy: {unbuffered: [/events/]}\n';
    expect(errorsOf(ok)).toEqual([]);
    expect(warningsOf(ok).join()).toMatch(/each open stream holds a worker/);
  });

  it("warns where uWSGI's http-socket would face clients (its http router is what should)", () => {
    const open =
      'app: {framework: flask}\nserve: {server: uwsgi, socket: tcp, host: 0.0.0.0}\nproxy: {protocol: http}\n';
    expect(warningsOf(open).join()).toMatch(/http-socket facing clients: every worker parses HTTP itself/);
    expect(warningsOf(open).join()).toMatch(/proxy\.kind: none, where stackgen puts uWSGI's http router/);
    const loopback =
      'app: {framework: flask}\nserve: {server: uwsgi, socket: tcp}\nproxy: {protocol: http}\n';
    expect(warningsOf(loopback).join()).not.toMatch(/http-socket facing clients/);
  });

  it("warns where Apache's mod_proxy_uwsgi would cut a long response header line, not over HTTP", () => {
    const stack = (protocol: string) =>
      `app: {framework: flask}\nserve: {server: uwsgi}\nproxy: {kind: apache, protocol: ${protocol}}\n`;
    expect(warningsOf(stack('uwsgi')).join('\n')).toMatch(
      /mod_proxy_uwsgi reads a response header line of at most 8 KiB/,
    );
    expect(warningsOf(stack('http')).join('\n')).not.toMatch(/8 KiB/);
  });

  it('warns for a development server', () => {
    expect(
      warningsOf('app: {framework: wsgi}\nserve: {server: wsgiref}\nproxy: {kind: gateway}\n').join(),
    ).toMatch(/development server/);
  });
});

describe('parseStackSpec: directories the stack names', () => {
  const yaml = 'app:\n  framework: flask\n  root: app\n  static:\n    /static/: static\n    /media/: media\n';
  const existing = new Set(['/srv/site/app', '/srv/site/app/static']);
  const paths = { baseDir: '/srv/site', isDirectory: (p: string) => existing.has(p) };

  it('warns, with the position, about a static directory that does not exist', () => {
    const { warnings, errors } = parseStackSpec(yaml, paths);
    expect(errors).toEqual([]);
    const missing = warnings.filter((w) => w.kind === 'missing-directory');
    expect(missing.map((w) => formatDiagnostic('stack.yaml', w))).toEqual([
      expect.stringMatching(
        /^stack\.yaml:6:\d+: warning: static directory for \/media\/ does not exist: \/srv\/site\/app\/media/,
      ),
    ]);
  });

  it('warns about an app root that is not a directory, and judges nothing without a path context', () => {
    const gone = parseStackSpec(yaml, { baseDir: '/nowhere', isDirectory: () => false });
    expect(gone.warnings.filter((w) => w.kind === 'missing-directory').map((w) => w.path)).toEqual([
      ['app', 'root'],
      ['app', 'static', '/static/'],
      ['app', 'static', '/media/'],
    ]);
    expect(parseStackSpec(yaml).warnings.filter((w) => w.kind === 'missing-directory')).toEqual([]);
  });
});

describe('checks: any method token, request headers', () => {
  it('accepts WebDAV/CalDAV methods and request headers', () => {
    const { spec, errors } = parseStackSpec(
      'app: {framework: flask}\nchecks:\n  - {path: /dav/, method: PROPFIND, request_headers: {Depth: "1"}, status: 207}\n  - {path: /cal/, method: MKCALENDAR, status: 201}\n',
    );
    expect(errors).toEqual([]);
    expect(spec?.checks.map((c) => [c.method, c.request_headers])).toEqual([
      ['PROPFIND', { Depth: '1' }],
      ['MKCALENDAR', {}],
    ]);
  });

  it('refuses a method that is not a token and a header value with a newline', () => {
    expect(errorsOf('app: {framework: flask}\nchecks:\n  - {path: /, method: "GET /x"}\n')[0]).toContain(
      'an HTTP method token',
    );
    expect(
      errorsOf(
        'app: {framework: flask}\nchecks:\n  - {path: /, request_headers: {X-A: "a\\r\\nInjected: 1"}}\n',
      ),
    ).toHaveLength(1);
  });
});

describe('the app account', () => {
  it("defaults to the stack's name, for user and group", () => {
    const { spec } = parseStackSpec('name: shop\napp: {framework: flask}\n');
    expect(spec?.processes).toMatchObject({ user: 'shop', group: 'shop' });
    expect(spec?.defaulted['processes.user']).toBe("the stack's own system user");
  });

  it('refuses a name useradd refuses, and warns when the app shares the proxy user', () => {
    const long = `a${'b'.repeat(35)}`;
    expect(errorsOf(`name: ${long}\napp: {framework: flask}\n`).join('\n')).toMatch(
      /the app's user a.* is longer than 32 characters/,
    );
    expect(
      warningsOf('app: {framework: flask}\nprocesses: {user: www-data, group: www-data}\n').join('\n'),
    ).toMatch(/the app runs as www-data, the proxy's user/);
  });
});

describe('a PHP app under php-fpm', () => {
  it('defaults to php-fpm over FastCGI and needs nothing else', () => {
    const { spec, errors } = parseStackSpec('app: {framework: php}\n');
    expect(errors).toEqual([]);
    expect([spec?.serve.server, spec?.proxy.protocol, spec?.app.entry]).toEqual([
      'php-fpm',
      'fastcgi',
      'index.php',
    ]);
  });

  it('refuses a mount, an env_file, a non-.php front controller, and no proxy — each with the reason', () => {
    const errors = errorsOf(
      'app: {framework: php, mount: /shop, env_file: secrets.env, entry: app.py}\nproxy: {kind: none}\n',
    ).join('\n');
    expect(errors).toMatch(/PHP-FPM cannot be mounted at \/shop: .* at \/ only/);
    expect(errors).toMatch(/PHP-FPM does not take app.env_file: .*clear_env/);
    expect(errors).toMatch(/PHP-FPM runs \.php scripts only \(security\.limit_extensions\)/);
    expect(errors).toMatch(/PHP-FPM does not speak http/);
  });

  it('warns of a writable directory inside the document root, and quotes env values for the pool', () => {
    expect(warningsOf('app: {framework: php, writable: [uploads]}\n').join('\n')).toMatch(
      /uploads is inside app.root, the document root: a \.php file written there \(an upload\) would run at \/uploads\/…\.php/,
    );
    expect(errorsOf('app: {framework: php, env: {HOME_DIR: $HOME}}\n').join('\n')).toMatch(
      /would not reach PHP as written/,
    );
  });
});
