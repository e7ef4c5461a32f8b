// The probe app's request counter (/__probe/count): how probes prove a request did NOT
// reach the app (static files, 413 from the proxy).

import { type CountResponse, probePaths } from './contract.js';
import { httpRequest, jsonOf } from './http.js';
import type { ProbeContext } from './types.js';

/** Requests the app has served so far, or null when it cannot count (app.env did not reach it: app-env fails). */
export async function readCounter(ctx: ProbeContext): Promise<number | null> {
  if (!ctx.probe) return null;
  const answer = await httpRequest(ctx.front, probePaths.count(), { signal: ctx.signal, timeoutMs: 5000 });
  return answer.status === 200 ? (jsonOf<CountResponse>(answer)?.count ?? null) : null;
}
