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
  | { ok: false; status: 400 | 404; reason: string };

/**
 * Route a guarded request. `pathKeepingEncodedSlashes` is the same path with %2F left
 * encoded: if decoding %2F would select another location or move the SCRIPT_NAME boundary,
 * the request is refused (400) — `/app%2F..%2Fadmin` must not reach what `/admin` guards.
 */
export function routeRequest(router: Router, path: string, pathKeepingEncodedSlashes: string): RouteResult {
  const location = router.match(path);
  if (location === null) return { ok: false, status: 404, reason: 'no location matches' };
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
