// The backends of one location: round robin over transports of one scheme, skipping a
// backend for a while after it failed to accept a connection (nginx max_fails=1,
// fail_timeout=10s). One pool per location per worker process.

import type { UpstreamLocation } from './config.js';
import { type Transport, targetName, type UpstreamTarget } from './transport.js';

/** How long a backend is skipped after a connect failure (nginx fail_timeout default). */
export const FAIL_TIMEOUT_MS = 10_000;

export interface Backend {
  readonly transport: Transport;
  /** `uwsgi://unix:/run/app.sock`, for logs. */
  readonly name: string;
  downUntil: number;
}

export interface UpstreamPool {
  readonly backends: readonly Backend[];
  /** Next live backend not in `tried` (round robin); when all are down, the one down longest. */
  pick(tried: ReadonlySet<Backend>, now: number): Backend | null;
  markDown(backend: Backend, now: number): void;
  close(): Promise<void>;
}

export function createUpstreamPool(
  location: UpstreamLocation,
  createTransport: (target: UpstreamTarget) => Transport,
): UpstreamPool {
  const backends: Backend[] = location.upstreams.map((target) => ({
    transport: createTransport(target),
    name: targetName(target),
    downUntil: 0,
  }));
  let next = 0;
  return {
    backends,
    pick(tried, now) {
      const n = backends.length;
      for (let i = 0; i < n; i++) {
        const b = backends[(next + i) % n] as Backend;
        if (b.downUntil <= now && !tried.has(b)) {
          next = (next + i + 1) % n;
          return b;
        }
      }
      // All down: like nginx with a single server (never marked down), still try the one
      // that has been down the longest rather than answering 502 without trying — for a retry
      // too (a rolling restart: the instance that just came back is still marked down while
      // the next one refuses).
      let best: Backend | null = null;
      for (const b of backends)
        if (!tried.has(b) && (best === null || b.downUntil < best.downUntil)) best = b;
      return best;
    },
    markDown(backend, now) {
      if (backends.length > 1) backend.downUntil = now + FAIL_TIMEOUT_MS;
    },
    async close() {
      await Promise.allSettled(backends.map((b) => b.transport.close()));
    },
  };
}
