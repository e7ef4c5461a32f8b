// What a correct stack of this shape does, so probes judge against the model and not
// against hopes: how many slow requests run at once (the concurrency model, from the
// topology's worker and thread counts), and the documented gaps of some servers. A gap is
// data here — with the reason — never an `if` inside a probe.

import type { Plan } from '../render/plan.js';
import type { ProbeFramework } from './contract.js';

/** The concurrency a stack promises, in requests that run at once. */
export interface ConcurrencyModel {
  /** Requests served at the same moment (Infinity: an event loop or greenlets). */
  slots: number;
  /** Worker processes that can answer (distinct pids to expect); null when unbounded (CGI). */
  processes: number | null;
  /** Exactly `processes` distinct pids must answer N > slots − 1 requests (blocking workers). */
  allProcessesBusy: boolean;
  /** How the numbers were derived, for the report. */
  why: string;
}

export interface StackBehaviour {
  /** The response body reaches the client while the app is still producing it. */
  streams: boolean;
  /** The app receives a chunked (Content-Length-less) upload. */
  readsChunkedBody: boolean;
  /** A stop lets the requests in flight finish. */
  stopsGracefully: boolean;
  concurrency: ConcurrencyModel;
  /** The gaps that apply, in words, for the report. */
  notes: string[];
}

interface Gap {
  when: {
    server?: string;
    interface?: string;
    proxy?: string;
    /** The program between proxy and CGI script (fcgiwrap). */
    bridge?: string;
    probeApp?: ProbeFramework;
  };
  buffersStream?: boolean;
  dropsChunkedBody?: boolean;
  /** One request at a time per process. */
  serial?: boolean;
  /** A stop ends the requests in flight (no graceful stop exists for this server). */
  abortsOnStop?: boolean;
  why: string;
}

/** Documented limits of servers and frameworks (see test/integration/probe-apps.test.ts). */
export const KNOWN_GAPS: Gap[] = [
  {
    when: { bridge: 'fcgiwrap' },
    abortsOnStop: true,
    why: 'fcgiwrap has no graceful stop: its main process exits on SIGTERM and the CGI scripts still running are killed with it (the client gets a 502)',
  },
  {
    when: { bridge: 'fcgiwrap' },
    buffersStream: true,
    why: "fcgiwrap passes a CGI script's output through libfcgi's 8 KiB stream buffer and flushes it only when full or at exit (gnosek/fcgiwrap#36): a slow stream arrives in one piece",
  },
  {
    when: { server: 'tornado', interface: 'wsgi' },
    buffersStream: true,
    serial: true,
    why: "tornado's WSGIContainer runs the WSGI app on the IOLoop thread: one request at a time per process, and the whole response buffered",
  },
  {
    when: { server: 'tornado', interface: 'wsgi', proxy: 'none' },
    dropsChunkedBody: true,
    why: "tornado's WSGIContainer passes no body for a chunked upload (behind nginx the proxy de-chunks it)",
  },
  {
    when: { server: 'gunicorn', proxy: 'none', probeApp: 'django' },
    dropsChunkedBody: true,
    why: "Django 3.2's request.body reads CONTENT_LENGTH bytes only, and gunicorn facing clients passes none for a chunked upload (behind a proxy the proxy de-chunks it and sends the length)",
  },
  {
    when: { server: 'gunicorn', proxy: 'none', probeApp: 'bottle' },
    dropsChunkedBody: true,
    why: 'gunicorn facing clients de-chunks an upload but keeps HTTP_TRANSFER_ENCODING, and Bottle 0.12 de-chunks it again: 400 (behind a proxy the proxy sends the length alone)',
  },
  {
    when: { server: 'uwsgi', proxy: 'none' },
    dropsChunkedBody: true,
    why: 'uWSGI facing clients directly passes no CONTENT_LENGTH for a chunked upload (behind a proxy the proxy de-chunks it)',
  },
];

function gapsFor(plan: Plan, probeApp: ProbeFramework | null): Gap[] {
  const facts: Record<string, string | undefined> = {
    server: plan.spec.serve.server,
    interface: plan.spec.app.interface,
    proxy: plan.spec.proxy.kind,
    bridge: plan.launches.find((l) => l.component === 'fcgiwrap') ? 'fcgiwrap' : undefined,
    probeApp: probeApp ?? undefined,
  };
  return KNOWN_GAPS.filter((g) => Object.entries(g.when).every(([k, v]) => facts[k] === v));
}

/** The concurrency model of the plan's app server (or CGI bridge). */
export function concurrencyModel(plan: Plan, serial: boolean): ConcurrencyModel {
  const app = plan.appServer;
  if (!app) {
    // CGI: a process per request. fcgiwrap's -c pre-forks a fixed pool; the gateway spawns freely.
    const fcgiwrap = plan.launches.find((l) => l.component === 'fcgiwrap');
    const pool = fcgiwrap ? Number(fcgiwrap.argv[fcgiwrap.argv.indexOf('-c') + 1]) : Number.NaN;
    return Number.isFinite(pool)
      ? {
          slots: pool,
          processes: null,
          allProcessesBusy: false,
          why: `fcgiwrap -c ${pool}: ${pool} scripts at once`,
        }
      : {
          slots: Number.POSITIVE_INFINITY,
          processes: null,
          allProcessesBusy: false,
          why: 'CGI: a new process per request',
        };
  }
  const { perPort } = app;
  const processes = perPort ? app.instances : app.workers.count;
  if (serial)
    return {
      slots: processes,
      processes,
      allProcessesBusy: true,
      why: `${processes} processes × 1 request (serial)`,
    };
  switch (app.concurrency) {
    case 'prefork':
      return { slots: processes, processes, allProcessesBusy: true, why: `prefork: ${app.workers.reason}` };
    case 'threads': {
      const threads = app.threads?.count ?? 1;
      return {
        slots: processes * threads,
        processes,
        allProcessesBusy: false,
        why: `threads: ${processes} × ${threads} threads`,
      };
    }
    default:
      return {
        slots: Number.POSITIVE_INFINITY,
        processes,
        // nginx round-robins over per-port processes: every one gets a request.
        allProcessesBusy: perPort,
        why: `${app.concurrency}: ${processes} process${processes === 1 ? '' : 'es'}, each an event loop`,
      };
  }
}

/** The behaviour to expect from this plan (with the probe app, if any). */
export function stackBehaviour(plan: Plan, probeApp: ProbeFramework | null): StackBehaviour {
  const gaps = gapsFor(plan, probeApp);
  return {
    streams: !gaps.some((g) => g.buffersStream),
    readsChunkedBody: !gaps.some((g) => g.dropsChunkedBody),
    stopsGracefully: !gaps.some((g) => g.abortsOnStop),
    concurrency: concurrencyModel(
      plan,
      gaps.some((g) => g.serial),
    ),
    notes: gaps.map((g) => g.why),
  };
}
