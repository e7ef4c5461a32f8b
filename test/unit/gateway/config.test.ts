import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  autoGatewayWorkers,
  DEFAULT_MAX_HEADER_BYTES,
  gatewayConfigFromFlags,
  parseDuration,
  parseGatewayConfigText,
  parseListenAddress,
  parseSize,
  parseUpstreamUrl,
} from '../../../src/gateway/config.js';
import { isStackgenError } from '../../../src/errors.js';

const FULL = `# stackgen gateway config — generated
listen: ["127.0.0.1:8080", "[::1]:8081", "unix:/run/gw.sock"]
server_name: example.com
workers: auto
max_body: 10m
max_header_size: 8k
timeouts:
  client_header: 60s
  client_body: 60s
  keepalive: 75s
  connect: 5s
  read: 60s
  send: 60s
  shutdown: 10s
access_log: stdout
security_headers: {X-Content-Type-Options: nosniff, X-Frame-Options: SAMEORIGIN, Referrer-Policy: strict-origin-when-cross-origin}
locations:
  - path: /static/
    static: {root: /srv/app/static, follow_symlinks: false, expires: 1h}
  - path: /
    upstream: ["uwsgi://unix:/run/app/app.sock"]
    script_name: ""
    document_root: /srv/app
    websocket: false
`;

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isStackgenError(err)) return err.message;
    throw err;
  }
  throw new Error('expected an error');
}

describe('scalar syntaxes', () => {
  it.each([
    ['0', 0],
    ['1024', 1024],
    ['512k', 524288],
    ['10m', 10485760],
    ['1G', 1073741824],
    [100, 100],
    ['10mb', null],
    ['-1', null],
    ['', null],
  ])('size %s → %s', (input, expected) => expect(parseSize(input)).toBe(expected));

  it.each([
    ['500ms', 500],
    ['60s', 60000],
    ['5m', 300000],
    ['1h', 3600000],
    ['30', 30000],
    [2, 2000],
    ['1m 30s', 90000],
    ['1h30m', 5400000],
    ['5 minutes', null],
    ['', null],
  ])('duration %s → %s', (input, expected) => expect(parseDuration(input)).toBe(expected));

  it.each([
    ['127.0.0.1:8080', { kind: 'tcp', host: '127.0.0.1', port: 8080 }],
    ['[::1]:80', { kind: 'tcp', host: '::1', port: 80 }],
    [':80', { kind: 'tcp', host: '0.0.0.0', port: 80 }],
    ['unix:/run/gw.sock', { kind: 'unix', path: '/run/gw.sock' }],
  ])('listen %s', (input, expected) => expect(parseListenAddress(input)).toEqual(expected));

  it.each(['8080', 'localhost', 'unix:relative.sock', '1.2.3.4:99999'])('listen %s is refused', (input) => {
    expect(typeof parseListenAddress(input)).toBe('string');
  });

  it.each([
    ['http://127.0.0.1:8000', { scheme: 'http', address: { kind: 'tcp', host: '127.0.0.1', port: 8000 } }],
    ['uwsgi://unix:/run/app.sock', { scheme: 'uwsgi', address: { kind: 'unix', path: '/run/app.sock' } }],
    ['fastcgi://[::1]:9000', { scheme: 'fastcgi', address: { kind: 'tcp', host: '::1', port: 9000 } }],
    ['scgi://backend:4000', { scheme: 'scgi', address: { kind: 'tcp', host: 'backend', port: 4000 } }],
    ['cgi:/srv/cgi-bin/app.py', { scheme: 'cgi', address: { kind: 'script', path: '/srv/cgi-bin/app.py' } }],
    [
      'cgi:/srv/app.py?interpreter=/usr/bin/python3',
      { scheme: 'cgi', address: { kind: 'script', path: '/srv/app.py', interpreter: '/usr/bin/python3' } },
    ],
    [
      'fastcgi://unix:/run/php/php8.2-fpm.sock?root=/var/www/app',
      {
        scheme: 'fastcgi',
        address: { kind: 'unix', path: '/run/php/php8.2-fpm.sock' },
        scriptRoot: { dir: '/var/www/app', index: 'index.php' },
      },
    ],
    [
      'fastcgi://127.0.0.1:9000?root=/usr/lib/cgit&index=cgit.cgi',
      {
        scheme: 'fastcgi',
        address: { kind: 'tcp', host: '127.0.0.1', port: 9000 },
        scriptRoot: { dir: '/usr/lib/cgit', index: 'cgit.cgi' },
      },
    ],
    [
      'fastcgi://unix:/run/app/app.sock?root=/srv/app/public&front=index.php',
      {
        scheme: 'fastcgi',
        address: { kind: 'unix', path: '/run/app/app.sock' },
        scriptRoot: { dir: '/srv/app/public', index: 'index.php', front: 'index.php' },
      },
    ],
  ])('upstream %s', (input, expected) => expect(parseUpstreamUrl(input)).toEqual(expected));

  it.each([
    'ftp://host:21',
    'http://host',
    'uwsgi://unix:relative.sock',
    'cgi:relative.py',
    'cgi:/a.py?interp=/x',
    'cgi:/a.py?interpreter=python3',
    'fastcgi://unix:/run/php.sock?root=relative/dir',
    'fastcgi://unix:/run/php.sock?index=index.php',
    'fastcgi://unix:/run/php.sock?root=/www&index=a/b.php',
    'fastcgi://unix:/run/php.sock?root=/www&split=1',
    'fastcgi://unix:/run/php.sock?root=/www&front=',
    'fastcgi://unix:/run/php.sock?root=/www&front=/etc/x.php',
    'fastcgi://unix:/run/php.sock?root=/www&front=../x.php',
    'uwsgi://unix:/run/app.sock?root=/www',
  ])('upstream %s is refused', (input) => {
    expect(typeof parseUpstreamUrl(input)).toBe('string');
  });
});

describe('parseGatewayConfigText', () => {
  it('parses the documented format', () => {
    const c = parseGatewayConfigText(FULL, '/etc/gw/gateway.yaml');
    expect(c.listen).toEqual([
      { kind: 'tcp', host: '127.0.0.1', port: 8080 },
      { kind: 'tcp', host: '::1', port: 8081 },
      { kind: 'unix', path: '/run/gw.sock' },
    ]);
    expect(c).toMatchObject({
      source: '/etc/gw/gateway.yaml',
      serverName: 'example.com',
      workers: 'auto',
      maxBodyBytes: 10 * 1024 * 1024,
      maxHeaderBytes: 8192,
      timeouts: {
        clientHeaderMs: 60000,
        clientBodyMs: 60000,
        keepaliveMs: 75000,
        connectMs: 5000,
        readMs: 60000,
        sendMs: 60000,
        shutdownMs: 10000,
      },
      accessLog: { kind: 'stdout' },
    });
    expect(c.securityHeaders).toContainEqual(['X-Frame-Options', 'SAMEORIGIN']);
    expect(c.locations).toEqual([
      {
        kind: 'static',
        path: '/static/',
        root: '/srv/app/static',
        followSymlinks: false,
        expiresMs: 3600000,
        index: 'index.html',
        immutable: false,
      },
      {
        kind: 'upstream',
        path: '/',
        upstreams: [{ scheme: 'uwsgi', address: { kind: 'unix', path: '/run/app/app.sock' } }],
        scriptName: '',
        documentRoot: '/srv/app',
        websocket: false,
      },
    ]);
  });

  it('fills defaults for a minimal file and resolves relative paths against the file', () => {
    const c = parseGatewayConfigText(
      'locations:\n  - {path: /s/, static: {root: ./static}}\n',
      '/etc/gw/g.yaml',
    );
    expect(c.listen).toEqual([{ kind: 'tcp', host: '127.0.0.1', port: 8080 }]);
    expect(c.workers).toBe(1);
    expect(c.maxBodyBytes).toBe(1024 * 1024);
    expect(c.maxHeaderBytes).toBe(64 * 1024);
    expect(c.locations[0]).toMatchObject({ root: '/etc/gw/static', expiresMs: null });
  });

  it('max_header_size defaults to what the rendered nginx accepts (large_client_header_buffers N×size)', () => {
    const site = readFileSync(join(import.meta.dirname, '../../../templates/nginx/site.conf.hbs'), 'utf8');
    const m = /large_client_header_buffers (\d+) (\d+)k;/.exec(site);
    expect(m).not.toBeNull();
    expect(DEFAULT_MAX_HEADER_BYTES).toBe(Number(m?.[1]) * Number(m?.[2]) * 1024);
    const rendered = readFileSync(
      join(import.meta.dirname, '../../../templates/gateway/gateway.yaml.hbs'),
      'utf8',
    );
    expect(rendered).toMatch(new RegExp(`^max_header_size: ${DEFAULT_MAX_HEADER_BYTES / 1024}k$`, 'm'));
  });

  it('trusted_proxies: none by default; CIDRs and addresses accepted, anything else refused at its position', () => {
    const loc = 'locations:\n  - {path: /, upstream: ["http://127.0.0.1:9"]}\n';
    expect(parseGatewayConfigText(loc, 'g.yaml').trustedProxies).toEqual([]);
    const ok = `trusted_proxies: [10.0.0.0/8, 192.0.2.7, "2001:db8::/32"]\n${loc}`;
    expect(parseGatewayConfigText(ok, 'g.yaml').trustedProxies).toEqual([
      '10.0.0.0/8',
      '192.0.2.7',
      '2001:db8::/32',
    ]);
    for (const bad of ['10.0.0.0/33', 'lb.example', '10.0.0.0/8/8'])
      expect(errorOf(() => parseGatewayConfigText(`trusted_proxies: [${bad}]\n${loc}`, 'g.yaml'))).toMatch(
        /^g\.yaml:1:\d+: .*CIDR/,
      );
  });

  it('reports YAML syntax errors with file:line:col', () => {
    expect(errorOf(() => parseGatewayConfigText('listen: [\n', 'gw.yaml'))).toMatch(/^gw\.yaml:\d+:\d+: /);
  });

  it('reports a bad value at its position', () => {
    const text = FULL.replace('max_body: 10m', 'max_body: 10 megs');
    expect(errorOf(() => parseGatewayConfigText(text, 'gw.yaml'))).toMatch(
      /^gw\.yaml:5:11: max_body: .*size/,
    );
  });

  it('reports an unknown key at the key', () => {
    const text = FULL.replace('server_name:', 'server_nmae:');
    expect(errorOf(() => parseGatewayConfigText(text, 'gw.yaml'))).toMatch(/^gw\.yaml:3:1: .*server_nmae/);
  });

  it('reports a bad upstream URL inside a location', () => {
    const text = FULL.replace('uwsgi://unix:/run/app/app.sock', 'uwsgi:/run/app.sock');
    expect(errorOf(() => parseGatewayConfigText(text, 'gw.yaml'))).toMatch(
      /^gw\.yaml:21:\d+: locations\.1\.upstream\.0: /,
    );
  });

  it('refuses a location with both static and upstream, mixed schemes, and websocket on uwsgi', () => {
    const both = 'locations:\n  - {path: /, static: {root: /x}, upstream: ["http://a:1"]}\n';
    expect(errorOf(() => parseGatewayConfigText(both, 'g.yaml'))).toMatch(
      /exactly one of static or upstream/,
    );
    const mixed = 'locations:\n  - {path: /, upstream: ["http://a:1", "uwsgi://a:2"]}\n';
    expect(errorOf(() => parseGatewayConfigText(mixed, 'g.yaml'))).toMatch(/one scheme/);
    const ws = 'locations:\n  - {path: /, upstream: ["uwsgi://a:2"], websocket: true}\n';
    expect(errorOf(() => parseGatewayConfigText(ws, 'g.yaml'))).toMatch(/g\.yaml:2:\d+: .*websocket.*http/);
  });

  it('refuses duplicate keys', () => {
    expect(
      errorOf(() => parseGatewayConfigText('workers: 1\nworkers: 2\nlocations: []\n', 'g.yaml')),
    ).toMatch(/^g\.yaml:2:1: /);
  });
});

describe('env: on a cgi/fastcgi location', () => {
  const withEnv = (upstream: string) => `locations:
  - path: /
    upstream: ["${upstream}"]
    env: {CGIT_CONFIG: /etc/cgitrc, PATH: /opt/bin:/usr/bin}
`;

  it('is given to every upstream of the location', () => {
    const c = parseGatewayConfigText(withEnv('cgi:/usr/lib/cgit/cgit.cgi'), '/etc/gw/g.yaml');
    expect(c.locations[0]).toMatchObject({
      upstreams: [
        {
          scheme: 'cgi',
          env: [
            ['CGIT_CONFIG', '/etc/cgitrc'],
            ['PATH', '/opt/bin:/usr/bin'],
          ],
        },
      ],
    });
  });

  it('is refused, with its position, where an app server would never see it', () => {
    expect(errorOf(() => parseGatewayConfigText(withEnv('uwsgi://unix:/run/a.sock'), 'g.yaml'))).toMatch(
      /^g\.yaml:4:\d+: locations\.0\.env: env reaches cgi: and fastcgi:\/\/ upstreams only/,
    );
  });
});

describe('gatewayConfigFromFlags', () => {
  it('builds the same config as the file form', () => {
    const c = gatewayConfigFromFlags(
      {
        listen: ['127.0.0.1:9000'],
        upstream: ['uwsgi://unix:/run/a.sock', 'uwsgi://unix:/run/b.sock'],
        static: ['/static/=./static'],
        workers: 'auto',
        maxBody: '10m',
        maxHeaderSize: '32k',
      },
      '/srv/app',
    );
    expect(c).toMatchObject({
      source: null,
      listen: [{ kind: 'tcp', host: '127.0.0.1', port: 9000 }],
      workers: 'auto',
      maxBodyBytes: 10485760,
      maxHeaderBytes: 32768,
    });
    expect(gatewayConfigFromFlags({ upstream: ['http://a:1'] }, '/').maxHeaderBytes).toBe(
      DEFAULT_MAX_HEADER_BYTES,
    );
    expect(c.locations).toMatchObject([
      { kind: 'static', path: '/static/', root: '/srv/app/static' },
      {
        kind: 'upstream',
        path: '/',
        upstreams: [{ scheme: 'uwsgi' }, { scheme: 'uwsgi' }],
        documentRoot: '/srv/app',
      },
    ]);
  });

  it('--env reaches the cgi/fastcgi upstream of the location (a later NAME wins)', () => {
    const c = gatewayConfigFromFlags(
      {
        upstream: ['fastcgi://unix:/run/php/php8.2-fpm.sock?root=/var/www/app'],
        env: ['APP_ENV=prod', 'GREETING=a=b', 'APP_ENV=staging'],
      },
      '/',
    );
    expect(c.locations).toMatchObject([
      {
        upstreams: [
          {
            scheme: 'fastcgi',
            scriptRoot: { dir: '/var/www/app', index: 'index.php' },
            env: [
              ['APP_ENV', 'staging'],
              ['GREETING', 'a=b'],
            ],
          },
        ],
      },
    ]);
  });

  it('refuses --env that no program would see, or that is not NAME=value', () => {
    expect(errorOf(() => gatewayConfigFromFlags({ upstream: ['uwsgi://a:1'], env: ['A=1'] }, '/'))).toMatch(
      /^--env: env reaches cgi: and fastcgi:\/\/ upstreams only/,
    );
    expect(errorOf(() => gatewayConfigFromFlags({ upstream: ['cgi:/x.cgi'], env: ['A'] }, '/'))).toMatch(
      /^--env A: expected NAME=value/,
    );
    expect(
      errorOf(() => gatewayConfigFromFlags({ upstream: ['cgi:/x.cgi'], env: ['BAD-NAME=1'] }, '/')),
    ).toMatch(/^--env: /);
    expect(errorOf(() => gatewayConfigFromFlags({ static: ['/s/=./s'], env: ['A=1'] }, '/'))).toMatch(
      /^--env needs a cgi: or fastcgi:\/\/ --upstream/,
    );
  });

  it('names the flag in errors', () => {
    expect(errorOf(() => gatewayConfigFromFlags({ upstream: ['nope://x'] }, '/'))).toMatch(/^--upstream: /);
    expect(errorOf(() => gatewayConfigFromFlags({ upstream: ['http://a:1'], workers: 'many' }, '/'))).toMatch(
      /^--workers: /,
    );
    expect(errorOf(() => gatewayConfigFromFlags({ upstream: ['http://a:1'], maxBody: 'lots' }, '/'))).toMatch(
      /^--max-body: /,
    );
    expect(
      errorOf(() => gatewayConfigFromFlags({ upstream: ['http://a:1'], maxHeaderSize: 'huge' }, '/')),
    ).toMatch(/^--max-header-size: /);
    expect(errorOf(() => gatewayConfigFromFlags({ static: ['nodir'] }, '/'))).toMatch(/^--static nodir/);
    expect(errorOf(() => gatewayConfigFromFlags({}, '/'))).toMatch(/--config/);
  });
});

describe('workers: auto', () => {
  it('is half the cores, at least one (the app server on the same machine gets the rest)', () => {
    expect([1, 2, 3, 4, 8, 16].map(autoGatewayWorkers)).toEqual([1, 1, 1, 2, 4, 8]);
  });
});

describe('tls', () => {
  const WITH_TLS = (tls: string) => `listen: ["0.0.0.0:80"]
locations:
  - path: /
    upstream: ["http://127.0.0.1:9000"]
tls: ${tls}
`;

  it('defaults: :443, redirect on, two-year HSTS without subdomains or preload, http2 on; paths relative to the file', () => {
    const c = parseGatewayConfigText(
      WITH_TLS('{cert: certs/full.pem, key: /etc/k.pem}'),
      '/etc/stackgen/gw.yaml',
    );
    expect(c.tls).toEqual({
      certFile: '/etc/stackgen/certs/full.pem',
      keyFile: '/etc/k.pem',
      listen: [{ kind: 'tcp', host: '0.0.0.0', port: 443 }],
      redirectHttp: true,
      hsts: { maxAgeSeconds: 63072000, includeSubdomains: false, preload: false },
      http2: true,
    });
  });

  it('off (the default) and every option', () => {
    expect(parseGatewayConfigText(WITH_TLS('off'), '/x/gw.yaml').tls).toBeNull();
    const c = parseGatewayConfigText(
      WITH_TLS(
        '{cert: /c, key: /k, listen: ["[::]:8443", "127.0.0.1:8443"], redirect_http: false, hsts: {max_age: 600, include_subdomains: true, preload: true}, http2: false}',
      ),
      '/x/gw.yaml',
    );
    expect(c.tls).toMatchObject({
      listen: [
        { kind: 'tcp', host: '::', port: 8443 },
        { kind: 'tcp', host: '127.0.0.1', port: 8443 },
      ],
      redirectHttp: false,
      hsts: { maxAgeSeconds: 600, includeSubdomains: true, preload: true },
      http2: false,
    });
    expect(
      parseGatewayConfigText(WITH_TLS('{cert: /c, key: /k, hsts: "off"}'), '/x/gw.yaml').tls?.hsts,
    ).toBeNull();
  });

  it('refuses a redirect to a random port, an address both plain and TLS, a missing key', () => {
    expect(
      errorOf(() =>
        parseGatewayConfigText(WITH_TLS('{cert: /c, key: /k, listen: ["127.0.0.1:0"]}'), 'gw.yaml'),
      ),
    ).toMatch(/tls\.listen: redirect_http needs a fixed TLS port/);
    expect(
      errorOf(() =>
        parseGatewayConfigText(WITH_TLS('{cert: /c, key: /k, listen: ["0.0.0.0:80"]}'), 'gw.yaml'),
      ),
    ).toMatch(/tls\.listen\.0: this address is a plain listen address too/);
    expect(errorOf(() => parseGatewayConfigText(WITH_TLS('{cert: /c}'), 'gw.yaml'))).toMatch(/tls/);
  });

  it('the flag form: --tls-cert/--tls-key and friends map to the same keys', () => {
    const c = gatewayConfigFromFlags(
      {
        upstream: ['http://127.0.0.1:9000'],
        tlsCert: 'full.pem',
        tlsKey: 'key.pem',
        tlsListen: ['127.0.0.1:8443'],
        tlsRedirectHttp: false,
        tlsHstsMaxAge: '600',
        tlsHstsPreload: true,
        tlsHttp2: false,
      },
      '/srv',
    );
    expect(c.tls).toEqual({
      certFile: '/srv/full.pem',
      keyFile: '/srv/key.pem',
      listen: [{ kind: 'tcp', host: '127.0.0.1', port: 8443 }],
      redirectHttp: false,
      hsts: { maxAgeSeconds: 600, includeSubdomains: false, preload: true },
      http2: false,
    });
    expect(gatewayConfigFromFlags({ upstream: ['http://127.0.0.1:9000'] }, '/srv').tls).toBeNull();
    expect(
      gatewayConfigFromFlags(
        { upstream: ['http://h:1'], tlsCert: 'c', tlsKey: 'k', tlsHstsMaxAge: 'off' },
        '/',
      ).tls?.hsts,
    ).toBeNull();
    expect(errorOf(() => gatewayConfigFromFlags({ upstream: ['http://h:1'], tlsCert: 'c' }, '/'))).toMatch(
      /TLS needs both --tls-cert and --tls-key/,
    );
    expect(
      errorOf(() =>
        gatewayConfigFromFlags(
          { upstream: ['http://h:1'], tlsCert: 'c', tlsKey: 'k', tlsHstsMaxAge: 'x' },
          '/',
        ),
      ),
    ).toMatch(/^--tls-hsts-max-age: /);
  });
});
