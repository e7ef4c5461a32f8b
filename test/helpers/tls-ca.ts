// A throwaway certificate authority made by openssl in a temp dir, and small TLS / HTTP/2
// clients that trust that CA only (never the system store): what the TLS tests of the gateway
// (and bench/) use to prove a handshake, a version refusal, ALPN h2 and a certificate swap.

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as h2Connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { join } from 'node:path';
import { type ConnectionOptions, connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface TestCa {
  /** The CA certificate (PEM), the only root the clients trust. */
  readonly caPem: Buffer;
  /** Issue a leaf for `names` (DNS names or IPs) into DIR/NAME.pem + NAME.key; returns the paths. */
  issue(name: string, names: readonly string[]): { cert: string; key: string; fingerprint: string };
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/** Make a CA in `dir` (EC P-256: fast handshakes, as a real site's ECDSA certificate). */
export function makeTestCa(dir: string): TestCa {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
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
      '/CN=stackgen test CA',
    ],
    dir,
  );
  let serial = 1;
  return {
    caPem: readFileSync(join(dir, 'ca.pem')),
    issue(name, names) {
      openssl(
        ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${names[0]}`],
        dir,
      );
      const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-set_serial',
          String(serial++),
          '-days',
          '2',
          '-out',
          `${name}.pem`,
          '-extfile',
          `${name}.ext`,
        ],
        dir,
      );
      const cert = join(dir, `${name}.pem`);
      return {
        cert,
        key: join(dir, `${name}.key`),
        fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256,
      };
    },
  };
}

/** A TLS connection to 127.0.0.1:port for `servername`, trusting `ca` only; rejects on a failed handshake. */
export function tlsOpen(
  port: number,
  ca: Buffer,
  servername: string,
  more: Partial<ConnectionOptions> = {},
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername, ...more }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Send one HTTP/1.1 request on an open socket and read the answer (Content-Length framed). */
export function requestOn(
  socket: TLSSocket,
  head: string,
): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = buf.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve({
        status: Number(text.split(' ')[1]),
        head: text,
        body: buf.subarray(end + 4, end + 4 + length).toString('utf8'),
      });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(head);
  });
}

/** An HTTP/2 session to https://servername:port (ALPN h2 only), trusting `ca` only. */
export function h2Open(port: number, ca: Buffer, servername: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(`https://${servername}:${port}`, {
      ca,
      servername,
      createConnection: () => tlsConnect({ host: '127.0.0.1', port, ca, servername, ALPNProtocols: ['h2'] }),
    });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/** One request on an h2 session; resolves with the answer's headers and body. */
export function h2Request(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () =>
      resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }),
    );
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}
