// RFC 9110 §7.6.1: "Intermediaries MUST parse a received Connection header field before a
// message is forwarded and, for each connection-option in this field, remove any header or
// trailer field(s) from the message with the same name as the connection-option, and then
// remove the Connection header field itself". One table for both directions (the http
// transport's requests, the proxy core's responses).

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
