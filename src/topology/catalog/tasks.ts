// Background work as data: the Celery worker, Celery beat and the stack's own Redis broker —
// their processes, stop signals, programs and command lines. Signals from Celery's
// "Workers Guide: Stopping the worker" (TERM = warm shutdown: finish the running tasks, then
// exit; QUIT = cold shutdown: running tasks are lost) and Redis's "Signal handling" (TERM =
// save if persistence is on, then exit).

import type { ProcessEntry, ProgramRequirement, PythonRequirement } from './types.js';

/** The processes of `tasks:`, by component id. */
export type TaskComponentId = 'broker' | 'worker' | 'beat';

export interface TaskProcessEntry extends ProcessEntry {
  title: string;
  /**
   * supervisor sends the stop signal to the whole process group (stopasgroup). false for
   * Celery's worker: its prefork children reset SIGTERM to the default action (celery
   * concurrency/prefork.py WORKER_SIGRESET), so a TERM to the group kills every running task;
   * the main process alone must get it, and stops its children once their tasks finish.
   */
  stopAsGroup: boolean;
  /** Why it is stopped that way under supervisor (written into the program). */
  stopAsGroupWhy: string;
}

/** The Celery worker's component id (its unit: `<stack>-worker`). */
export const TASK_WORKER: TaskComponentId = 'worker';

/** Margin after tasks.time_limit before a stop turns into SIGKILL: the worker's own shutdown. */
export const TASK_STOP_MARGIN_SECONDS = 15;

export const TASK_PROCESSES: Record<TaskComponentId, TaskProcessEntry> = {
  broker: {
    title: 'Redis (broker)',
    stop: {
      signal: 'SIGTERM',
      why: 'Redis on SIGTERM writes its append-only file to disk and exits; SIGKILL could lose the queued tasks of the last second',
    },
    reload: null,
    systemdType: 'exec',
    stopGraceSeconds: 30,
    managed: true,
    stopAsGroup: true,
    stopAsGroupWhy: 'Redis is one process: the group is the process',
    why: "the stack's own broker: Redis on a unix socket only the app's account can open (no TCP port), so no other local user can read or inject tasks",
  },
  worker: {
    title: 'Celery worker',
    stop: {
      signal: 'SIGTERM',
      why: "Celery's warm shutdown: the worker takes no new task, lets the running ones finish and exits (SIGQUIT or SIGKILL would be a cold shutdown: every running task lost)",
    },
    // New code is a restart: a warm shutdown (running tasks finish), then a new worker.
    reload: null,
    systemdType: 'exec',
    // Replaced by tasks.time_limit + TASK_STOP_MARGIN_SECONDS (resolve.ts).
    stopGraceSeconds: 0,
    managed: true,
    stopAsGroup: false,
    stopAsGroupWhy:
      "TERM to the main process only (stopasgroup=false): Celery's prefork children reset SIGTERM to its default, so a TERM to the whole group would kill every running task instead of the warm shutdown; killasgroup still reaches them after stopwaitsecs",
    why: 'runs the tasks the web app sends, outside any request: a slow or failing task never holds a web worker',
  },
  beat: {
    title: 'Celery beat',
    stop: {
      signal: 'SIGTERM',
      why: 'Celery beat saves its schedule file and exits on SIGTERM',
    },
    reload: null,
    systemdType: 'exec',
    stopGraceSeconds: 10,
    managed: true,
    stopAsGroup: true,
    stopAsGroupWhy: 'beat is one process: the group is the process',
    why: 'sends the periodic tasks at their times; exactly one runs (two beats would send each periodic task twice)',
  },
};

/** Programs and modules `tasks:` needs (doctor, CI, the README's packages). */
export const TASK_PROGRAMS: { broker: ProgramRequirement } = {
  broker: {
    program: 'redis-server',
    package: 'redis-server',
    versionArgs: ['--version'],
    minVersion: '6.0.0',
    why: 'unixsocketperm and appendonly as used in the generated redis.conf',
  },
};

export const TASK_PYTHON_MODULES: { celery: PythonRequirement; redis: PythonRequirement } = {
  celery: { module: 'celery', package: 'python3-celery' },
  // kombu's and the result backend's Redis transport.
  redis: { module: 'redis', package: 'python3-redis' },
};

/** Debian's own redis-server.service: not used (the stack runs its own), masked on the machine target. */
export const DISTRO_REDIS_SERVICE = 'redis-server.service';

/** The broker's socket file in its runtime directory. */
export const BROKER_SOCKET = 'redis.sock';
/** Celery beat's schedule (shelve) file in its state directory. */
export const BEAT_SCHEDULE_FILE = 'celerybeat-schedule';

/** Soft limit 10% before the hard one (at least 1 s): the task may catch SoftTimeLimitExceeded and clean up. */
export function softTimeLimit(timeLimit: number): number {
  return Math.max(1, Math.floor(timeLimit * 0.9));
}
