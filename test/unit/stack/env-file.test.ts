import { describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../../src/stack/env-file.js';

describe('parseEnvFile', () => {
  it('reads KEY=value lines literally, skipping blanks and # / ; comments', () => {
    expect(parseEnvFile('# secrets\nA=1\n\n; old\nDB_URL=postgres://u:p@h/db?x=1\r\nEMPTY=\n')).toEqual({
      entries: [
        ['A', '1'],
        ['DB_URL', 'postgres://u:p@h/db?x=1'],
        ['EMPTY', ''],
      ],
      problems: [],
    });
  });

  it('refuses what systemd and the supervisor wrapper would read differently', () => {
    const { entries, problems } = parseEnvFile('export A=1\nB="x y"\nC=a\\nb\nD=x \n=1\nE=ok\n');
    expect(entries).toEqual([['E', 'ok']]);
    expect(problems).toEqual([
      'line 1: not KEY=value (a name of letters, digits and _)',
      "line 2: B's value is quoted or has a backslash: write it bare",
      "line 3: C's value is quoted or has a backslash: write it bare",
      "line 4: D's value ends in whitespace",
      'line 5: not KEY=value (a name of letters, digits and _)',
    ]);
  });
});
