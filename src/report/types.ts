// The result values of a verify run and of a check run, as every output format reads them.

import type { CheckStep } from '../check/definitions.js';
import type { ProbeResult, ProbeStatus } from '../probes/types.js';
import type { Verdict } from './verdict.js';

export type { ProbeResult, ProbeStatus };

/** A unit (process, service) of the stack changing state, as the launcher of a target reports it. */
export interface UnitEvent {
  unit: string;
  phase: 'starting' | 'ready' | 'failed' | 'stopping' | 'stopped';
  ms?: number;
  detail?: string;
}

/** What a verify run reports while it runs (the live progress view reads these). */
export type ProgressEvent =
  | { type: 'stack'; file: string; name: string }
  | { type: 'pass'; app: PassReport['app']; dir: string }
  | { type: 'unit'; event: UnitEvent }
  | { type: 'probe-start'; key: string }
  /** A line of what a launcher did (a `stackgen install` step on the machine target). */
  | { type: 'step'; text: string }
  | { type: 'probe'; result: ProbeResult }
  | { type: 'not-ready'; component: string; cause: string; logTail: string[] };

/** One boot of the stack: with the probe app, or with the user's own app. */
export interface PassReport {
  app: 'probe-app' | 'user-app';
  /** The sandbox dir (removed afterwards unless kept or failed). */
  dir: string;
  units: Array<{ id: string; readyMs: number | null; stopMs: number | null; escalated: boolean }>;
  probes: ProbeResult[];
  notReady: { component: string; cause: string; logTail: string[] } | null;
  interrupted: boolean;
  kept: { urls: string[]; stopCommand: string } | null;
  wallMs: number;
}

/** A pass before anything ran: no units, no probes yet. */
export function emptyPass(app: PassReport['app'], dir: string): PassReport {
  return { app, dir, units: [], probes: [], notReady: null, interrupted: false, kept: null, wallMs: 0 };
}

export type StackOutcome = 'pass' | 'fail' | 'not-ready' | 'interrupted';

export interface StackReport {
  file: string;
  name: string;
  outcome: StackOutcome;
  /** Facts a reader must know: users mapped, systemd not running, documented gaps. */
  notes: string[];
  passes: PassReport[];
  wallMs: number;
}

export interface VerifyReport {
  stacks: StackReport[];
  wallMs: number;
}

/** Pass/fail/skip counts over a stack's probes. */
export function countOf(stack: StackReport): Record<ProbeStatus, number> {
  const counts: Record<ProbeStatus, number> = { pass: 0, fail: 0, skip: 0 };
  for (const p of stack.passes.flatMap((x) => x.probes)) counts[p.status]++;
  return counts;
}

/** The stack's outcome from its passes. Pure. */
export function outcomeOf(passes: PassReport[]): StackOutcome {
  if (passes.some((p) => p.interrupted)) return 'interrupted';
  if (passes.some((p) => p.notReady)) return 'not-ready';
  return passes.some((p) => p.probes.some((r) => r.status === 'fail')) ? 'fail' : 'pass';
}

/** One check's result value: its judge's verdict, the step it judged, what ran and for how long. */
export interface CheckResult extends Verdict {
  step: CheckStep;
  /** The tool's own message ('' when it printed nothing). */
  detail: string;
  warnings: string[];
  /** The command line that ran (or would have run). */
  command: string[];
  durationMs: number;
}

/** What `stackgen check` found for one stack. */
export interface CheckReport {
  stack: string;
  /** The stack.yaml it was rendered from. */
  source: string;
  /** No check failed. */
  ok: boolean;
  results: CheckResult[];
  wallMs: number;
}
