// What `tasks:` writes and runs: the broker's redis.conf, the command lines of the Celery
// worker and beat, and the broker URL every process of the app is given. Data for
// render/artifacts.ts and render/plan.ts, as recipes.ts is for the app servers.

import type { Launch, Plan } from '../../render/plan.js';
import type { TaskComponent } from '../types.js';
import type { RecipeFile } from './recipes.js';
import { BEAT_SCHEDULE_FILE, softTimeLimit } from './tasks.js';

/** The broker's endpoint as bound on the plan's site (null: someone else's broker). */
function brokerSocket(plan: Plan): string | null {
  const broker = plan.topology.components.find((c) => c.role === 'broker');
  const ep = broker?.listen[0];
  if (ep?.kind !== 'unix') return null;
  return `${plan.site.runDir}${ep.runDirSuffix ?? ''}/${ep.file}`;
}

/**
 * The environment that points Celery at its broker and result backend: Celery reads
 * CELERY_BROKER_URL and CELERY_RESULT_BACKEND before its own config (celery/app/utils.py
 * Settings.broker_url), so the app needs no setting of its own. `env`: app.env_file holds them.
 */
export function brokerEnv(plan: Plan): Record<string, string> {
  const tasks = plan.spec.tasks;
  if (!tasks || tasks.broker === 'env') return {};
  const socket = brokerSocket(plan);
  // kombu's and Celery's Redis transport over a unix socket: redis+socket:///path.
  const url = socket ? `redis+socket://${socket}` : tasks.broker;
  const results = url.startsWith('redis') ? url : url.startsWith('amqp') ? 'rpc://' : null;
  return { CELERY_BROKER_URL: url, ...(results ? { CELERY_RESULT_BACKEND: results } : {}) };
}

/** The command line of a task component, as systemd, supervisor and verify run it. */
export function taskCommand(plan: Plan, c: TaskComponent): string[] {
  const tasks = plan.spec.tasks!;
  if (c.role === 'broker') return ['/usr/bin/redis-server', plan.files.redisConf];
  // `python -m celery`: Debian's python3-celery ships no `celery` script; the app's interpreter
  // (venv or Debian's) imports the app and its tasks.
  const celery = [plan.app.python, '-m', 'celery', '-A', tasks.app];
  if (c.role === 'task-beat')
    return [
      ...celery,
      'beat',
      '--loglevel',
      'INFO',
      // The schedule (when each periodic task last ran) survives a restart in the state directory.
      '--schedule',
      `${plan.site.stateDir}-${c.id}/${BEAT_SCHEDULE_FILE}`,
    ];
  return [
    ...celery,
    'worker',
    '--loglevel',
    'INFO',
    '--pool',
    'prefork',
    '--concurrency',
    String(c.workers!.count),
    '--time-limit',
    String(tasks.time_limit),
    '--soft-time-limit',
    String(softTimeLimit(tasks.time_limit)),
  ];
}

/** The broker's files: its redis.conf (only when the stack owns its broker). */
export const BROKER_FILES: readonly RecipeFile[] = [
  {
    file: 'redisConf',
    template: 'redis/redis.conf.hbs',
    what: "the stack's own Redis (the Celery broker): unix socket only, append-only file",
    view: (plan) => {
      const launch = plan.launches.find((l: Launch) => l.component === 'broker')!;
      return { socket: brokerSocket(plan), stateDir: launch.stateDir, user: launch.user };
    },
  },
];
