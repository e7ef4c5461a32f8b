// stack.yaml `proxy.tls` → the `tls:` block of the rendered gateway.yaml: a straight mapping,
// because the gateway config mirrors the stack.yaml keys (cert, key, listen, redirect_http,
// hsts, http2; src/gateway/config.ts). The certificate files are the site's (a sandbox's
// throwaway-CA certificate, or the production files), the listeners the plan's TLS addresses
// (a sandbox's free ports). Pure.

import type { NormalizedTls } from '../stack/normalize.js';
import type { SiteTls } from '../topology/site.js';

/** What gateway.yaml.hbs renders under `tls:`. */
export interface GatewayTlsView {
  cert: string;
  key: string;
  listen: readonly string[];
  redirectHttp: boolean;
  /** null: hsts off. */
  hsts: { maxAge: number; includeSubdomains: boolean; preload: boolean } | null;
  http2: boolean;
  /** Where the ACME HTTP-01 tokens are: `<webroot>/.well-known/acme-challenge`. */
  acmeChallengeDir: string;
}

/**
 * The gateway's `tls:` view (pure): null when proxy.tls is off or the site has no certificate
 * files. Every option is written out, so the file says the defaults it runs with.
 */
export function gatewayTlsView(
  tls: 'off' | NormalizedTls,
  files: Pick<SiteTls, 'cert' | 'key'> | null,
  listens: ReadonlyArray<{ host: string; port: number }>,
  acmeWebroot: string,
): GatewayTlsView | null {
  if (tls === 'off' || files === null || listens.length === 0) return null;
  return {
    cert: files.cert,
    key: files.key,
    listen: listens.map((l) => `${l.host}:${l.port}`),
    redirectHttp: tls.redirect_http,
    hsts:
      tls.hsts === 'off'
        ? null
        : {
            maxAge: tls.hsts.max_age,
            includeSubdomains: tls.hsts.include_subdomains,
            preload: tls.hsts.preload,
          },
    http2: tls.http2,
    acmeChallengeDir: `${acmeWebroot}/.well-known/acme-challenge`,
  };
}
