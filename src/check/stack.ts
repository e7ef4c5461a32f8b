// `check` for one stack: render it into a sandbox, derive the steps from the check
// definitions, run them, clean up. The CLI and the tests both call checkStack.

import type { Loaded } from '../cli/shared.js';
import { loadGatewayConfigFile } from '../gateway/config.js';
import type { CheckReport, CheckResult } from '../report/types.js';
import { CHECKS, type CheckDefinition, checkSteps } from './definitions.js';
import { runCheckSteps } from './runner.js';
import { renderSandbox } from './sandbox.js';

export interface CheckStackOptions {
  /** Tools run at once (they are short-lived; a few at a time suits a 2-core machine). */
  concurrency: number;
  onResult?: (r: CheckResult) => void;
  /** Keep the sandbox directory (for debugging a failure). */
  keep?: boolean;
  checks?: readonly CheckDefinition[];
}

/** Render the stack for a sandbox site and run every applicable check on the files. */
export async function checkStack(l: Loaded, options: CheckStackOptions): Promise<CheckReport> {
  const t0 = performance.now();
  const sandbox = await renderSandbox(l);
  try {
    const steps = checkSteps(
      {
        plan: sandbox.plan,
        artifacts: sandbox.artifacts,
        dir: sandbox.dir,
        loadGatewayConfig: loadGatewayConfigFile,
      },
      options.checks ?? CHECKS,
    );
    const results = await runCheckSteps(steps, {
      concurrency: options.concurrency,
      ...(options.onResult ? { onResult: options.onResult } : {}),
    });
    return {
      stack: sandbox.plan.name,
      source: l.loaded.file,
      ok: results.every((r) => r.status !== 'fail'),
      results,
      wallMs: Math.round(performance.now() - t0),
    };
  } finally {
    if (!options.keep) sandbox.dispose();
  }
}
