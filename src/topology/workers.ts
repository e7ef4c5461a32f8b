// Worker sizing for `auto`, one stated rule per concurrency model. The reason string is
// written next to the number in the generated config, so an operator can redo the sum.

import type { NormalizedSpec } from '../stack/normalize.js';
import { SERVERS } from './catalog/servers.js';
import type { Sizing } from './types.js';

/** Threads per worker when `threads: auto`: enough to overlap I/O without GIL thrash. */
export const AUTO_THREADS = 4;

/** Decide process and thread counts for the app server. Pure. */
export function sizeWorkers(
  spec: NormalizedSpec,
  cores: number,
): { workers: Sizing; threads: Sizing | null } {
  const { concurrency, server } = spec.serve;
  const model = SERVERS[server].processModel;
  const threads = concurrency === 'threads' ? sizeThreads(spec) : null;

  if (model === 'single-process' || model === 'process-per-request') {
    const why =
      model === 'single-process'
        ? `${SERVERS[server].title} runs a single process`
        : 'a CGI process per request';
    return { workers: { count: 1, reason: why }, threads };
  }
  if (spec.serve.workers !== 'auto') {
    return { workers: { count: spec.serve.workers, reason: 'set in stack.yaml (serve.workers)' }, threads };
  }
  switch (concurrency) {
    case 'prefork':
      // gunicorn's design notes: (2 × cores) + 1 — while one worker waits on I/O another runs.
      return {
        workers: { count: 2 * cores + 1, reason: `prefork: 2 × cores + 1 = 2 × ${cores} + 1` },
        threads,
      };
    case 'threads':
      // One process per core; threads inside it overlap I/O (the GIL serialises Python code).
      return { workers: { count: cores, reason: `threads: one process per core (${cores} cores)` }, threads };
    case 'gevent':
    case 'async':
      // An event loop saturates a core on its own: more processes than cores only adds switching.
      return {
        workers: { count: cores, reason: `${concurrency}: one event loop per core (${cores} cores)` },
        threads,
      };
    default:
      return { workers: { count: 1, reason: 'one process' }, threads };
  }
}

function sizeThreads(spec: NormalizedSpec): Sizing {
  if (spec.serve.threads !== 'auto')
    return { count: spec.serve.threads, reason: 'set in stack.yaml (serve.threads)' };
  return {
    count: AUTO_THREADS,
    reason: `threads: ${AUTO_THREADS} per process (overlaps I/O waits; the GIL limits more)`,
  };
}
