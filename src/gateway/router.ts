// The router: picks the location for a normalised path (longest prefix wins, as nginx
// prefix locations) and splits the path into SCRIPT_NAME / PATH_INFO. Pure.

import type { GatewayLocation } from './config.js';

export interface Router {
  readonly locations: readonly GatewayLocation[];
  /** The location whose prefix is the longest one matching `path`, or null. */
  match(path: string): GatewayLocation | null;
}

/** Build a router; locations are tried longest prefix first. */
export function createRouter(locations: readonly GatewayLocation[]): Router {
  const ordered = [...locations].sort((a, b) => b.path.length - a.path.length);
  return {
    locations,
    match(path) {
      for (const loc of ordered) if (path.startsWith(loc.path)) return loc;
      return null;
    },
  };
}

export type RouteResult =
  | { ok: true; location: GatewayLocation; scriptName: string; pathInfo: string }
  | { ok: false; status: 400 | 404; reason: string }
  /** `/hg` for a backend location `/hg/`: 301 to it, as nginx answers (see routeRequest). */
  | { ok: false; status: 301; reason: string; redirectTo: string };

/**
 * Route a guarded request. `pathKeepingEncodedSlashes` is the same path with %2F left
 * encoded: if decoding %2F would select another location or move the SCRIPT_NAME boundary,
 * the request is refused (400) — `/app%2F..%2Fadmin` must not reach what `/admin` guards.
 */
export function routeRequest(
  router: Router,
  path: string,
  pathKeepingEncodedSlashes: string,
  query = '',
): RouteResult {
  const location = router.match(path);
  if (location === null) {
    // nginx (ngx_http_core_module, location): "If a location is defined by a prefix string
    // that ends with the slash character, and requests are processed by one of proxy_pass,
    // fastcgi_pass, uwsgi_pass, scgi_pass … in response to a request with URI equal to this
    // string, but without the trailing slash, a permanent redirect with the code 301 will be
    // returned to the requested URI with the slash appended" — an app mounted at /hg/ is
    // reached from /hg. Only where no location matches, so a `/` location still takes /hg.
    const mount = router.locations.find((l) => l.kind === 'upstream' && l.path === `${path}/`);
    if (mount && path === pathKeepingEncodedSlashes)
      return {
        ok: false,
        status: 301,
        reason: 'the backend location ends in /',
        redirectTo: `${mount.path}${query === '' ? '' : `?${query}`}`,
      };
    return { ok: false, status: 404, reason: 'no location matches' };
  }
  if (path !== pathKeepingEncodedSlashes && router.match(pathKeepingEncodedSlashes) !== location)
    return { ok: false, status: 400, reason: 'encoded slash (%2F) changes the matched location' };
  if (location.kind === 'static') return { ok: true, location, scriptName: '', pathInfo: path };
  const scriptName = location.scriptName;
  if (scriptName === '') return { ok: true, location, scriptName, pathInfo: path };
  const mounted = (p: string) => p === scriptName || p.startsWith(`${scriptName}/`);
  if (path !== pathKeepingEncodedSlashes && mounted(path) !== mounted(pathKeepingEncodedSlashes))
    return { ok: false, status: 400, reason: 'encoded slash (%2F) changes SCRIPT_NAME' };
  // Below the mount point PATH_INFO is the rest; outside it (a location wider than its
  // script_name) the app is mounted elsewhere and sees the whole path, as uwsgi_modifier1 30.
  if (!mounted(path)) return { ok: true, location, scriptName: '', pathInfo: path };
  return { ok: true, location, scriptName, pathInfo: path.slice(scriptName.length) };
}
