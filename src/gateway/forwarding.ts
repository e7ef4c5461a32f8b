// What the app is told about the client. The gateway is the edge: the client address and
// scheme come from the connection, and every header a client could send to pose as a proxy
// is replaced (the ones the gateway sets) or dropped (the other spellings of the same claim).
// One table for the http transport (header names) and cgi-env.ts (HTTP_* meta-variables).

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
