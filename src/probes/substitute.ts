// --probe-app: the user's application is replaced by the probe app written for the same
// framework and interface (templates/apps/), so every probe can read the same JSON
// contract. Only the spec's `app` block changes; the stack — server, proxy, manager,
// users, limits — and therefore every generated file keeps its shape. Pure.

import { isAbsolute, join } from 'node:path';
import { type StaticTarget, withStaticDir } from '../stack/static-dirs.js';
import type { NormalizedSpec } from '../stack/normalize.js';
import { PROBE_COUNTER_ENV, PROBE_WRITABLE_ENV, type ProbeApp, type ProbeFramework } from './contract.js';

/**
 * The probe app standing in for this spec's app. Frameworks map to their own probe app;
 * Django served over ASGI has its own entry (django-asgi); a CGI script is probe.cgi. A
 * WSGI app served by tornado (WSGIContainer) or as CGI (stackgen's wsgiref adapter) keeps
 * its framework's WSGI probe app, because the server, not the app, changes.
 */
export function probeFrameworkFor(spec: NormalizedSpec): ProbeFramework {
  const { framework, interface: iface } = spec.app;
  if (framework === 'cgi') return 'cgi';
  if (framework === 'django' && iface === 'asgi') return 'django-asgi';
  return framework;
}

export interface ProbeSubstitution {
  key: ProbeFramework;
  app: ProbeApp;
  /** Absolute directory the probe app was copied to (becomes app.root). */
  root: string;
  /** File every request appends a byte to ($STACKGEN_PROBE_COUNTER). */
  counterFile: string;
}

/** Settings module per probe app, where the framework reads one from the environment. */
const SETTINGS_ENV: Partial<Record<ProbeFramework, Record<string, string>>> = {
  django: { DJANGO_SETTINGS_MODULE: 'probe_django.settings' },
  'django-asgi': { DJANGO_SETTINGS_MODULE: 'probe_django.settings_asgi' },
};

/** Static directory names inside the probe app's root, one per URL prefix of the spec. */
export function probeStaticDirs(spec: NormalizedSpec): Record<string, StaticTarget> {
  return Object.fromEntries(
    Object.entries(spec.app.static).map(([url, target], i) => [url, withStaticDir(target, `static-${i}`)]),
  );
}

/** What changes in the spec's `app` block when the probe app stands in. Pure. */
export function probeAppChanges(
  spec: NormalizedSpec,
  sub: ProbeSubstitution,
): Pick<NormalizedSpec['app'], 'root' | 'entry' | 'static' | 'env'> {
  return {
    root: sub.root,
    entry: sub.app.entry,
    static: probeStaticDirs(spec),
    env: {
      ...spec.app.env,
      ...SETTINGS_ENV[sub.key],
      [PROBE_COUNTER_ENV]: sub.counterFile,
      ...(spec.app.writable.length > 0
        ? {
            [PROBE_WRITABLE_ENV]: spec.app.writable
              .map((d) => (isAbsolute(d) ? d : join(sub.root, d)))
              .join(':'),
          }
        : {}),
    },
  };
}

/** The spec with the probe app in place of the user's app. */
export function substituteProbeApp(spec: NormalizedSpec, sub: ProbeSubstitution): NormalizedSpec {
  return {
    ...spec,
    app: { ...spec.app, ...probeAppChanges(spec, sub) },
    // The workers import the probe app's Celery app. A probe app without one (bottle, FastAPI…)
    // cannot stand in for the user's tasks: the stack runs without them (no task path to prove).
    tasks: spec.tasks && sub.app.tasks ? { ...spec.tasks, app: sub.app.tasks } : undefined,
    // The user's checks describe the user's app; they run in the user-app pass.
    checks: [],
  };
}
