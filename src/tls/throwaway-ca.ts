// verify's and check's stand-in for proxy.tls's files: a CA made with openssl for this one
// run, and a certificate it signs for the stack's names. Probes trust this CA and nothing
// else, so a front serving any other certificate (a snakeoil one, a wrong name) fails them.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackgenError } from '../errors.js';

export interface ThrowawayCertificate {
  ca: string;
  cert: string;
  key: string;
}

/**
 * The DNS names a certificate for this server_name must cover: every plain or wildcard name
 * (not `_`, not a `~regex`), and localhost for a stack that answers any Host. Pure.
 */
export function certificateNames(serverName: string): string[] {
  const names = serverName.split(/\s+/).filter((n) => n !== '' && n !== '_' && !n.startsWith('~'));
  return names.length > 0 ? names.map((n) => n.replace(/^\./, '*.')) : ['localhost'];
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: 'pipe' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new StackgenError(
        'SG_ERR_TOOL_MISSING',
        'openssl is missing: verify and check make the certificate that stands in for proxy.tls with it',
        { hint: 'apt-get install openssl', cause: err },
      );
    throw new StackgenError(
      'SG_ERR_INTERNAL',
      `openssl ${args[0]} failed: ${e.stderr?.toString().trim() ?? e.message}`,
      {
        cause: err,
      },
    );
  }
}

/** A CA and a leaf certificate for `names` (EC P-256, valid 2 days) under `dir`/tls. */
export function createThrowawayCertificate(dir: string, names: string[]): ThrowawayCertificate {
  const tlsDir = join(dir, 'tls');
  mkdirSync(tlsDir, { recursive: true, mode: 0o755 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=stackgen verify throwaway CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    tlsDir,
  );
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${names[0]}`], tlsDir);
  const san = [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1', 'IP:::1'].join(',');
  writeFileSync(
    join(tlsDir, 'server.ext'),
    `subjectAltName=${san}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ],
    tlsDir,
  );
  // As production wants it: the key readable by its owner only (nginx's master reads it as root).
  chmodSync(join(tlsDir, 'server.key'), 0o600);
  chmodSync(join(tlsDir, 'ca.key'), 0o600);
  return { ca: join(tlsDir, 'ca.pem'), cert: join(tlsDir, 'server.pem'), key: join(tlsDir, 'server.key') };
}
