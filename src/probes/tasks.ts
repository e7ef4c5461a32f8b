// tasks: a Celery task sent by the web app THROUGH THE FRONT runs on a worker and its result
// comes back (task-roundtrip); and a worker stopped as its manager stops it (systemctl stop,
// supervisorctl stop, verify's launcher) with a task in flight lets the task finish and its
// result arrive before it exits — Celery's warm shutdown on SIGTERM (task-warm-stop). A
// SIGQUIT or SIGKILL stop (cold shutdown), or a TERM sent to the whole process group (the
// prefork children die with their tasks), loses the task: the web app answers 504.

import { sleep } from '../runtime/process.js';
import { randomUUID } from 'node:crypto';
import { probePaths, type TaskResponse, type TaskStateResponse } from './contract.js';
import { httpRequest, jsonOf } from './http.js';
import { fail, pass, type ProbeContext, type ProbeDefinition } from './types.js';

/** The round trip's task: short, so the probe measures the path, not the task. */
const QUICK_MS = 50;
/** The task in flight while the worker stops. */
const SLOW_MS = 3000;
/** Stop once the task has run this long in a pool process (its state STARTED). */
const STOP_AFTER_MS = 500;
/** How long the task may take to start (a web worker still booting, a worker reconnecting). */
const START_DEADLINE_MS = 20_000;

const noTaskEndpoint = (ctx: ProbeContext) =>
  ctx.probe && !ctx.probe.app.tasks
    ? `the ${ctx.probe.key} probe app has no /__probe/task (Flask and Django have one)`
    : null;

interface Answer {
  status: number | null;
  body: TaskResponse | { error: string } | null;
  error: string | null;
  ms: number;
}

async function sendTask(ctx: ProbeContext, ms: number, t0: number, id?: string): Promise<Answer> {
  try {
    const a = await httpRequest(ctx.front, probePaths.task(ms, id), {
      signal: ctx.signal,
      timeoutMs: 60_000,
    });
    return {
      status: a.status,
      body: jsonOf<TaskResponse | { error: string }>(a),
      error: null,
      ms: Math.round(performance.now() - t0),
    };
  } catch (err) {
    return {
      status: null,
      body: null,
      error: (err as Error).message,
      ms: Math.round(performance.now() - t0),
    };
  }
}

/** Wait until the task is STARTED in a worker; null, or why it never was. */
async function untilStarted(ctx: ProbeContext, id: string): Promise<string | null> {
  const deadline = performance.now() + START_DEADLINE_MS;
  let last = 'no answer';
  while (performance.now() < deadline && !ctx.signal.aborted) {
    try {
      const a = await httpRequest(ctx.front, probePaths.taskState(id), {
        signal: ctx.signal,
        timeoutMs: 5000,
      });
      const state = jsonOf<TaskStateResponse>(a)?.state;
      last = state ?? `${a.status}`;
      if (state === 'STARTED') return null;
      if (state === 'SUCCESS' || state === 'FAILURE')
        return `the task was ${state} before it could be caught running`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(50);
  }
  return `the task was not STARTED within ${START_DEADLINE_MS} ms (last: ${last})`;
}

/** What a 200 must carry: the task's result, computed in another process than the web one. */
function resultProblem(a: Answer, ms: number): string | null {
  if (a.status === null) return `no answer (${a.error})`;
  const body = a.body;
  if (a.status !== 200 || !body || !('result' in body))
    return `${a.status}${body && 'error' in body ? `: ${body.error}` : ''}`;
  if (body.result.ms !== ms) return `200, but the result is for ${body.result.ms} ms, not ${ms}`;
  if (body.result.pid === body.web_pid)
    return `200, but the task ran in the web process (pid ${body.web_pid}), not a worker`;
  return null;
}

export const taskRoundtripProbe: ProbeDefinition<Answer> = {
  id: 'task-roundtrip',
  title: 'a task sent by the web app through the front runs on a worker; its result comes back',
  phase: 'parallel',
  kinds: ['task'],
  needsProbeApp: true,
  after: ['app/reach'],
  skip: noTaskEndpoint,
  expect: () =>
    `GET ${probePaths.task(QUICK_MS)} → 200 with the ${QUICK_MS} ms task's result, computed in a worker process (another pid than the web process)`,
  observe: (ctx) => sendTask(ctx, QUICK_MS, performance.now()),
  judge(a) {
    const problem = resultProblem(a, QUICK_MS);
    if (problem) return fail(problem);
    const body = a.body as TaskResponse;
    return pass(
      `200 in ${a.ms} ms: task ${body.task_id.slice(0, 8)} ran in worker pid ${body.result.pid} (web pid ${body.web_pid}), result back after ${body.waited_ms} ms`,
    );
  },
};

interface StopObserved {
  /** Why the task was never seen running (then nothing was stopped). */
  notStarted: string | null;
  stopWhy: string | null;
  answer: Answer;
  /** From the request's start: when the stop was asked, and when it returned (the worker gone). */
  stopAtMs: number;
  stoppedAtMs: number;
  restart: string | null;
}

export const taskWarmStopProbe: ProbeDefinition<StopObserved> = {
  id: 'task-warm-stop',
  title: 'a worker stopped mid-task finishes the task, and its result arrives, before it exits',
  phase: 'destructive',
  kinds: ['task'],
  needsProbeApp: true,
  // Not task-roundtrip: on the machine target this runs after the reboot, without it; its own
  // judge tells a lost task from a path that never worked.
  after: ['app/reach'],
  skip: noTaskEndpoint,
  expect: () =>
    `a ${SLOW_MS} ms task running in a worker (STARTED) for ${STOP_AFTER_MS} ms when the worker is stopped: 200 with its result; the worker exits only after the task could finish`,
  async observe(ctx) {
    const id = randomUUID();
    const t0 = performance.now();
    const inFlight = sendTask(ctx, SLOW_MS, t0, id);
    const notStarted = await untilStarted(ctx, id);
    if (notStarted !== null) {
      const answer = await inFlight;
      return { notStarted, stopWhy: null, answer, stopAtMs: 0, stoppedAtMs: 0, restart: null };
    }
    await sleep(STOP_AFTER_MS);
    const stopAtMs = Math.round(performance.now() - t0);
    const stopWhy = await ctx.stopTaskWorker();
    const stoppedAtMs = Math.round(performance.now() - t0);
    const answer = await inFlight;
    return { notStarted, stopWhy, answer, stopAtMs, stoppedAtMs, restart: await ctx.startTaskWorker() };
  },
  judge(o) {
    if (o.notStarted !== null) return fail(o.notStarted);
    if (o.stopWhy !== null) return fail(`the worker could not be stopped: ${o.stopWhy}`);
    if (o.restart !== null) return fail(`the worker did not start again: ${o.restart}`);
    const facts = `stop asked at ${o.stopAtMs} ms, the worker gone at ${o.stoppedAtMs} ms, the answer at ${o.answer.ms} ms`;
    const problem = resultProblem(o.answer, SLOW_MS);
    if (problem) return fail(`${problem} — the task was lost (${facts})`);
    // The task started before the stop was asked, so it ends at least SLOW_MS - STOP_AFTER_MS
    // after it: a worker gone sooner did not wait for it.
    if (o.stoppedAtMs - o.stopAtMs < SLOW_MS - STOP_AFTER_MS - 100)
      return fail(`the worker exited before its task could have finished (${facts})`);
    // Celery stores the result before the pool process reports the task done, and the main
    // process exits only after that: the answer is there before the stop returns.
    if (o.answer.ms > o.stoppedAtMs)
      return fail(`the result arrived only after the worker exited (${facts})`);
    return pass(
      `200 with the ${SLOW_MS} ms task's result ${o.stoppedAtMs - o.answer.ms} ms before the worker exited: ${facts}`,
    );
  },
};
