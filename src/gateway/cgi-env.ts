// THE builder of CGI/WSGI meta-variables (RFC 3875 §4.1) for the uwsgi, FastCGI, SCGI and CGI
// transports, with nginx's header rules so an app sees the same environ behind the gateway as
// behind nginx. Pure and allocation-light: it runs once per request.
//
// Values are byte strings: one char per octet (latin1), the unit every wire codec writes. That
// matters because the two sources differ: node hands over header fields already as latin1 (one
// char per received byte), while PATH_INFO/SCRIPT_NAME are decoded Unicode strings that must go
// out as UTF-8 octets. WSGI then decodes them as latin-1 (PEP 3333 "native strings"), so an app
// recovers the text with environ['PATH_INFO'].encode('latin1').decode('utf8').

import { UpstreamError } from '../errors.js';
import { CLIENT_FORWARDING_VARS } from './forwarding.js';
import type { GatewayRequest } from './transport.js';

export type CgiEnv = Array<[string, string]>;

/** Per name: its HTTP_* meta-variable, or null when the field must not be passed. */
const httpNameCache = new Map<string, string | null>();
const HTTP_NAME_CACHE_LIMIT = 1024;

const CONTENT_TYPE_VAR = 'HTTP_CONTENT_TYPE';

/**
 * Fields never passed as HTTP_*:
 * - Proxy: httpoxy (CVE-2016-5385). A client's `Proxy:` header would become HTTP_PROXY, which
 *   many HTTP libraries read as their outgoing proxy, letting the client redirect the app's
 *   own requests.
 * - Content-Length / Content-Type: RFC 3875 §4.1.18 "the server [...] SHOULD NOT create meta-
 *   variables for header fields [...] available through other meta-variables" — they are
 *   CONTENT_LENGTH / CONTENT_TYPE.
 * - Transfer-Encoding: the front has de-chunked the body and CONTENT_LENGTH is exact; an app
 *   server seeing HTTP_TRANSFER_ENCODING=chunked (Werkzeug, uWSGI) would try to de-chunk again.
 */
const NEVER_PASSED = new Set([
  'HTTP_PROXY',
  'HTTP_CONTENT_LENGTH',
  'HTTP_TRANSFER_ENCODING',
  // The gateway is the edge: forwarded-for/proto/host and X-Real-IP come from the connection
  // (set below), Forwarded and the HTTPS flags are dropped (forwarding.ts), so an app that
  // trusts them cannot be fooled by a spoofed header.
  ...CLIENT_FORWARDING_VARS,
]);

/**
 * `X-Forwarded-For` → `HTTP_X_FORWARDED_FOR`, or null to drop the field. Like nginx with
 * `underscores_in_headers off` and `ignore_invalid_headers on`, only letters, digits and '-' are
 * accepted: a client sending `X_Foo` could otherwise collide with (and spoof) `X-Foo`, since both
 * map to HTTP_X_FOO (RFC 3875 §4.1.18 leaves the mapping ambiguous).
 */
function httpVarName(name: string): string | null {
  const cached = httpNameCache.get(name);
  if (cached !== undefined) return cached;
  let ok = name.length > 0;
  for (let i = 0; ok && i < name.length; i++) {
    const c = name.charCodeAt(i);
    ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d;
  }
  let mapped: string | null = null;
  if (ok) {
    mapped = 'HTTP_' + name.toUpperCase().replaceAll('-', '_');
    if (NEVER_PASSED.has(mapped)) mapped = null;
  }
  if (httpNameCache.size >= HTTP_NAME_CACHE_LIMIT) httpNameCache.clear();
  httpNameCache.set(name, mapped);
  return mapped;
}

/** True when a header value holds CR, LF or NUL: it could split a CGI header or a C string. */
function hasUnsafeOctet(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0) return true;
  }
  return false;
}

/** A Unicode string as its UTF-8 octets, one char per octet (ASCII strings are returned as is). */
export function utf8ByteString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return Buffer.from(text, 'utf8').toString('latin1');
  }
  return text;
}

/** A byte string (one char per octet) back to the Unicode text its UTF-8 octets spell. */
export function decodeByteString(bytes: string): string {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes.charCodeAt(i) > 0x7f) return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return bytes;
}

function decodedPathOctets(what: string, text: string): string {
  // A decoded %00 would truncate the path in any C backend (and cannot live in a CGI
  // environment at all): refuse the request rather than forward a path the app misreads.
  if (text.includes('\0')) {
    throw new UpstreamError('SG_ERR_CLIENT_BAD_REQUEST', `The decoded ${what} contains a NUL byte (%00).`, {
      sentAnything: false,
    });
  }
  return utf8ByteString(text);
}

/** A directory of scripts a FastCGI backend runs by file name (php-fpm, fcgiwrap): `?root=`. */
export interface ScriptRoot {
  /** Absolute directory; SCRIPT_FILENAME = dir + the script's path below the mount point. */
  dir: string;
  /** File name run for a path ending in `/` (nginx fastcgi_index). */
  index: string;
  /**
   * A front controller (`?front=index.php`): only a path naming a script with its extension
   * (`/x.php`, `/x.php/more`) runs that script; every other path runs this file with the
   * whole path as PATH_INFO — nginx's `location /` of a PHP app. Absent: every path names its script.
   */
  front?: string | undefined;
}

/** Where a request's path splits into the script (SCRIPT_NAME) and the rest (PATH_INFO). */
export interface ScriptSplit {
  /** The script's path below the mount point, starting with `/` (index appended for a directory). */
  script: string;
  /** What follows the script ('' or starting with `/`). */
  pathInfo: string;
}

/**
 * Split the path below the mount point at the end of its first segment with a file extension,
 * as nginx's `fastcgi_split_path_info ^(.+?\.php)(/.*)$` does for PHP and Apache's path walk
 * finds for CGI scripts: `/index.php/users/7` → script `/index.php`, PATH_INFO `/users/7`;
 * `/cgit.cgi/repo/tree` → `/cgit.cgi` + `/repo/tree`. A path without such a segment is the
 * script as a whole (`/status` → php-fpm's status page); one ending in `/` gets the index.
 * Pure: no stat, so a request costs no syscall and the split does not depend on what the
 * disk holds (php-fpm's security.limit_extensions still refuses a non-.php file).
 */
export function splitScriptPath(pathInfo: string, index: string): ScriptSplit {
  const path = pathInfo.startsWith('/') ? pathInfo : `/${pathInfo}`;
  let start = 1;
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end < 0) end = path.length;
    const dot = path.lastIndexOf('.', end - 1);
    // A dot inside the segment, not its first character (.git, .well-known are not extensions).
    if (dot > start && dot < end - 1) return { script: path.slice(0, end), pathInfo: path.slice(end) };
    start = end + 1;
  }
  return path.endsWith('/') ? { script: path + index, pathInfo: '' } : { script: path, pathInfo: '' };
}

/**
 * The script a path runs under a script root: the one it names (splitScriptPath), or with a
 * front controller, the controller whenever the named script lacks the controller's
 * extension — `/fpm-status` or `/hole.txt/x.php` then reach `/index.php` with the whole path
 * as PATH_INFO, never php-fpm's status page or a text file. Pure.
 */
export function scriptOf(pathInfo: string, scripts: ScriptRoot): ScriptSplit {
  const split = splitScriptPath(pathInfo, scripts.index);
  if (scripts.front === undefined) return split;
  const path = pathInfo.startsWith('/') ? pathInfo : `/${pathInfo}`;
  const dot = scripts.front.lastIndexOf('.');
  const extension = dot > 0 ? scripts.front.slice(dot) : scripts.front;
  // A directory URL names no script (its index is appended, not named): the controller's, as at nginx.
  const named = split.script.endsWith(extension) && !(path.endsWith('/') && split.pathInfo === '');
  return named ? split : { script: `/${scripts.front}`, pathInfo: path };
}

/**
 * Build the CGI meta-variables for `req` (RFC 3875 §4.1, plus REQUEST_URI, REQUEST_SCHEME,
 * HTTPS, DOCUMENT_ROOT, REMOTE_PORT, SERVER_ADDR as nginx's fastcgi_params/uwsgi_params send).
 * `extra` pairs (Unicode text, e.g. SCRIPT_FILENAME) are added last and replace same-named ones.
 * With a script root (a FastCGI backend that runs files: php-fpm, fcgiwrap) the path is split
 * (splitScriptPath) as those backends expect it from nginx: SCRIPT_FILENAME = root + script,
 * SCRIPT_NAME = mount point + script (RFC 3875 §4.1.13: "a URI path [...] which could
 * identify the CGI script"), PATH_INFO = the rest (§4.1.5), DOCUMENT_ROOT = the root.
 */
export function buildCgiEnv(
  req: GatewayRequest,
  extra?: ReadonlyArray<readonly [string, string]>,
  scripts?: ScriptRoot,
): CgiEnv {
  let pathInfo = req.pathInfo;
  let scriptName = req.scriptName;
  let documentRoot = req.documentRoot;
  let scriptFilename: string | undefined;
  if (scripts !== undefined) {
    const split = scriptOf(req.pathInfo, scripts);
    pathInfo = split.pathInfo;
    scriptName = req.scriptName + split.script;
    documentRoot = scripts.dir;
    scriptFilename = scripts.dir.replace(/\/+$/, '') + split.script;
  }
  const env: CgiEnv = [
    ['REQUEST_METHOD', req.method],
    ['REQUEST_URI', req.rawTarget],
    ['PATH_INFO', decodedPathOctets('path', pathInfo)],
    ['SCRIPT_NAME', decodedPathOctets('mount point', scriptName)],
    ['QUERY_STRING', req.query],
    ['SERVER_NAME', utf8ByteString(req.serverName)],
    ['SERVER_PORT', String(req.serverPort)],
    ['SERVER_PROTOCOL', req.httpVersion === '1.1' ? 'HTTP/1.1' : 'HTTP/1.0'],
    ['SERVER_ADDR', req.serverAddress],
    ['REMOTE_ADDR', req.remoteAddress],
    ['REMOTE_PORT', String(req.remotePort)],
    ['REQUEST_SCHEME', req.scheme],
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_SOFTWARE', 'stackgen-gateway'],
    ['DOCUMENT_ROOT', utf8ByteString(documentRoot)],
  ];
  if (scriptFilename !== undefined) env.push(['SCRIPT_FILENAME', decodedPathOctets('path', scriptFilename)]);
  // RFC 3875 §4.1.2: "If no data is attached, then NULL (or unset)". The body is complete and
  // de-chunked, so its length is exact whatever the client's framing was.
  if (req.body !== null) env.push(['CONTENT_LENGTH', String(req.body.length)]);
  if (req.scheme === 'https') env.push(['HTTPS', 'on']);
  env.push(['HTTP_X_FORWARDED_FOR', req.remoteAddress], ['HTTP_X_FORWARDED_PROTO', req.scheme]);
  env.push(['HTTP_X_FORWARDED_HOST', utf8ByteString(req.host)], ['HTTP_X_REAL_IP', req.remoteAddress]);

  const raw = req.rawHeaders;
  // Index of each HTTP_* var in env, to merge repeated fields (RFC 9110 §5.3: a recipient MAY
  // combine them with ", "; Cookie uses "; " per RFC 6265 §5.4).
  let seen: Map<string, number> | undefined;
  let contentType: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const varName = httpVarName(raw[i]!);
    if (varName === null) continue;
    const value = raw[i + 1]!;
    if (hasUnsafeOctet(value)) continue;
    if (varName === CONTENT_TYPE_VAR) {
      contentType ??= value;
      continue;
    }
    seen ??= new Map();
    const at = seen.get(varName);
    if (at === undefined) {
      seen.set(varName, env.length);
      env.push([varName, value]);
    } else {
      const pair = env[at]!;
      pair[1] += (varName === 'HTTP_COOKIE' ? '; ' : ', ') + value;
    }
  }
  if (contentType !== undefined) env.push(['CONTENT_TYPE', contentType]);

  if (extra !== undefined) {
    for (const [name, text] of extra) {
      const value = utf8ByteString(text);
      const existing = env.find((pair) => pair[0] === name);
      if (existing === undefined) env.push([name, value]);
      else existing[1] = value;
    }
  }
  return env;
}
