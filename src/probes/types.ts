// What a probe is: an expectation, an observer that sends real traffic, and a judge that
// turns the observation into a result value (pass/fail/skip, expected, actual, duration).
// Probes never throw for a failing stack; a thrown error is reported as the observation.

import type { CodeUpdate } from '../install/deploy.js';
import type { Plan } from '../render/plan.js';
import type { Verdict, VerdictStatus } from '../report/verdict.js';
import type { StaticFixture } from '../runtime/sandbox.js';
import type { RequestPath } from '../topology/types.js';
import type { StackBehaviour } from './behaviour.js';
import type { Target } from './http.js';
import type { ProbeSubstitution } from './substitute.js';

export type ProbeStatus = VerdictStatus;

/** A probe's result value, as every report format prints it. */
export interface ProbeResult {
  /** `<path>/<probe>`, e.g. `app/roundtrip`. */
  key: string;
  path: string;
  probe: string;
  title: string;
  status: ProbeStatus;
  expected: string;
  actual: string;
  durationMs: number;
}

/** Everything a probe may look at or act on while the stack runs. */
export interface ProbeContext {
  plan: Plan;
  front: Target;
  path: RequestPath;
  probe: ProbeSubstitution | null;
  behaviour: StackBehaviour;
  staticFixtures: StaticFixture[];
  signal: AbortSignal;
  /** Stop the app server (the backend-down probe); resolves with why it cannot, or null. */
  stopBackend(): Promise<string | null>;
  /** Start it again as its manager would, ready to serve; resolves with why it did not, or null. */
  restartBackend(): Promise<string | null>;
  /**
   * Stop the Celery worker as its manager stops it, waiting for it to exit (its warm shutdown:
   * no early kill); resolves with why it cannot, or null.
   */
  stopTaskWorker(): Promise<string | null>;
  /** Start the worker again; resolves with why it did not, or null. */
  startTaskWorker(): Promise<string | null>;
  /** The stack as `stackgen install` put it on a real host (the machine target); null in the sandbox. */
  host: InstalledHost | null;
}

/** A stack installed on this host, started by its real process manager. */
export interface InstalledHost {
  manager: 'systemd' | 'supervisor' | 'none';
  /** Running units of the app server (or fcgiwrap): each instance of a template. */
  appUnits: string[];
  /** What to stop and start for the app server: its target or service, or supervisor programs. */
  appControl: string[];
  /** What `systemctl enable` started (the target of per-port instances, plain services). */
  startUnits: string[];
  /** The distribution's proxy service (nginx), when the stack sits behind it. */
  proxyService: string | null;
  /** How new app code goes live (a reload, a rolling restart, a restart), as the deploy README says. */
  codeUpdate: CodeUpdate;
  /** Run a command on the host; resolves with its exit code and output. */
  run(argv: string[], timeoutMs?: number): Promise<{ code: number | null; output: string }>;
  /** The last lines the stack's processes and its proxy logged (for a failure's explanation). */
  logTail(lines?: number): Promise<string[]>;
}

/**
 * When a probe runs: `gate` probes first (the others depend on them); `parallel` probes share the stack; `serial` ones read the request
 * counter and must run alone; `exclusive` measure time and run alone; `destructive`
 * probes stop a component and run last.
 */
export type ProbePhase = 'gate' | 'parallel' | 'serial' | 'exclusive' | 'destructive';

export interface ProbeDefinition<T = unknown> {
  id: string;
  title: string;
  phase: ProbePhase;
  /** Which request paths it proves. */
  kinds: Array<RequestPath['kind']>;
  /** Needs the probe app's JSON contract (--probe-app). */
  needsProbeApp: boolean;
  /** Keys (`<path kind>/<probe id>`) of probes that must pass first; else this one is skipped. */
  after: string[];
  /** A reason to skip on this stack (e.g. no proxy for a 502), or null. */
  skip?: (ctx: ProbeContext) => string | null;
  expect: (ctx: ProbeContext) => string;
  observe: (ctx: ProbeContext) => Promise<T>;
  judge: (observed: T, ctx: ProbeContext) => Verdict;
}

export const pass = (actual: string): Verdict => ({ status: 'pass', actual });
export const fail = (actual: string): Verdict => ({ status: 'fail', actual });
export const skip = (actual: string): Verdict => ({ status: 'skip', actual });

/** A probe of any observation type: the runner only pipes observe() into judge(). */
// biome-ignore lint/suspicious/noExplicitAny: each probe has its own observation type
export type AnyProbe = ProbeDefinition<any>;
