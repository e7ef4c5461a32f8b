// Sends a complete request body (memory chunks or a spooled temp file) to a backend stream,
// respecting backpressure: after a write() that returns false, wait for 'drain' before the
// next one, so a 1 GB upload never sits in the socket's userland buffer.

import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { RequestBody } from '../transport.js';

/** Resolve on 'drain'; reject when the stream closes or fails first (no hang on a dead backend). */
export function waitForDrain(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onError);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new Error('stream closed while waiting for drain'));
    const onError = (error: Error): void => done(error);
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onError);
  });
}

/**
 * Write `body` to `dest`, each piece passed through `frame` first (FastCGI wraps it in STDIN
 * records; uwsgi/SCGI send it bare). Resolves when the last piece was accepted by `dest`.
 */
export async function writeRequestBody(
  dest: Writable,
  body: RequestBody,
  frame: (chunk: Buffer) => Buffer = (chunk) => chunk,
): Promise<void> {
  if (body.kind === 'memory') {
    for (const chunk of body.chunks) {
      if (dest.destroyed) return;
      if (chunk.length > 0 && !dest.write(frame(chunk))) await waitForDrain(dest);
    }
    return;
  }
  const file = createReadStream(body.path, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of file) {
      if (dest.destroyed) return;
      if (!dest.write(frame(chunk as Buffer))) await waitForDrain(dest);
    }
  } finally {
    file.destroy();
  }
}

/** The body as one Buffer when it is in memory and at most `limit` bytes, else null. */
export function smallBodyBuffer(body: RequestBody | null, limit: number): Buffer | undefined | null {
  if (body === null || body.length === 0) return undefined;
  if (body.kind !== 'memory' || body.length > limit) return null;
  if (body.chunks.length === 1) return body.chunks[0]!;
  return Buffer.concat(body.chunks as Buffer[], body.length);
}
