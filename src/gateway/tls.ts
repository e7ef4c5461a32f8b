// TLS for the gateway's own listeners: Mozilla's "intermediate" server profile as node:tls
// options, the certificate and key read and checked (a bad pair is a startup error naming the
// file, not a handshake failure for every client), and the HSTS header value. The only I/O is
// loadTlsMaterial, which reads the two files; server.ts hands the result to
// tls.Server#setSecureContext on SIGHUP, so a renewed certificate is served to new
// connections while open ones keep theirs.

import { constants as cryptoConstants, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { StackgenError } from '../errors.js';
import { MOZILLA_INTERMEDIATE } from '../tls/mozilla.js';
import type { GatewayTls, HstsPolicy } from './config.js';

/** The certificate and key as read from disk, checked to be a pair. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The leaf certificate (the first in the file). */
  leaf: X509Certificate;
  /** The key file's permission bits (null when unknown: checkTlsMaterial on buffers). */
  keyMode: number | null;
}

/**
 * node:tls server options for the intermediate profile and `material` (pure).
 * - honorCipherOrder false: Mozilla's `ssl_prefer_server_ciphers off` — every suite listed
 *   is strong, so the client picks (a phone without AES hardware prefers ChaCha20).
 * - SSL_OP_NO_TICKET: Mozilla's `ssl_session_tickets off` — a ticket key that is never
 *   rotated would let whoever gets it decrypt every recorded session (no forward secrecy).
 */
export function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    minVersion: MOZILLA_INTERMEDIATE.minVersion,
    ciphers: [...MOZILLA_INTERMEDIATE.tls13Ciphersuites, ...MOZILLA_INTERMEDIATE.tls12Ciphers].join(':'),
    ecdhCurve: MOZILLA_INTERMEDIATE.ecdhCurve,
    honorCipherOrder: false,
    secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
  };
}

/** The ALPN protocols offered, most preferred first (RFC 7301; RFC 9113 §3.2 for `h2`). */
export function alpnProtocols(tls: Pick<GatewayTls, 'http2'>): string[] {
  return tls.http2 ? ['h2', 'http/1.1'] : ['http/1.1'];
}

/** The Strict-Transport-Security value (RFC 6797 §6.1) of a policy (pure). */
export function hstsValue(hsts: HstsPolicy): string {
  return [
    `max-age=${hsts.maxAgeSeconds}`,
    ...(hsts.includeSubdomains ? ['includeSubDomains'] : []),
    ...(hsts.preload ? ['preload'] : []),
  ].join('; ');
}

const tlsError = (message: string, hint: string, cause?: unknown) =>
  new StackgenError('SG_ERR_GATEWAY_TLS', message, { hint, cause });

/**
 * Check that `cert` and `key` (PEM text) are a certificate and the private key of it (pure);
 * throws SG_ERR_GATEWAY_TLS naming the file and what to do.
 */
export function checkTlsMaterial(
  cert: Buffer,
  key: Buffer,
  files: Pick<GatewayTls, 'certFile' | 'keyFile'>,
): TlsMaterial {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw tlsError(
      `tls.cert ${files.certFile}: not a PEM certificate (${err instanceof Error ? err.message : err})`,
      'point tls.cert at the certificate file (-----BEGIN CERTIFICATE-----), e.g. fullchain.pem',
      err,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw tlsError(
      `tls.key ${files.keyFile}: not a PEM private key (${err instanceof Error ? err.message : err})`,
      'point tls.key at the unencrypted private key (-----BEGIN PRIVATE KEY-----), e.g. privkey.pem',
      err,
    );
  }
  if (!leaf.checkPrivateKey(privateKey))
    throw tlsError(
      `tls.key ${files.keyFile} is not the private key of the certificate in ${files.certFile} (${leaf.subject.replaceAll('\n', ', ')})`,
      'use the key the certificate was issued for (an ACME client writes them side by side: fullchain.pem and privkey.pem)',
    );
  return { cert, key, leaf, keyMode: null };
}

/** Read and check the certificate and key files of `tls` (the I/O shell of checkTlsMaterial). */
export async function loadTlsMaterial(tls: Pick<GatewayTls, 'certFile' | 'keyFile'>): Promise<TlsMaterial> {
  const read = async (file: string, what: 'tls.cert' | 'tls.key') => {
    try {
      return await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw tlsError(
        `${what} ${file}: cannot read it (${code ?? (err instanceof Error ? err.message : err)})`,
        code === 'EACCES'
          ? 'the gateway runs as an unprivileged user: make the file readable by its group (the key mode 0640, never world-readable)'
          : `check the ${what} path in the gateway config`,
        err,
      );
    }
  };
  const material = checkTlsMaterial(
    await read(tls.certFile, 'tls.cert'),
    await read(tls.keyFile, 'tls.key'),
    tls,
  );
  const mode = await stat(tls.keyFile).then(
    (st) => st.mode & 0o777,
    () => null,
  );
  return { ...material, keyMode: mode };
}

/**
 * Warnings about a certificate that loads but will not satisfy browsers: it does not name
 * the server name (SNI and Host carry it; a client checks it against the certificate), or it
 * is outside its validity period; and about a key file every user can read (pure; `now` in ms).
 */
export function certificateWarnings(
  material: Pick<TlsMaterial, 'leaf' | 'keyMode'>,
  serverName: string,
  now: number,
): string[] {
  const { leaf, keyMode } = material;
  const out: string[] = [];
  // Anyone on the host who can read the key can impersonate the site.
  if (keyMode !== null && (keyMode & 0o004) !== 0)
    out.push(
      `the private key is readable by every user (mode 0${keyMode.toString(8)}): chmod 0640 and give the gateway's group read access`,
    );
  if (
    serverName !== '_' &&
    (isIP(serverName) === 0 ? leaf.checkHost(serverName) : leaf.checkIP(serverName)) === undefined
  )
    out.push(
      `the certificate does not name server_name ${serverName} (${leaf.subjectAltName ?? leaf.subject})`,
    );
  if (Date.parse(leaf.validTo) < now) out.push(`the certificate expired on ${leaf.validTo}`);
  if (Date.parse(leaf.validFrom) > now) out.push(`the certificate is not valid before ${leaf.validFrom}`);
  return out;
}
