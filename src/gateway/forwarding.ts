// What the app is told about the client. The gateway is the edge: the client address and
// scheme come from the connection, and every header a client could send to pose as a proxy
// is replaced (the ones the gateway sets) or dropped (the other spellings of the same claim).
// One table for the http transport (header names) and cgi-env.ts (HTTP_* meta-variables).
// Behind a load balancer (trusted_proxies), clientView() takes the client from its headers.

import { BlockList, isIP } from 'node:net';

/** Set by the gateway from the connection on every request; a client's value is replaced. */
export const SET_BY_GATEWAY = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
] as const;

/**
 * Never forwarded: RFC 7239 Forwarded and the "this was HTTPS" flags that app servers and
 * frameworks read as the scheme (gunicorn's secure_scheme_headers: X-Forwarded-Ssl,
 * X-Forwarded-Protocol; Rails: X-Url-Scheme; IIS/OWA: Front-End-Https). The gateway sets
 * none of them, so a client's would be believed; gunicorn even answers 400 "Contradictory
 * scheme headers" when one disagrees with X-Forwarded-Proto.
 */
export const DROPPED_FORWARDING = [
  'forwarded',
  'x-forwarded-ssl',
  'x-forwarded-protocol',
  'x-url-scheme',
  'front-end-https',
] as const;

/** Lower-case header names a client never gets through as sent. */
export const CLIENT_FORWARDING_HEADERS: ReadonlySet<string> = new Set([
  ...SET_BY_GATEWAY,
  ...DROPPED_FORWARDING,
]);

/** The same names as CGI meta-variables (`x-real-ip` → `HTTP_X_REAL_IP`). */
export const CLIENT_FORWARDING_VARS: ReadonlySet<string> = new Set(
  [...CLIENT_FORWARDING_HEADERS].map((name) => `HTTP_${name.toUpperCase().replaceAll('-', '_')}`),
);

/** What the gateway tells the app about the client: its address and the scheme it used. */
export interface ClientView {
  remoteAddress: string;
  scheme: 'http' | 'https';
}

/** The load balancers of `trusted_proxies`, ready to match peers; null when there are none. */
export function trustedProxyList(cidrs: readonly string[]): BlockList | null {
  if (cidrs.length === 0) return null;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix] = cidr.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  // An IPv4 peer on a dual-stack socket reads ::ffff:192.0.2.7.
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(plain);
  return family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client behind `peer` (pure). From a trusted load balancer, as nginx's realip with
 * `real_ip_header X-Forwarded-For; real_ip_recursive on`: walk X-Forwarded-For from the right,
 * skipping trusted hops, and take the first address no trusted proxy vouches for (entries a
 * client wrote itself stand left of it and are never reached); the scheme is its
 * X-Forwarded-Proto when that is http or https. From anyone else: the connection's own.
 */
export function clientView(
  peer: string,
  connectionScheme: 'http' | 'https',
  rawHeaders: readonly string[],
  trusted: BlockList | null,
): ClientView {
  const direct: ClientView = { remoteAddress: peer, scheme: connectionScheme };
  if (trusted === null || !isTrusted(trusted, peer)) return direct;
  const hops: string[] = [];
  let proto: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (name === 'x-forwarded-for') hops.push(...(rawHeaders[i + 1] as string).split(','));
    else if (name === 'x-forwarded-proto') proto ??= (rawHeaders[i + 1] as string).trim().toLowerCase();
  }
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = (hops[i] as string).trim();
    // A malformed entry ends the walk: what lies left of it cannot be vouched for.
    if (isIP(hop) === 0) break;
    client = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return { remoteAddress: client, scheme: proto === 'https' || proto === 'http' ? proto : connectionScheme };
}
