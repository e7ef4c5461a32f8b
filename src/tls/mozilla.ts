// Mozilla Server Side TLS, "intermediate" configuration (guidelines 5.7,
// https://ssl-config.mozilla.org/guidelines/5.7.json), as data: one list for both fronts, so
// nginx (templates/nginx/site.conf.hbs) and the gateway (src/gateway/tls.ts) offer the same.

export const MOZILLA_INTERMEDIATE = {
  minVersion: 'TLSv1.2',
  /** TLS 1.3: OpenSSL's own suites, in Mozilla's order. */
  tls13Ciphersuites: ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'],
  /**
   * TLS 1.2: the ECDHE suites with AES-GCM or ChaCha20-Poly1305. Mozilla's DHE-RSA ones are
   * left out: they need a dhparam file neither front loads (nginx has no ssl_dhparam by
   * default), and every client the profile targets negotiates ECDHE.
   */
  tls12Ciphers: [
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ],
  ecdhCurve: 'X25519:prime256v1:secp384r1',
} as const;
