// app.env_file: the secrets file the process manager loads. One reading for every reader —
// verify's launcher, the supervisor wrapper's shell loop (templates/supervisor/env-wrapper.sh.hbs),
// install's refusal and the secrets probe — so the app sees the same values under systemd
// (EnvironmentFile=) and under supervisor. systemd would strip quotes and undo backslashes,
// the shell loop would not: such values are refused instead of read two ways. Pure.

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface EnvFile {
  entries: Array<[string, string]>;
  /** `line 3: …` for every line the two managers would read differently, or not at all. */
  problems: string[];
}

/** `KEY=value` lines; blank lines and `#`/`;` comments skipped; values taken literally. */
export function parseEnvFile(text: string): EnvFile {
  const entries: Array<[string, string]> = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || /^\s*[#;]/.test(line)) return;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq) : '';
    const value = eq > 0 ? line.slice(eq + 1) : '';
    if (!KEY.test(key)) problems.push(`line ${i + 1}: not KEY=value (a name of letters, digits and _)`);
    else if (/^["']/.test(value) || value.includes('\\'))
      problems.push(`line ${i + 1}: ${key}'s value is quoted or has a backslash: write it bare`);
    else if (/\s$/.test(value)) problems.push(`line ${i + 1}: ${key}'s value ends in whitespace`);
    else entries.push([key, value]);
  });
  return { entries, problems };
}
