// The user's own `checks:` from stack.yaml, each a probe on the app path: method, path,
// body → status, body_contains, body_matches, response headers (name → regex).

import type { UserCheck } from '../stack/schema.js';
import { absoluteTarget, httpRequest } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

type Observed = { status: number; body: string; headers: Record<string, string | string[] | undefined> };

/** Problems of one answer against one check; empty when it passes. Pure. */
export function checkProblems(check: UserCheck, o: Observed): string[] {
  const problems: string[] = [];
  if (o.status !== check.status) problems.push(`status ${o.status}`);
  if (check.body_contains !== undefined && !o.body.includes(check.body_contains))
    problems.push(
      `body lacks ${JSON.stringify(check.body_contains)}: ${JSON.stringify(o.body.slice(0, 120))}`,
    );
  if (check.body_matches !== undefined && !new RegExp(check.body_matches).test(o.body))
    problems.push(`body does not match /${check.body_matches}/`);
  for (const [name, pattern] of Object.entries(check.headers)) {
    const value = o.headers[name.toLowerCase()];
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (text === undefined || !new RegExp(pattern).test(text))
      problems.push(`header ${name}: ${text ?? 'absent'}`);
  }
  return problems;
}

function expectation(check: UserCheck): string {
  const parts = [`${check.status}`];
  if (check.body_contains !== undefined) parts.push(`body contains ${JSON.stringify(check.body_contains)}`);
  if (check.body_matches !== undefined) parts.push(`body matches /${check.body_matches}/`);
  for (const [name, pattern] of Object.entries(check.headers)) parts.push(`${name} ~ /${pattern}/`);
  return parts.join(', ');
}

/** One probe per check. */
export function userCheckProbes(checks: UserCheck[]): ProbeDefinition<Observed>[] {
  return checks.map((check, i) => ({
    id: `check:${check.name ?? `${check.method} ${check.path}`}${checks.findIndex((c) => c.name === check.name && c.path === check.path && c.method === check.method) === i ? '' : `#${i + 1}`}`,
    title: `your check: ${check.method} ${check.path}`,
    phase: 'parallel',
    kinds: ['app'],
    needsProbeApp: false,
    after: ['app/reach'],
    expect: () => expectation(check),
    async observe(ctx) {
      const answer = await httpRequest(absoluteTarget(ctx.front), check.path, {
        method: check.method,
        headers: check.request_headers,
        body: check.body === undefined ? undefined : Buffer.from(check.body),
        signal: ctx.signal,
      });
      return { status: answer.status, body: answer.body.toString('utf8'), headers: answer.headers };
    },
    judge(o) {
      const problems = checkProblems(check, o);
      return problems.length === 0 ? pass(`${o.status}`) : fail(problems.join('; '));
    },
  }));
}
