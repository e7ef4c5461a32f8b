// The values of every enumerated command-line option, in one place: help texts and usage
// errors are built from these lists, never typed out again. Where stack.yaml has the same
// choice (init's flags), the list is the schema's own array.

import { StackgenError } from '../errors.js';
import type { CiProvider } from '../render/ci.js';
import type { VerifyTarget } from '../runtime/verify.js';
import { CONCURRENCY, FRAMEWORKS, MANAGERS, PROTOCOLS, PROXY_KINDS, SERVERS } from '../stack/enums.js';

/** Every member of a string union, once: the Record makes the compiler check none is missing. */
function membersOf<T extends string>(record: Record<T, unknown>): readonly T[] {
  return Object.keys(record) as T[];
}

/** `stackgen init`'s flags that answer a stack.yaml choice → the schema's values for it. */
export const INIT_CHOICES = {
  framework: FRAMEWORKS,
  server: SERVERS,
  concurrency: CONCURRENCY,
  proxy: PROXY_KINDS,
  protocol: PROTOCOLS,
  manager: MANAGERS,
} as const;

export const EXPLAIN_FORMATS = ['text', 'mermaid'] as const;
export type ExplainFormat = (typeof EXPLAIN_FORMATS)[number];

export const CI_PROVIDERS = membersOf<CiProvider>({ github: true, gitlab: true });

/** What each `verify --target` does, for its help. */
export const VERIFY_TARGET_HELP: Record<VerifyTarget, string> = {
  sandbox: 'a temp dir, no root needed (the default)',
  machine:
    'a throwaway Debian host with systemd as PID 1 (installs the production render with `stackgen install`, reboots it, uninstalls; needs root)',
};
export const VERIFY_TARGETS = membersOf(VERIFY_TARGET_HELP);

/** `a, b or c`: how help texts and usage errors list an option's values. */
export function orList(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}

/** The value of an enumerated option, or SG_ERR_USAGE naming the values it may take. */
export function oneOf<T extends string>(flag: string, values: readonly T[], value: string): T {
  if ((values as readonly string[]).includes(value)) return value as T;
  throw new StackgenError('SG_ERR_USAGE', `${flag} must be ${orList(values)}, not ${value}`);
}
