// Free loopback ports and readiness waits for integration tests that start real servers.

import { connect, createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (listen on port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolve once a TCP port or unix socket accepts connections; reject after `timeoutMs`. */
export async function waitUntilConnectable(
  address: { host: string; port: number } | { path: string },
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = 'path' in address ? connect({ path: address.path }) : connect(address);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listens on ${JSON.stringify(address)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
