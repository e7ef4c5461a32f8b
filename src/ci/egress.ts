// The one way out of a `stackgen ci --check` machine: the machine has only loopback (its
// own network namespace), so a workflow's `apt-get update` and `npm install` reach their
// registries through an HTTP proxy that allows those hosts alone. Two halves:
//   - on the host, an HTTP proxy (CONNECT for https, absolute-form requests for http, RFC
//     9110 §9.3.6 / RFC 9112 §3.2.2) listening on a unix socket inside the machine's /run;
//   - inside, a byte relay from 127.0.0.1:EGRESS_PORT to that socket (a unix socket crosses
//     network namespaces: it is a file).
// Anything else the workflow reaches for is refused with 403 and named in the step's failure.

import { request as httpRequest, createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

/** Hosts the generated workflows need here, and why. PyPI is not among them: none pip-installs. */
export const EGRESS_HOSTS: Readonly<Record<string, string>> = {
  'registry.npmjs.org': 'npm installs stackgen’s dependencies (and a registry-pinned stackgen)',
  'deb.debian.org': 'apt-get update / install (this machine is Debian; its sources name this host)',
};
/** The proxy address inside the machine. */
export const EGRESS_PORT = 3128;
/** The host proxy's socket, as a path inside the machine. */
export const EGRESS_SOCKET = '/run/stackgen-ci-egress.sock';

export interface Egress {
  /** Hosts (host:port) that were asked for and refused, in order, each once. */
  readonly refused: string[];
  close(): Promise<void>;
}

/** Whether the proxy lets a request to host:port through. Pure. */
export function egressAllowed(host: string, port: number): boolean {
  return Object.hasOwn(EGRESS_HOSTS, host.toLowerCase()) && (port === 443 || port === 80);
}

/** Start the host half, listening on `socketPath` (the machine's EGRESS_SOCKET seen from the host). */
export async function startEgress(socketPath: string): Promise<Egress> {
  const refused: string[] = [];
  const refuse = (what: string) => {
    if (!refused.includes(what)) refused.push(what);
  };
  const server: Server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('stackgen ci --check egress: an absolute-form request is required\n');
      return;
    }
    const port = Number(url.port || 80);
    if (url.protocol !== 'http:' || !egressAllowed(url.hostname, port)) {
      refuse(`${url.hostname}:${port}`);
      res.writeHead(403).end(`stackgen ci --check egress: ${url.hostname} is not allowed\n`);
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const upstream = httpRequest(
      { host: url.hostname, port, path: `${url.pathname}${url.search}`, method: req.method, headers },
      (up: IncomingMessage) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(`stackgen ci --check egress: ${err.message}\n`);
    });
    req.pipe(upstream);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const m = /^([^:]+):(\d+)$/.exec(req.url ?? '');
    const host = m?.[1] ?? '';
    const port = Number(m?.[2] ?? 0);
    if (!egressAllowed(host, port)) {
      refuse(`${host}:${port}`);
      client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The inside half: a node script relaying 127.0.0.1:EGRESS_PORT to EGRESS_SOCKET; prints "ready". */
export const EGRESS_RELAY = `
const net = require('node:net');
net
  .createServer((c) => {
    const u = net.connect(${JSON.stringify(EGRESS_SOCKET)});
    c.pipe(u).pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  })
  .listen(${EGRESS_PORT}, '127.0.0.1', () => console.log('ready'));
`;
