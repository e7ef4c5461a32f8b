// What a correct stack of this shape does, so probes judge against the model and not
// against hopes: how many slow requests run at once (the concurrency model, from the
// topology's worker and thread counts), and the documented gaps of some servers. A gap is
// data here — with the reason — never an `if` inside a probe.

import type { Plan } from '../render/plan.js';
import { type Gap, KNOWN_GAPS } from '../topology/catalog/gaps.js';
import { buffersAppResponses } from '../topology/catalog/interfaces.js';
import { SERVERS } from '../topology/catalog/servers.js';
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
  /**
   * The front buffers the app's responses on `/` (nginx before a sync WSGI or CGI app): a
   * stream there needs the app's own opt-out (X-Accel-Buffering: no). Paths listed in
   * proxy.unbuffered, ASGI and tornado apps, the gateway and no proxy never buffer.
   */
  frontBuffersApp: boolean;
  /** The app receives a chunked (Content-Length-less) upload. */
  readsChunkedBody: boolean;
  /** The front answers a chunked upload with this status itself (a documented gap), if it does. */
  chunkedRefusal: number | null;
  /** A stop lets the requests in flight finish. */
  stopsGracefully: boolean;
  concurrency: ConcurrencyModel;
  /** The gaps that apply, in words, for the report. */
  notes: string[];
  /** Probes (by id) the app server's interface cannot answer, with why (catalog notApplicable). */
  notApplicable: Readonly<Record<string, string>>;
}

function gapsFor(plan: Plan, probeApp: ProbeFramework | null): Gap[] {
  const facts: Record<string, string | undefined> = {
    server: plan.spec.serve.server,
    interface: plan.spec.app.interface,
    proxy: plan.spec.proxy.kind,
    protocol: plan.spec.proxy.protocol,
    bridge: plan.topology.components.find((c) => c.role === 'cgi-bridge')?.program,
    probeApp: probeApp ?? undefined,
  };
  return KNOWN_GAPS.filter((g) => Object.entries(g.when).every(([k, v]) => facts[k] === v));
}

/** The concurrency model of the plan's app server (or CGI bridge). */
export function concurrencyModel(plan: Plan, serial: boolean): ConcurrencyModel {
  const app = plan.appServer;
  if (!app) {
    // CGI: a process per request. fcgiwrap's -c pre-forks a fixed pool; the gateway spawns freely.
    const bridge = plan.topology.components.find((c) => c.role === 'cgi-bridge');
    const fcgiwrap = bridge ? plan.launches.find((l) => l.component === bridge.id) : undefined;
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
    frontBuffersApp: buffersAppResponses(plan.spec) && !plan.spec.proxy.unbuffered.includes('/'),
    readsChunkedBody: !gaps.some((g) => g.dropsChunkedBody),
    chunkedRefusal: gaps.find((g) => g.refusesChunkedBody !== undefined)?.refusesChunkedBody ?? null,
    stopsGracefully: !gaps.some((g) => g.abortsOnStop),
    concurrency: concurrencyModel(
      plan,
      gaps.some((g) => g.serial),
    ),
    notes: gaps.map((g) => g.why),
    notApplicable: Object.fromEntries(
      Object.entries(SERVERS[plan.spec.serve.server].notApplicable ?? {}).map(([id, why]) => [
        id,
        `does not apply to ${SERVERS[plan.spec.serve.server].title}: ${why}`,
      ]),
    ),
  };
}
