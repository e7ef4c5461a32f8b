// Template helpers, registered once on the isolated engine. Each one formats a value the
// way a config language wants it; none holds domain decisions (those live in plan.ts and the catalog's recipes).

import type Handlebars from 'handlebars';
import { type BoundEndpoint, gatewayUpstreamUrl, nginxAddress } from './address.js';

/** Quote a string for a shell-like command line (systemd ExecStart, supervisor command). */
export function shellQuote(arg: string): string {
  if (arg === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** systemd quoting: double quotes, with % doubled (specifiers) and \ and " escaped. */
export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, '%%');
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function registerHelpers(hb: typeof Handlebars): void {
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
  hb.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
  hb.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
  hb.registerHelper('not', (a: unknown) => !a);
  hb.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).map(String).join(''));
  hb.registerHelper('json', (v: unknown) => JSON.stringify(v));
  /** Python string literal (repr-compatible for plain text). */
  hb.registerHelper('py', (v: unknown) => JSON.stringify(String(v)));
  hb.registerHelper('upper', (v: unknown) => String(v).toUpperCase());
  hb.registerHelper('join', (list: unknown[], sep: unknown) =>
    list.join(typeof sep === 'string' ? sep : ' '),
  );
  hb.registerHelper('nginxAddress', (ep: BoundEndpoint) => nginxAddress(ep));
  hb.registerHelper('upstreamUrl', (protocol: string, ep: BoundEndpoint) => gatewayUpstreamUrl(protocol, ep));
  hb.registerHelper('shellCommand', (argv: string[]) => argv.map(shellQuote).join(' '));
  hb.registerHelper('systemdCommand', (argv: string[]) => argv.map(systemdQuote).join(' '));
  /** A comment block: each line of `text` prefixed with `prefix` (e.g. "# "). */
  hb.registerHelper('comment', (prefix: string, text: string) =>
    String(text)
      .split('\n')
      .map((l) => `${prefix}${l}`.trimEnd())
      .join('\n'),
  );
}
