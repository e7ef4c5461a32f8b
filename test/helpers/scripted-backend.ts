// A backend that is only a TCP socket and a script: it collects what the gateway sends and
// answers with exactly the bytes a test gives (a clean answer, a truncated head, a reset,
// silence) — the wire cases real uWSGI will not produce on demand.

import { createServer, type Server, type Socket } from 'node:net';

export interface ScriptedBackend {
  readonly port: number;
  /** Everything each connection sent, in connection order. */
  readonly received: Buffer[];
  close(): Promise<void>;
}

/**
 * Listen on 127.0.0.1:0; `script` runs once per connection, after its first `requestBytes` (or
 * the first chunk, when 0) arrived, and writes, ends or destroys the socket as it likes.
 */
export async function startScriptedBackend(
  script: (socket: Socket, request: Buffer) => void,
  requestBytes = 0,
): Promise<ScriptedBackend> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const index = received.push(Buffer.alloc(0)) - 1;
    let scripted = false;
    socket.on('data', (chunk: Buffer) => {
      received[index] = Buffer.concat([received[index] as Buffer, chunk]);
      if (!scripted && (received[index] as Buffer).length >= requestBytes) {
        scripted = true;
        script(socket, received[index] as Buffer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
