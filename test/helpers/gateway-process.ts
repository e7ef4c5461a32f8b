// Start the real gateway CLI (`node --import tsx src/main.ts gateway …`) in its own process
// group for integration tests, and wait for its "listening on" line.

import { connect } from 'node:net';
import { join } from 'node:path';
import { type StartedProcess, startProcess } from './processes.js';

const ROOT = join(import.meta.dirname, '..', '..');

export interface RunningGateway {
  readonly proc: StartedProcess;
  /** `http://127.0.0.1:PORT` (the first listen URL). */
  readonly url: string;
  readonly port: number;
  /** Wait until the gateway's combined output matches `pattern` (or throw with the output). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** Run `stackgen gateway <args>`; resolves once it prints its listening line. */
export async function startGateway(args: readonly string[], timeoutMs = 20_000): Promise<RunningGateway> {
  const proc = startProcess(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src', 'main.ts'), 'gateway', ...args],
    {
      cwd: ROOT,
    },
  );
  const waitForOutput = async (pattern: RegExp, waitMs = timeoutMs): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const m = proc.output().match(pattern);
      if (m) return m;
      if (proc.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`gateway output never matched ${pattern}:\n${proc.output()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    const m = await waitForOutput(/listening on (http:\/\/[^\s,]+)/);
    const url = m[1] as string;
    return { proc, url, port: Number(new URL(url).port), waitForOutput };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

export interface RawResponse {
  status: number;
  head: string;
  body: Buffer;
  raw: Buffer;
}

/**
 * Write raw bytes to host:port and collect everything until the server closes (or
 * `idleMs` passes without data). For requests node's client would refuse to send.
 */
export function rawRequest(port: number, bytes: string | Buffer, idleMs = 1_500): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      const head = (split >= 0 ? raw.subarray(0, split) : raw).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: split >= 0 ? raw.subarray(split + 4) : Buffer.alloc(0), raw });
    };
    socket.setTimeout(idleMs, finish);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', finish);
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? finish() : reject(err)));
    socket.write(bytes);
  });
}
