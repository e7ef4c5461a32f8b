// stack.yaml `proxy.tls` → the `tls:` block of the rendered gateway.yaml: a straight mapping,
// because the gateway config mirrors the stack.yaml keys (cert, key, listen, redirect_http,
// hsts, http2; src/gateway/config.ts). Pure. The ACME form (`{acme: …}`) is not a gateway
// config of files: it renders no block here.

/** The certificate-files form of stack.yaml `proxy.tls`, as the spec schema will give it. */
export interface StackTlsFiles {
  cert: string;
  key: string;
  listen?: readonly string[] | undefined;
  redirect_http?: boolean | undefined;
  hsts?: 'off' | { max_age?: number; include_subdomains?: boolean; preload?: boolean } | undefined;
  http2?: boolean | undefined;
}

/** What gateway.yaml.hbs renders under `tls:`. */
export interface GatewayTlsView {
  cert: string;
  key: string;
  /** null: the gateway's default (:443). */
  listen: readonly string[] | null;
  redirectHttp: boolean;
  /** null: hsts off. */
  hsts: { maxAge: number; includeSubdomains: boolean; preload: boolean } | null;
  http2: boolean;
}

const isFilesForm = (tls: unknown): tls is StackTlsFiles =>
  typeof tls === 'object' &&
  tls !== null &&
  typeof (tls as { cert?: unknown }).cert === 'string' &&
  typeof (tls as { key?: unknown }).key === 'string';

/**
 * The gateway's `tls:` view for a stack's `proxy.tls` (pure): null when the stack has none,
 * says `off`, or uses ACME. Defaults are the gateway config's own (redirect on, HSTS two
 * years without includeSubDomains/preload, http2 on), written out so the file says them.
 */
export function gatewayTlsView(tls: unknown): GatewayTlsView | null {
  if (!isFilesForm(tls)) return null;
  const hsts = tls.hsts ?? {};
  return {
    cert: tls.cert,
    key: tls.key,
    listen: tls.listen ?? null,
    redirectHttp: tls.redirect_http ?? true,
    hsts:
      hsts === 'off'
        ? null
        : {
            maxAge: hsts.max_age ?? 63_072_000,
            includeSubdomains: hsts.include_subdomains ?? false,
            preload: hsts.preload ?? false,
          },
    http2: tls.http2 ?? true,
  };
}
