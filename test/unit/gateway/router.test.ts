import { describe, expect, it } from 'vitest';
import type { GatewayLocation } from '../../../src/gateway/config.js';
import { createRouter, routeRequest } from '../../../src/gateway/router.js';

const upstream = (path: string, scriptName = ''): GatewayLocation => ({
  kind: 'upstream',
  path,
  upstreams: [{ scheme: 'http', address: { kind: 'tcp', host: '127.0.0.1', port: 1 } }],
  scriptName,
  documentRoot: '/srv',
  websocket: false,
});
const staticLoc = (path: string): GatewayLocation => ({
  kind: 'static',
  path,
  root: '/srv/static',
  immutable: false,
  followSymlinks: false,
  expiresMs: null,
  index: 'index.html',
});

const root = upstream('/');
const app = upstream('/app/', '/app');
const stat = staticLoc('/static/');
const admin = upstream('/admin');
const router = createRouter([root, app, stat, admin]);

describe('router', () => {
  it.each([
    ['/', root],
    ['/x', root],
    ['/static/a.css', stat],
    ['/static', root],
    ['/app/', app],
    ['/app', root],
    ['/administrator', admin],
  ])('%s → longest prefix', (path, expected) => {
    expect(router.match(path)).toBe(expected);
  });

  it('returns null when nothing matches', () => {
    expect(createRouter([stat]).match('/x')).toBeNull();
  });

  it('splits SCRIPT_NAME / PATH_INFO at the mount point', () => {
    expect(routeRequest(router, '/app/users/1', '/app/users/1')).toMatchObject({
      ok: true,
      location: app,
      scriptName: '/app',
      pathInfo: '/users/1',
    });
    expect(routeRequest(router, '/x/y', '/x/y')).toMatchObject({
      ok: true,
      scriptName: '',
      pathInfo: '/x/y',
    });
  });

  it('refuses an encoded slash that would change the location (400)', () => {
    // /app%2F..: decoded it would be /app/… — a different location than the literal /app%2F…
    expect(routeRequest(router, '/app/x', '/app%2Fx')).toMatchObject({ ok: false, status: 400 });
    expect(routeRequest(router, '/static/x', '/static%2Fx')).toMatchObject({ ok: false, status: 400 });
  });

  it('allows an encoded slash below the boundary', () => {
    expect(routeRequest(router, '/app/a/b', '/app/a%2Fb')).toMatchObject({ ok: true, pathInfo: '/a/b' });
  });

  it('refuses an encoded slash that moves the SCRIPT_NAME boundary', () => {
    const mounted = createRouter([upstream('/', '/app')]);
    expect(routeRequest(mounted, '/app/x', '/app%2Fx')).toMatchObject({ ok: false, status: 400 });
  });

  it('404 when no location matches', () => {
    expect(routeRequest(createRouter([stat]), '/x', '/x')).toMatchObject({ ok: false, status: 404 });
  });
});

describe('a mounted app (app.mount /hg: the only backend location is /hg/)', () => {
  const hg = upstream('/hg/', '/hg');
  const mounted = createRouter([staticLoc('/hg/static/'), hg]);

  it('/hg is a 301 to /hg/, with the query string, as nginx answers it', () => {
    expect(routeRequest(mounted, '/hg', '/hg', 'a=1')).toEqual({
      ok: false,
      status: 301,
      reason: 'the backend location ends in /',
      redirectTo: '/hg/?a=1',
    });
    expect(routeRequest(mounted, '/hg', '/hg')).toMatchObject({ status: 301, redirectTo: '/hg/' });
  });

  it('/hg/x is the app with SCRIPT_NAME /hg; /x and /hgx are 404', () => {
    expect(routeRequest(mounted, '/hg/x', '/hg/x')).toMatchObject({
      ok: true,
      scriptName: '/hg',
      pathInfo: '/x',
    });
    expect(routeRequest(mounted, '/x', '/x')).toMatchObject({ ok: false, status: 404 });
    expect(routeRequest(mounted, '/hgx', '/hgx')).toMatchObject({ ok: false, status: 404 });
  });

  it('a static location ending in / gets no redirect (nginx redirects only *_pass locations)', () => {
    expect(routeRequest(mounted, '/hg/static', '/hg/static')).toMatchObject({ ok: true, location: hg });
  });

  it('a location that matches still wins over the redirect (/app with a / location)', () => {
    expect(routeRequest(router, '/app', '/app')).toMatchObject({ ok: true, location: root });
  });
});
