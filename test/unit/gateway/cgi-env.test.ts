import { describe, expect, it } from 'vitest';
import { StackgenError } from '../../../src/errors.js';
import {
  buildCgiEnv,
  decodeByteString,
  scriptOf,
  splitScriptPath,
  utf8ByteString,
} from '../../../src/gateway/cgi-env.js';
import { gatewayRequest, memoryBody } from '../../helpers/gateway-request.js';

function envOf(...args: Parameters<typeof buildCgiEnv>): Map<string, string> {
  const env = buildCgiEnv(...args);
  const names = env.map(([name]) => name);
  // Every meta-variable appears once: the codecs must never send a name twice.
  expect(new Set(names).size).toBe(names.length);
  return new Map(env);
}

function withHeaders(...rawHeaders: string[]) {
  return gatewayRequest({ rawHeaders });
}

describe('buildCgiEnv — request meta-variables (RFC 3875 §4.1)', () => {
  it('sets the server, client and request variables', () => {
    const env = envOf(
      gatewayRequest({
        method: 'GET',
        rawTarget: '/app/a%20b?x=1&y=%2F',
        query: 'x=1&y=%2F',
        scriptName: '/app',
        pathInfo: '/a b',
        remoteAddress: '10.0.0.9',
        remotePort: 40000,
        serverAddress: '10.0.0.1',
        serverPort: 80,
        serverName: 'site.test',
        documentRoot: '/srv/site',
      }),
    );
    expect(Object.fromEntries(env)).toMatchObject({
      REQUEST_METHOD: 'GET',
      REQUEST_URI: '/app/a%20b?x=1&y=%2F',
      SCRIPT_NAME: '/app',
      PATH_INFO: '/a b',
      QUERY_STRING: 'x=1&y=%2F',
      SERVER_NAME: 'site.test',
      SERVER_PORT: '80',
      SERVER_ADDR: '10.0.0.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '10.0.0.9',
      REMOTE_PORT: '40000',
      REQUEST_SCHEME: 'http',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_SOFTWARE: 'stackgen-gateway',
      DOCUMENT_ROOT: '/srv/site',
    });
    expect(env.has('HTTPS')).toBe(false);
    expect(env.has('CONTENT_LENGTH')).toBe(false);
    expect(env.has('CONTENT_TYPE')).toBe(false);
  });

  it('says HTTP/1.0 for an HTTP/1.0 request, and HTTPS=on only over https', () => {
    expect(envOf(gatewayRequest({ httpVersion: '1.0' })).get('SERVER_PROTOCOL')).toBe('HTTP/1.0');
    const https = envOf(gatewayRequest({ scheme: 'https' }));
    expect([https.get('HTTPS'), https.get('REQUEST_SCHEME')]).toEqual(['on', 'https']);
  });

  it('takes CONTENT_LENGTH from the de-chunked body, never from the client header', () => {
    const env = envOf(
      gatewayRequest({
        method: 'POST',
        rawHeaders: ['Transfer-Encoding', 'chunked', 'Content-Length', '999', 'Content-Type', 'text/plain'],
        body: memoryBody(Buffer.from('abc'), Buffer.from('de')),
      }),
    );
    expect(env.get('CONTENT_LENGTH')).toBe('5');
    expect(env.get('CONTENT_TYPE')).toBe('text/plain');
  });

  it('sends CONTENT_LENGTH 0 for an empty body and none without a body', () => {
    expect(envOf(gatewayRequest({ body: memoryBody() })).get('CONTENT_LENGTH')).toBe('0');
    expect(
      envOf(gatewayRequest({ body: { kind: 'file', length: 7, path: '/tmp/x' } })).get('CONTENT_LENGTH'),
    ).toBe('7');
  });

  it('encodes a non-ASCII PATH_INFO as its UTF-8 octets, one char per octet (PEP 3333 latin-1 str)', () => {
    const env = envOf(gatewayRequest({ pathInfo: '/caf\u00e9/\u65e5', scriptName: '/m\u00fc' }));
    expect(env.get('PATH_INFO')).toBe('/caf\u00c3\u00a9/\u00e6\u0097\u00a5');
    expect(env.get('SCRIPT_NAME')).toBe('/m\u00c3\u00bc');
    expect(decodeByteString(env.get('PATH_INFO')!)).toBe('/caf\u00e9/\u65e5');
  });

  it('maps header names to HTTP_* (uppercase, - → _) and keeps values as received', () => {
    const env = envOf(
      withHeaders('X-Request-Id', '1.2.3.4', 'accept-language', 'fr', 'X-Raw', '\u00c3\u00a9'),
    );
    expect(env.get('HTTP_X_REQUEST_ID')).toBe('1.2.3.4');
    expect(env.get('HTTP_ACCEPT_LANGUAGE')).toBe('fr');
    // node hands header values over as latin1 already: they must not be UTF-8 encoded twice.
    expect(env.get('HTTP_X_RAW')).toBe('\u00c3\u00a9');
  });

  it('merges repeated fields: ", " in general, "; " for Cookie (RFC 6265 §5.4)', () => {
    const env = envOf(
      withHeaders('X-Dup', 'a', 'Cookie', 'a=1', 'x-dup', 'b', 'cookie', 'b=2', 'X-DUP', 'c'),
    );
    expect(env.get('HTTP_X_DUP')).toBe('a, b, c');
    expect(env.get('HTTP_COOKIE')).toBe('a=1; b=2');
  });

  it('adds extra params last, converted to octets, replacing built ones', () => {
    const env = buildCgiEnv(gatewayRequest(), [
      ['SCRIPT_FILENAME', '/srv/caf\u00e9.py'],
      ['SERVER_SOFTWARE', 'custom'],
    ]);
    expect(env.at(-1)).toEqual(['SCRIPT_FILENAME', '/srv/caf\u00c3\u00a9.py']);
    expect(new Map(env).get('SERVER_SOFTWARE')).toBe('custom');
  });
});

describe('buildCgiEnv — security regressions', () => {
  it('httpoxy (CVE-2016-5385): a Proxy header never becomes HTTP_PROXY', () => {
    for (const name of ['Proxy', 'proxy', 'PROXY']) {
      const env = envOf(withHeaders(name, 'http://attacker.example:8080'));
      expect(env.has('HTTP_PROXY')).toBe(false);
    }
    // Proxy-Authorization is a different field and still passes.
    expect(envOf(withHeaders('Proxy-Authorization', 'Basic x')).get('HTTP_PROXY_AUTHORIZATION')).toBe(
      'Basic x',
    );
  });

  it('underscore collision: X_Auth_User is dropped so it cannot spoof or merge into X-Auth-User', () => {
    const env = envOf(withHeaders('X-Auth-User', 'alice', 'X_Auth_User', 'admin'));
    expect(env.get('HTTP_X_AUTH_USER')).toBe('alice');
    const onlyUnderscore = envOf(withHeaders('X_Auth_User', 'admin'));
    expect(onlyUnderscore.has('HTTP_X_AUTH_USER')).toBe(false);
  });

  it('drops header names with characters outside letters, digits and "-" (nginx ignore_invalid_headers)', () => {
    const env = envOf(withHeaders('X.Dot', '1', 'X Space', '2', '', '3', 'X-Ok', '4'));
    expect(
      [...env.keys()].filter(
        (k) => k.startsWith('HTTP_') && !k.startsWith('HTTP_X_FORWARDED_') && k !== 'HTTP_X_REAL_IP',
      ),
    ).toEqual(['HTTP_X_OK']);
  });

  it('spoofed X-Forwarded-For/-Proto/-Host are replaced by the connection values (the gateway is the edge)', () => {
    const env = envOf(
      withHeaders(
        'X-Forwarded-For',
        '6.6.6.6',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'evil.example',
      ),
    );
    expect(env.get('HTTP_X_FORWARDED_FOR')).toBe(gatewayRequest({}).remoteAddress);
    expect(env.get('HTTP_X_FORWARDED_PROTO')).toBe(gatewayRequest({}).scheme);
    expect(env.get('HTTP_X_FORWARDED_HOST')).toBe(gatewayRequest({}).host);
  });

  it('a spoofed X-Real-IP is replaced; Forwarded and the HTTPS flags are never passed', () => {
    const env = envOf(
      withHeaders(
        'X-Real-IP',
        '6.6.6.6',
        'Forwarded',
        'for=6.6.6.6;proto=https',
        'X-Forwarded-Ssl',
        'on',
        'X-Forwarded-Protocol',
        'https',
        'X-Url-Scheme',
        'https',
        'Front-End-Https',
        'on',
      ),
    );
    expect(env.get('HTTP_X_REAL_IP')).toBe(gatewayRequest({}).remoteAddress);
    for (const name of [
      'HTTP_FORWARDED',
      'HTTP_X_FORWARDED_SSL',
      'HTTP_X_FORWARDED_PROTOCOL',
      'HTTP_X_URL_SCHEME',
      'HTTP_FRONT_END_HTTPS',
    ])
      expect(env.has(name), name).toBe(false);
  });

  it('drops a field whose value holds CR, LF or NUL (header splitting, C-string truncation)', () => {
    const env = envOf(
      withHeaders(
        'X-Cr',
        'a\rb',
        'X-Lf',
        'a\nSet-Cookie: x',
        'X-Crlf',
        'a\r\nb',
        'X-Nul',
        'a\0b',
        'X-Ok',
        'fine',
      ),
    );
    for (const name of ['HTTP_X_CR', 'HTTP_X_LF', 'HTTP_X_CRLF', 'HTTP_X_NUL'])
      expect(env.has(name)).toBe(false);
    expect(env.get('HTTP_X_OK')).toBe('fine');
  });

  it('refuses a decoded NUL in PATH_INFO or SCRIPT_NAME with SG_ERR_CLIENT_BAD_REQUEST', () => {
    for (const req of [gatewayRequest({ pathInfo: '/a\0.php' }), gatewayRequest({ scriptName: '/x\0' })]) {
      let caught: unknown;
      try {
        buildCgiEnv(req);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(StackgenError);
      expect((caught as StackgenError).code).toBe('SG_ERR_CLIENT_BAD_REQUEST');
      expect(caught).toMatchObject({ sentAnything: false });
    }
  });

  it('never duplicates Content-Length / Content-Type as HTTP_CONTENT_LENGTH / HTTP_CONTENT_TYPE', () => {
    const env = envOf(
      gatewayRequest({
        rawHeaders: ['Content-Length', '3', 'Content-Type', 'a/b', 'Content-Type', 'c/d'],
        body: memoryBody(Buffer.from('abc')),
      }),
    );
    expect(env.has('HTTP_CONTENT_LENGTH')).toBe(false);
    expect(env.has('HTTP_CONTENT_TYPE')).toBe(false);
    expect(env.get('CONTENT_TYPE')).toBe('a/b');
  });

  it('does not pass Transfer-Encoding: the body is already de-chunked and CONTENT_LENGTH exact', () => {
    expect(envOf(withHeaders('Transfer-Encoding', 'chunked')).has('HTTP_TRANSFER_ENCODING')).toBe(false);
  });

  it('a client cannot override a server variable through a header (HTTP_ prefix is always added)', () => {
    const env = envOf(withHeaders('Remote-Addr', '6.6.6.6', 'Https', 'on'));
    expect(env.get('REMOTE_ADDR')).toBe('127.0.0.1');
    expect(env.has('HTTPS')).toBe(false);
    expect(env.get('HTTP_REMOTE_ADDR')).toBe('6.6.6.6');
  });
});

describe('utf8ByteString / decodeByteString', () => {
  it('returns ASCII unchanged and round-trips Unicode', () => {
    const ascii = '/plain/path';
    expect(utf8ByteString(ascii)).toBe(ascii);
    expect(decodeByteString(utf8ByteString('/\u00e9\u{1f600}'))).toBe('/\u00e9\u{1f600}');
  });
});

describe('splitScriptPath — script and PATH_INFO for a script root', () => {
  it.each([
    ['/index.php/users/7', '/index.php', '/users/7'],
    ['/index.php', '/index.php', ''],
    ['/cgit.cgi/repo/log/', '/cgit.cgi', '/repo/log/'],
    ['/app/v1.2/x', '/app/v1.2', '/x'],
    ['/status', '/status', ''],
    ['/', '/index.php', ''],
    ['/admin/', '/admin/index.php', ''],
    ['/.well-known/x', '/.well-known/x', ''],
    ['/a./b', '/a./b', ''],
    ['', '/index.php', ''],
  ])('%s → %s + %s', (path, script, pathInfo) => {
    expect(splitScriptPath(path, 'index.php')).toEqual({ script, pathInfo });
  });
});

describe('buildCgiEnv — a script root (php-fpm, fcgiwrap)', () => {
  const scripts = { dir: '/var/www/app/', index: 'index.php' };

  it('sets SCRIPT_FILENAME, SCRIPT_NAME, PATH_INFO and DOCUMENT_ROOT as nginx sends them to php-fpm', () => {
    const env = envOf(
      gatewayRequest({ scriptName: '/shop', pathInfo: '/index.php/cart/3', documentRoot: '/elsewhere' }),
      undefined,
      scripts,
    );
    expect(env.get('SCRIPT_FILENAME')).toBe('/var/www/app/index.php');
    expect(env.get('SCRIPT_NAME')).toBe('/shop/index.php');
    expect(env.get('PATH_INFO')).toBe('/cart/3');
    expect(env.get('DOCUMENT_ROOT')).toBe('/var/www/app/');
  });

  it('lets an explicit param replace the computed SCRIPT_FILENAME (fastcgi_param)', () => {
    const env = envOf(
      gatewayRequest({ pathInfo: '/x.php' }),
      [['SCRIPT_FILENAME', '/srv/front.php']],
      scripts,
    );
    expect(env.get('SCRIPT_FILENAME')).toBe('/srv/front.php');
  });

  it('refuses a decoded NUL in the script path', () => {
    expect(() => buildCgiEnv(gatewayRequest({ pathInfo: '/a\0.php/x' }), undefined, scripts)).toThrow(/NUL/);
  });

  it('without a root, keeps the location split (SCRIPT_NAME = mount, no SCRIPT_FILENAME)', () => {
    const env = envOf(gatewayRequest({ scriptName: '/app', pathInfo: '/index.php/x' }));
    expect([env.get('SCRIPT_NAME'), env.get('PATH_INFO'), env.has('SCRIPT_FILENAME')]).toEqual([
      '/app',
      '/index.php/x',
      false,
    ]);
  });
});

describe('scriptOf — a front controller (?front=index.php), as nginx renders a PHP app', () => {
  const scripts = { dir: '/srv/app/public', index: 'index.php', front: 'index.php' };
  it.each([
    // A .php script the path names runs, its PATH_INFO split off.
    ['/info.php/a/b', '/info.php', '/a/b'],
    ['/admin/users.php', '/admin/users.php', ''],
    // Everything else runs the front controller with the whole path as PATH_INFO: never
    // php-fpm's status page, never a text file with PHP in it.
    ['/fpm-status', '/index.php', '/fpm-status'],
    ['/hole.txt/x.php', '/index.php', '/hole.txt/x.php'],
    ['/uploads/a.jpg/b.php', '/index.php', '/uploads/a.jpg/b.php'],
    ['/users/7', '/index.php', '/users/7'],
    ['/', '/index.php', '/'],
    ['/admin/', '/index.php', '/admin/'],
    ['/info.php/a/', '/info.php', '/a/'],
  ])('%s → %s + %s', (path, script, pathInfo) => {
    expect(scriptOf(path, scripts)).toEqual({ script, pathInfo });
  });

  it('without a front, every path names its script (the status page included)', () => {
    expect(scriptOf('/fpm-status', { dir: '/srv', index: 'index.php' })).toEqual({
      script: '/fpm-status',
      pathInfo: '',
    });
  });
});
