// The app's side of the contract, per framework, as data: what its own settings must say to
// match the stack (the host names the proxy serves, the headers it sets, its body limit), and
// — where the settings are importable — how `stackgen check` reads them back and says where
// they disagree. The deploy README lists the items with the stack's actual values.

import type { Framework } from '../../stack/schema.js';

/** What the stack does, as the app's settings must see it (render/app-contract.ts builds it). */
export interface ContractFacts {
  /** proxy.server_name without `_`: the names the front passes; empty = every Host. */
  names: string[];
  /** The stack's own origins (`https://shop.example`, `http://shop.example:8080`: a port unless the scheme's default). */
  origins: string[];
  /**
   * The front terminates TLS (proxy.tls): `redirect` — the http addresses only redirect to
   * https, so the app is never served over plain http; `hsts` — the front sends
   * Strict-Transport-Security itself. null: plain HTTP only.
   */
  tls: { redirect: boolean; hsts: boolean } | null;
  /** The front, when there is one that sets X-Forwarded-* from the connection (replacing the client's). */
  front: { title: string; forwardedFromConnection: boolean } | null;
  /** Where a client could reach the app server without the front (a non-loopback TCP address), or null. */
  appExposedAt: string | null;
  /** Where the app server listens, in words (`unix:/run/x/x.sock`, `127.0.0.1:8000`). */
  appListens: string;
  /** The front passes the client's address as REMOTE_ADDR (uwsgi, FastCGI, SCGI, CGI): no header to trust. */
  cgiStyle: boolean;
  /** app.mount: '/' or the prefix the app server sets as SCRIPT_NAME. */
  mount: string;
  /** app.static's URL prefixes (`/hg/static/`): what the proxy serves itself. */
  statics: string[];
  maxBody: string;
  /** 0 = unlimited. */
  maxBodyBytes: number;
}

/** One setting: the line to write (with the stack's values) and why. */
export interface ContractItem {
  setting: string;
  line: string;
  why: string;
}

/** The settings values `stackgen check` read from the app, by name (JSON). */
export type SettingsValues = Record<string, unknown> & { __file__?: string };

export interface AppContract {
  items: (f: ContractFacts) => ContractItem[];
  /** Importable settings: the env var naming the module, the names to read, and the judge. */
  settings: {
    envVar: string;
    /** Attribute → the framework's default when the module does not set it. */
    read: Record<string, unknown>;
    /** What disagrees with the stack, each with where, what and what to do. Pure. */
    disagreements: (values: SettingsValues, f: ContractFacts) => string[];
  } | null;
}

const py = (v: unknown): string =>
  v === null
    ? 'None'
    : Array.isArray(v)
      ? `[${v.map(py).join(', ')}]`
      : typeof v === 'string'
        ? JSON.stringify(v)
        : String(v);

/** Django's ALLOWED_HOSTS matching (django.http.request.validate_host): `*`, `.domain`, exact. Pure. */
export function djangoAllowsHost(allowed: readonly string[], host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return allowed.some((p) => {
    const pat = p.toLowerCase();
    return pat === '*' || (pat.startsWith('.') && (h.endsWith(pat) || h === pat.slice(1))) || pat === h;
  });
}

/** Django's default DATA_UPLOAD_MAX_MEMORY_SIZE: 2.5 MiB. */
const DJANGO_DATA_UPLOAD_DEFAULT = 2621440;
/** Werkzeug's default max_form_memory_size (Flask ≥ 3.1 MAX_FORM_MEMORY_SIZE): 500 kB. */
const WERKZEUG_FORM_MEMORY_DEFAULT = 500_000;

/** Is SECURE_PROXY_SSL_HEADER / x_proto safe: the header can only come from the front? */
function forwardedHeadersTrustworthy(f: ContractFacts): string | null {
  if (!f.front) return 'there is no proxy: any X-Forwarded-* header comes from the client itself';
  if (!f.front.forwardedFromConnection)
    return `${f.front.title} does not set X-Forwarded-Proto from the connection`;
  if (f.appExposedAt)
    return `the app server listens on ${f.appExposedAt}, so a client can reach it past ${f.front.title} and send the header itself (keep serve.host on loopback)`;
  return null;
}

const django: AppContract = {
  items: (f) => {
    const unsafe = forwardedHeadersTrustworthy(f);
    const bodyLine =
      f.maxBodyBytes === 0
        ? 'DATA_UPLOAD_MAX_MEMORY_SIZE = None'
        : f.maxBodyBytes > DJANGO_DATA_UPLOAD_DEFAULT
          ? `DATA_UPLOAD_MAX_MEMORY_SIZE = ${f.maxBodyBytes}`
          : `# DATA_UPLOAD_MAX_MEMORY_SIZE: the default (${DJANGO_DATA_UPLOAD_DEFAULT}) covers max_body ${f.maxBody}`;
    return [
      {
        setting: 'ALLOWED_HOSTS',
        line: `ALLOWED_HOSTS = ${f.names.length ? py(f.names) : '["<your host names>"]'}`,
        why: f.names.length
          ? `proxy.server_name: the front refuses every other Host before Django sees it; Django checks again and answers 400 (DisallowedHost) to a name missing here`
          : "proxy.server_name is `_`: the front passes every Host, so ALLOWED_HOSTS is the only Host check — list your names (never '*'), or set server_name",
      },
      {
        setting: 'CSRF_TRUSTED_ORIGINS',
        line: `CSRF_TRUSTED_ORIGINS = ${f.origins.length ? py(f.origins) : '["http://<your host name>"]'}`,
        why: f.tls
          ? "Django (≥ 4.0) checks a form POST's Origin against the Host and the scheme it sees: with TLS at the front the origins are https ones, and Django sees https (request.is_secure()) only through the line below or the uwsgi/FastCGI/SCGI HTTPS variable; list them so a POST is never refused for its scheme"
          : "Django checks a form POST's Origin against the Host and scheme it sees; the front passes the client's Host with its port and the scheme of the connection, so the stack's own origins match without it — needed for any other origin that posts forms (or a TLS terminator in front that Django does not know about)",
      },
      {
        setting: 'SECURE_PROXY_SSL_HEADER',
        line: unsafe
          ? '# SECURE_PROXY_SSL_HEADER: leave it unset'
          : 'SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")',
        why: unsafe
          ? `not safe here: ${unsafe}; a forged "X-Forwarded-Proto: https" would make request.is_secure() lie`
          : f.tls
            ? `safe here: ${f.front!.title} terminates TLS (proxy.tls) and sets X-Forwarded-Proto from the connection, replacing the client's, and the app server is reachable only through it (${f.appListens}): request.is_secure() is true on https, so redirects and build_absolute_uri() say https`
            : `safe here: ${f.front!.title} sets X-Forwarded-Proto from the connection, replacing the client's, and the app server is reachable only through it (${f.appListens}); the stack itself speaks plain HTTP, so is_secure() stays false unless TLS is terminated in front`,
      },
      ...(f.tls ? djangoTlsItems(f.tls) : []),
      {
        setting: 'DATA_UPLOAD_MAX_MEMORY_SIZE',
        line: bodyLine,
        why: `proxy.max_body is ${f.maxBody}: a non-file body the proxy lets through but over Django's limit (default 2.5 MiB) gets 400 (RequestDataTooBig) from Django; files in multipart uploads do not count`,
      },
      ...(f.mount === '/' ? [] : djangoMountItems(f)),
    ];
  },
  settings: {
    envVar: 'DJANGO_SETTINGS_MODULE',
    read: {
      ALLOWED_HOSTS: [],
      DEBUG: false,
      DATA_UPLOAD_MAX_MEMORY_SIZE: DJANGO_DATA_UPLOAD_DEFAULT,
      FORCE_SCRIPT_NAME: null,
      STATIC_URL: null,
      SECURE_PROXY_SSL_HEADER: null,
      SESSION_COOKIE_SECURE: false,
      CSRF_COOKIE_SECURE: false,
      SECURE_HSTS_SECONDS: 0,
    },
    disagreements: (v, f) => {
      const where = v.__file__ ?? 'the settings module';
      const out: string[] = [];
      const allowed = Array.isArray(v['ALLOWED_HOSTS']) ? (v['ALLOWED_HOSTS'] as string[]) : [];
      // DEBUG with an empty ALLOWED_HOSTS allows localhost names only (Django's own rule).
      const effective =
        allowed.length === 0 && v['DEBUG'] === true ? ['.localhost', '127.0.0.1', '[::1]'] : allowed;
      const refused = f.names.filter(
        (n) => !n.startsWith('~') && !djangoAllowsHost(effective, n.replace(/^\*\./, 'x.')),
      );
      if (refused.length > 0)
        out.push(
          `${where}: ALLOWED_HOSTS = ${py(allowed)} does not allow ${refused.join(', ')} (proxy.server_name): every request the stack passes gets 400 (DisallowedHost) — add ${py(refused)} to ALLOWED_HOSTS`,
        );
      if (f.names.length === 0 && allowed.includes('*'))
        out.push(
          `${where}: ALLOWED_HOSTS = ['*'] and proxy.server_name is _: nothing checks the Host header (password-reset links and absolute URLs can be poisoned) — list your names in ALLOWED_HOSTS or set proxy.server_name`,
        );
      const limit = v['DATA_UPLOAD_MAX_MEMORY_SIZE'];
      if (typeof limit === 'number' && (f.maxBodyBytes === 0 || limit < f.maxBodyBytes))
        out.push(
          `${where}: DATA_UPLOAD_MAX_MEMORY_SIZE = ${limit} is below proxy.max_body ${f.maxBody}: non-file bodies between the two pass the proxy and get 400 from Django — set it to ${f.maxBodyBytes === 0 ? 'None' : f.maxBodyBytes}, or lower proxy.max_body`,
        );
      if (f.mount !== '/') out.push(...djangoMountDisagreements(v, f, where));
      if (f.tls) out.push(...djangoTlsDisagreements(v, f, where));
      return out;
    },
  },
};

/** Django behind a front that terminates TLS: secure cookies, and the front's redirect and HSTS left to it. */
function djangoTlsItems(tls: NonNullable<ContractFacts['tls']>): ContractItem[] {
  return [
    {
      setting: 'SESSION_COOKIE_SECURE',
      line: tls.redirect
        ? 'SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True'
        : '# SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True once every client uses https',
      why: tls.redirect
        ? 'the browser then sends the session and CSRF cookies over https only; proxy.tls.redirect_http sends every http request to https first, so no page needs them over plain http'
        : 'proxy.tls.redirect_http is false: the app is served over plain http too, where secure cookies are never sent (logins over http would fail)',
    },
    {
      setting: 'SECURE_SSL_REDIRECT',
      line: '# SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS: leave them unset',
      why: `the front ${tls.redirect ? 'already redirects http to https' : 'serves http as proxy.tls.redirect_http says'}${tls.hsts ? ' and sends Strict-Transport-Security on https answers (proxy.tls.hsts); a second one from Django would repeat the header' : ''}`,
    },
  ];
}

/** Django settings that undo what the front's TLS gives (proxy.tls). Pure. */
function djangoTlsDisagreements(v: SettingsValues, f: ContractFacts, where: string): string[] {
  const out: string[] = [];
  const tls = f.tls!;
  const header = v['SECURE_PROXY_SSL_HEADER'];
  if (!f.cgiStyle && header === null && forwardedHeadersTrustworthy(f) === null)
    out.push(
      `${where}: SECURE_PROXY_SSL_HEADER is unset: behind ${f.front!.title}'s TLS request.is_secure() stays False, so Django builds http:// URLs and refuses https form POSTs (CSRF Origin) — set SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")`,
    );
  const insecure = ['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE'].filter((k) => v[k] !== true);
  if (tls.redirect && insecure.length > 0)
    out.push(
      `${where}: ${insecure.join(' and ')} ${insecure.length > 1 ? 'are' : 'is'} not True although every request reaches Django over https (proxy.tls.redirect_http): a browser still sends them on a plain-http request (the first one, before the 301), readable on the wire — set ${insecure.join(' = ')} = True`,
    );
  const hsts = v['SECURE_HSTS_SECONDS'];
  if (tls.hsts && typeof hsts === 'number' && hsts > 0)
    out.push(
      `${where}: SECURE_HSTS_SECONDS = ${hsts} while the front sends Strict-Transport-Security (proxy.tls.hsts): answers carry the header twice — unset SECURE_HSTS_SECONDS or set proxy.tls.hsts: off`,
    );
  return out;
}

/** The static prefix under the mount the proxy serves, if app.static has one. */
const staticUnderMount = (f: ContractFacts) => f.statics.find((p) => p.startsWith(`${f.mount}/`));

/** A Django project mounted under app.mount: what its settings must (not) say. */
function djangoMountItems(f: ContractFacts): ContractItem[] {
  const served = staticUnderMount(f);
  return [
    {
      setting: 'FORCE_SCRIPT_NAME',
      line: '# FORCE_SCRIPT_NAME: leave it unset',
      why: `app.mount ${f.mount}: every request arrives with SCRIPT_NAME ${f.mount}, and Django builds reverse(), redirects and LOGIN_URL below it; FORCE_SCRIPT_NAME would only repeat it, and contradict it the day the mount changes`,
    },
    {
      setting: 'STATIC_URL',
      line: 'STATIC_URL = "static/"',
      why: `relative (Django ≥ 3.1): Django puts SCRIPT_NAME in front, so pages link ${f.mount}/static/…; ${served ? `app.static serves ${served}` : `serve it with app.static {"${f.mount}/static/": <STATIC_ROOT>}`} — an absolute "/static/" lies outside the mount, where the proxy answers 404 (MEDIA_URL likewise)`,
    },
    {
      setting: 'SESSION_COOKIE_PATH',
      line: `SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = ${py(f.mount)}`,
      why: `the browser then sends the session and CSRF cookies only below ${f.mount}, not to other apps on the same host name`,
    },
  ];
}

/** Mounted settings that visibly disagree with app.mount. Pure. */
function djangoMountDisagreements(v: SettingsValues, f: ContractFacts, where: string): string[] {
  const out: string[] = [];
  const forced = v['FORCE_SCRIPT_NAME'];
  if (typeof forced === 'string' && forced.replace(/\/$/, '') !== f.mount)
    out.push(
      `${where}: FORCE_SCRIPT_NAME = ${py(forced)} but app.mount is ${f.mount}: every URL Django builds starts with ${forced} and misses the app — unset FORCE_SCRIPT_NAME (the stack sends SCRIPT_NAME ${f.mount})`,
    );
  const url = v['STATIC_URL'];
  if (typeof url === 'string' && url.startsWith('/') && !url.startsWith(`${f.mount}/`))
    out.push(
      `${where}: STATIC_URL = ${py(url)} is outside app.mount ${f.mount}: the proxy passes only ${f.mount}/… and answers 404 for ${url}… — set STATIC_URL = "static/" (Django adds the mount) and serve ${f.mount}/static/ with app.static`,
    );
  return out;
}

const flask: AppContract = {
  items: (f) => {
    const unsafe = forwardedHeadersTrustworthy(f);
    const proxyFix =
      unsafe !== null
        ? {
            line: '# no ProxyFix',
            why: `not safe: ${unsafe}; request.remote_addr and the scheme would be whatever a client claims`,
          }
        : f.cgiStyle
          ? {
              line: '# no ProxyFix: not needed',
              why: `${f.front!.title} passes the client's address as REMOTE_ADDR, the Host and the scheme as CGI variables: request.remote_addr and url_for(_external=True) are right as they are`,
            }
          : {
              line: 'app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)',
              why: `one proxy (${f.front!.title}) sets X-Forwarded-For and X-Forwarded-Proto from the connection, replacing the client's: trust exactly one hop of each (without it request.remote_addr is the proxy's). x_host=0: the Host header already is the client's, port included; ${f.mount === '/' ? 'the app is mounted at / (no prefix)' : `x_prefix=0: the app server already sets SCRIPT_NAME to app.mount ${f.mount}, so url_for() keeps the prefix`}`,
            };
    return [
      { setting: 'ProxyFix (werkzeug.middleware.proxy_fix)', ...proxyFix },
      ...(f.tls
        ? [
            {
              setting: 'SESSION_COOKIE_SECURE',
              line: f.tls.redirect
                ? 'app.config["SESSION_COOKIE_SECURE"] = True'
                : '# app.config["SESSION_COOKIE_SECURE"] = True once every client uses https',
              why: f.tls.redirect
                ? 'the session cookie then travels over https only; proxy.tls.redirect_http sends every http request to https first'
                : 'proxy.tls.redirect_http is false: the app is served over plain http too, where a secure cookie is never sent',
            },
          ]
        : []),
      {
        setting: 'MAX_FORM_MEMORY_SIZE',
        line:
          f.maxBodyBytes === 0 || f.maxBodyBytes > WERKZEUG_FORM_MEMORY_DEFAULT
            ? `app.config["MAX_FORM_MEMORY_SIZE"] = ${f.maxBodyBytes === 0 ? 'None' : f.maxBodyBytes}`
            : `# MAX_FORM_MEMORY_SIZE: the default (${WERKZEUG_FORM_MEMORY_DEFAULT}) covers max_body ${f.maxBody}`,
        why: `proxy.max_body is ${f.maxBody}: Flask ≥ 3.1 (Werkzeug ≥ 3.1) answers 413 to a non-file form field over 500 kB by default; older versions have no such limit`,
      },
    ];
  },
  settings: null,
};

/** The frameworks whose settings the stack has something to say about. */
export const APP_CONTRACTS: Partial<Record<Framework, AppContract>> = { django, flask };
