// graceful stop: a request in flight when the app server is stopped (`systemctl stop`,
// `supervisorctl stop`) still completes — the stop signal must mean "finish, then exit",
// not "die now" (uWSGI's SIGTERM without die-on-term reloads; SIGQUIT kills). The app
// server is started again after, for the probes that follow.

import { probePaths } from '../contract.js';
import { httpRequest } from '../http.js';
import { fail, pass, type ProbeDefinition } from '../types.js';
import { sleep } from '../../runtime/process.js';

/** A stop during a 3 s request answers 200. */
const SLOW_MS = 3000;
/** Stop once the request is surely inside the app. */
const STOP_AFTER_MS = 500;

interface Observed {
  /** What the stack and its proxy logged meanwhile, for a failure. */
  logs: string[];
  status: number | null;
  error: string | null;
  requestMs: number;
  stopMs: number;
  stop: string;
  restart: string | null;
}

export const gracefulStopProbe: ProbeDefinition<Observed> = {
  id: 'graceful-stop',
  title: 'a request in flight when the app server is stopped completes',
  phase: 'destructive',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip: (ctx) =>
    ctx.host?.manager === 'none'
      ? 'no process manager to stop it through'
      : !ctx.host?.appControl.length
        ? 'no app server process to stop (CGI: a process per request)'
        : null,
  expect: (ctx) =>
    ctx.behaviour.stopsGracefully
      ? `the ${SLOW_MS} ms request answers 200 while the stop waits for it`
      : 'the request is cut off (documented: this server has no graceful stop)',
  async observe(ctx) {
    const host = ctx.host!;
    const t0 = performance.now();
    // When the answer came, not when the stop returned: a server may answer on time and still
    // take longer to exit (gunicorn's gevent worker waits out idle keep-alive connections).
    const ended = () => Math.round(performance.now() - t0);
    const inFlight = httpRequest(ctx.front, probePaths.slow(SLOW_MS), {
      signal: ctx.signal,
      timeoutMs: 30_000,
    }).then(
      (a) => ({ status: a.status as number | null, error: null as string | null, requestMs: ended() }),
      (err: Error) => ({ status: null, error: err.message, requestMs: ended() }),
    );
    await sleep(STOP_AFTER_MS);
    const argv =
      host.manager === 'supervisor'
        ? ['supervisorctl', 'stop', ...host.appControl]
        : ['systemctl', 'stop', ...host.appControl];
    const s0 = performance.now();
    const stopped = await host.run(argv, 60_000);
    const stopMs = Math.round(performance.now() - s0);
    const { requestMs, ...answer } = await inFlight;
    const logs = answer.status === 200 ? [] : await host.logTail();
    const restart = await ctx.restartBackend();
    return {
      ...answer,
      logs,
      requestMs,
      stopMs,
      stop: `${argv.join(' ')}${stopped.code === 0 ? '' : ` failed: ${stopped.output}`}`,
      restart,
    };
  },
  judge(o, ctx) {
    if (o.restart !== null) return fail(`the app server did not start again: ${o.restart}`);
    const facts = `${o.stop} took ${o.stopMs} ms; the request ended after ${o.requestMs} ms`;
    const answer = o.status === null ? `no answer (${o.error})` : String(o.status);
    if (!ctx.behaviour.stopsGracefully)
      return o.status === 200
        ? fail(`200: the documented gap is gone — update KNOWN_GAPS (${facts})`)
        : pass(`${answer}, as documented: ${facts}`);
    if (o.status !== 200)
      return fail(`${answer}: ${facts}${o.logs.length ? ` — logs: ${o.logs.join(' | ')}` : ''}`);
    return pass(`200: ${facts}`);
  },
};
