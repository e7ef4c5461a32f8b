import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('README and CI agree', () => {
  it('.ci/run runs exactly the README test command', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    const command = /```sh\n(bash scripts\/setup-system\.sh[^\n]*)\n```/.exec(readme)?.[1];
    expect(command).toBeDefined();
    expect(ci.split('\n')).toContain(command);
  });
});
