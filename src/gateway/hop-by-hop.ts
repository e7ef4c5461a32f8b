// RFC 9110 §7.6.1: "Intermediaries MUST parse a received Connection header field before a
// message is forwarded and, for each connection-option in this field, remove any header or
// trailer field(s) from the message with the same name as the connection-option, and then
// remove the Connection header field itself". One table for both directions (the http
// transport's requests, the proxy core's responses), and the one lookup of a header in
// node's flat [name, value, …] form.

/** Fields that describe one connection, never forwarded (plus those named in Connection). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The lower-case connection-options of the Connection fields among `names`/`values`. */
export function connectionOptions(
  count: number,
  nameAt: (i: number) => string,
  valueAt: (i: number) => string,
): string[] {
  const options: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = nameAt(i);
    if (name.length === 10 && name.toLowerCase() === 'connection')
      for (const token of valueAt(i).split(',')) options.push(token.trim().toLowerCase());
  }
  return options;
}

/** The first value of a header in node's flat [name, value, …] form (lower-case name). */
export function headerValue(flat: readonly string[], lower: string): string | undefined {
  for (let i = 0; i + 1 < flat.length; i += 2)
    if ((flat[i] as string).toLowerCase() === lower) return flat[i + 1] as string;
  return undefined;
}
