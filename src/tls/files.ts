// The certificate files of proxy.tls, read and judged: do they exist, does the key belong to
// the certificate, is the key private. One reading for `stackgen check` and the sandbox.
// node:crypto parses both (X509Certificate.checkPrivateKey compares the public halves).

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/** How many PEM certificates a file's text holds. Pure. */
export function pemCertificateCount(text: string): number {
  return (text.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
}

/** Does the certificate file carry its issuer after the leaf (a fullchain)? false when unreadable. */
export function certificateChain(certFile: string): boolean {
  try {
    return pemCertificateCount(readFileSync(certFile, 'utf8')) > 1;
  } catch {
    return false;
  }
}

/**
 * What is wrong with a certificate and its key, each as where, what and what to do; empty
 * when the files exist, parse, match, the certificate is not expired and the key is
 * readable by its owner only (nginx's master reads it as root before dropping privileges).
 */
export function tlsFileProblems(cert: string, key: string): string[] {
  const problems: string[] = [];
  let certificate: X509Certificate | null = null;
  try {
    certificate = new X509Certificate(readFileSync(cert));
  } catch (err) {
    problems.push(`${cert}: ${reason(err)} — point proxy.tls.cert at the PEM certificate (fullchain.pem)`);
  }
  let keyText: Buffer | null = null;
  try {
    const st = statSync(key);
    if ((st.mode & 0o044) !== 0)
      problems.push(
        `${key}: the private key is mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}, readable by ${(st.mode & 0o004) !== 0 ? 'every user' : `its group (gid ${st.gid})`} — whoever reads it can pose as the site: chown root:root ${key} && chmod 600 ${key}`,
      );
    keyText = readFileSync(key);
  } catch (err) {
    problems.push(`${key}: ${reason(err)} — point proxy.tls.key at the certificate's PEM private key`);
  }
  if (certificate && keyText) {
    try {
      const privateKey = createPrivateKey(keyText);
      if (!certificate.checkPrivateKey(privateKey))
        problems.push(
          `${key} is not the key of ${cert} (${certificate.subject.replace(/\n/g, ', ')}): the public key in the certificate differs — use the key the certificate was issued for`,
        );
    } catch (err) {
      problems.push(`${key}: not a private key nginx can load (${reason(err)})`);
    }
  }
  if (certificate) {
    const until = new Date(certificate.validTo);
    if (until.getTime() < Date.now())
      problems.push(`${cert}: expired on ${until.toISOString().slice(0, 10)} — renew it`);
  }
  return problems;
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES') return 'not readable by this user (run stackgen check as root)';
  return e.message;
}
