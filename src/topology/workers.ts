// Worker sizing for `auto`, one stated rule per concurrency model. The reason string is
// written next to the number in the generated config, so an operator can redo the sum.

import type { NormalizedSpec } from '../stack/normalize.js';
import { SERVERS } from './catalog/servers.js';
import type { Sizing } from './types.js';

/** Threads per worker when `threads: auto`: enough to overlap I/O without GIL thrash. */
export const AUTO_THREADS = 4;

/**
 * Decide process and thread counts for the app server. Pure. `auto` is a rule over cores:
 * a server that counts its cores when it starts (catalog countsCores) gets the rule itself
 * (`perCore`), unless the cores were pinned (--cores); any other gets the number for `cores`,
 * and its reason says the number was fixed at render.
 */
export function sizeWorkers(
  spec: NormalizedSpec,
  cores: number,
  coresPinned = false,
): { workers: Sizing; threads: Sizing | null } {
  const { concurrency, server } = spec.serve;
  const entry = SERVERS[server];
  const model = entry.processModel;
  const threads = concurrency === 'threads' ? sizeThreads(spec) : null;

  if (model === 'single-process' || model === 'process-per-request') {
    const why =
      model === 'single-process' ? `${entry.title} runs a single process` : 'a CGI process per request';
    return { workers: { count: 1, reason: why, perCore: null }, threads };
  }
  if (spec.serve.workers !== 'auto') {
    return {
      workers: { count: spec.serve.workers, reason: 'set in stack.yaml (serve.workers)', perCore: null },
      threads,
    };
  }
  const rule = AUTO_RULES[concurrency];
  if (!rule) return { workers: { count: 1, reason: 'one process', perCore: null }, threads };
  const count = rule.factor * cores + rule.plus;
  const onServer = entry.countsCores !== null && !coresPinned;
  const where = onServer
    ? `${rule.why}, ${entry.countsCores!.how}; \`stackgen render --cores N\` writes a fixed number instead`
    : coresPinned
      ? `${rule.why}, for ${cores} cores (pinned by --cores)`
      : `${rule.why}, fixed at render for ${cores} cores (${entry.title} cannot count them itself; --cores sets them)`;
  return {
    workers: {
      count,
      reason: where,
      perCore: onServer ? { factor: rule.factor, plus: rule.plus } : null,
    },
    threads,
  };
}

/** `auto` workers per concurrency model: factor × cores + plus, and why. */
const AUTO_RULES: Partial<Record<string, { factor: number; plus: number; why: string }>> = {
  // gunicorn's design notes: (2 × cores) + 1 — while one worker waits on I/O another runs.
  prefork: { factor: 2, plus: 1, why: 'prefork: 2 × cores + 1' },
  // One process per core; threads inside it overlap I/O (the GIL serialises Python code).
  threads: { factor: 1, plus: 0, why: 'threads: one process per core' },
  // An event loop saturates a core on its own: more processes than cores only adds switching.
  gevent: { factor: 1, plus: 0, why: 'gevent: one event loop per core' },
  async: { factor: 1, plus: 0, why: 'async: one event loop per core' },
};

function sizeThreads(spec: NormalizedSpec): Sizing {
  if (spec.serve.threads !== 'auto')
    return { count: spec.serve.threads, reason: 'set in stack.yaml (serve.threads)', perCore: null };
  return {
    count: AUTO_THREADS,
    reason: `threads: ${AUTO_THREADS} per process (overlaps I/O waits; the GIL limits more)`,
    perCore: null,
  };
}
