// IP address ranges as stack.yaml and the gateway config write them (proxy.trusted_proxies).

import { isIP } from 'node:net';

/** An IPv4 or IPv6 address with an optional /prefix (10.0.0.0/8, 192.0.2.7, 2001:db8::/32). */
export function isCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

export const CIDR_MESSAGE = 'an IP address or CIDR: 10.0.0.0/8, 192.0.2.7, 2001:db8::/32';
