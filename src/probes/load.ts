// Clients that keep sending requests while a probe changes something under them — a
// certificate renewal and the front's reload — and the tally: answered, failed (a 5xx, an
// answer the caller refuses, or no answer at all) and the first few failures, to name them.

import { httpRequest, type HttpAnswer, type Target } from './http.js';
import type { ProbeContext } from './types.js';

export interface LoadTally {
  ok: number;
  failed: number;
  samples: string[];
}

export interface LoadOptions {
  clients: number;
  path: string;
  timeoutMs: number;
  target: Target;
  /** An answer below 500 that still counts as failed (e.g. the probe app's JSON missing). */
  refuses?: (answer: HttpAnswer) => boolean;
}

const SAMPLES = 3;

/** Starts `clients` loops at once; `stop()` ends them after their current request and gives the tally. */
export function startLoad(ctx: ProbeContext, opts: LoadOptions): { stop: () => Promise<LoadTally> } {
  const tally: LoadTally = { ok: 0, failed: 0, samples: [] };
  const failed = (why: string) => {
    tally.failed++;
    if (tally.samples.length < SAMPLES) tally.samples.push(why);
  };
  let running = true;
  const client = async () => {
    while (running && !ctx.signal.aborted) {
      try {
        const answer = await httpRequest(opts.target, opts.path, {
          signal: ctx.signal,
          timeoutMs: opts.timeoutMs,
        });
        if (answer.status >= 500 || opts.refuses?.(answer)) failed(String(answer.status));
        else tally.ok++;
      } catch (err) {
        failed((err as Error).message);
      }
    }
  };
  const clients = Array.from({ length: opts.clients }, client);
  return {
    stop: async () => {
      running = false;
      await Promise.all(clients);
      return tally;
    },
  };
}
