// app-env: the variables of app.env reach the processes that run the app — whoever starts
// them: the process manager (app servers), fcgiwrap (nginx's CGI), or the gateway itself,
// which spawns a CGI script per request and gives it only what its config's `env:` lists.
// The probe pass puts STACKGEN_PROBE_COUNTER into app.env; the probe app answers
// /__probe/count with a number when it sees the variable and with null when it does not.

import { type CountResponse, PROBE_COUNTER_ENV, probePaths } from './contract.js';
import { httpRequest, jsonOf } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

interface Observed {
  status: number;
  count: number | null | undefined;
}

export const appEnvProbe: ProbeDefinition<Observed> = {
  id: 'app-env',
  title: "app.env reaches the app's processes",
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  expect: () => `the app sees ${PROBE_COUNTER_ENV} from app.env: /__probe/count answers a number`,
  async observe(ctx) {
    const answer = await httpRequest(ctx.front, probePaths.count(), { signal: ctx.signal, timeoutMs: 5000 });
    return { status: answer.status, count: jsonOf<CountResponse>(answer)?.count };
  },
  judge({ status, count }) {
    if (status !== 200 || count === undefined) return fail(`/__probe/count answered ${status}`);
    if (count === null)
      return fail(
        `the app does not see ${PROBE_COUNTER_ENV} (app.env): /__probe/count answered {"count": null}`,
      );
    return pass(`${PROBE_COUNTER_ENV} seen: ${count} request(s) counted so far`);
  },
};
