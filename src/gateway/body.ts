// Request body buffering: the whole body is read before a backend is contacted (nginx's
// *_request_buffering on), so a slow client never holds a backend worker, and every
// transport gets a body of known length. Small bodies stay in memory, large ones are
// spilled to a temp file that the caller deletes once the request is over.

import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { StackgenError } from '../errors.js';
import type { RequestBody } from './transport.js';

export interface BodyLimits {
  /** 0 = unlimited (nginx client_max_body_size 0). */
  maxBytes: number;
  /** Longest pause between two reads (nginx client_body_timeout). */
  timeoutMs: number;
  /** Bodies above this many bytes go to a temp file (nginx client_body_buffer_size). */
  memoryLimit: number;
  tmpDir?: string | undefined;
}

export const DEFAULT_MEMORY_LIMIT = 1024 * 1024;

let tmpCounter = 0;

const tooLarge = (maxBytes: number) =>
  new StackgenError('SG_ERR_CLIENT_BODY_TOO_LARGE', `request body exceeds max_body (${maxBytes} bytes)`);

/**
 * Refuse early when the declared length is already over the limit: no need to read a
 * gigabyte to answer 413 (nginx checks Content-Length before reading, too).
 */
export function checkDeclaredLength(contentLength: number | null, maxBytes: number): StackgenError | null {
  return maxBytes > 0 && contentLength !== null && contentLength > maxBytes ? tooLarge(maxBytes) : null;
}

/** What readRequestBody reads: node's IncomingMessage, or a fast-lane body (fast-lane.ts FastBody). */
/**
 * A request body stream: node's IncomingMessage or the fast lane's body (`complete` once the
 * whole message arrived), or an h2 stream (no `complete`: a 'close' before 'end' is an
 * aborted body either way).
 */
export type BodyStream = Readable & { readonly complete?: boolean };

/** Bodies node's parser failed in (a bad chunk size), and the reader of each body being read. */
const malformedBodies = new WeakMap<BodyStream, StackgenError>();
const activeReaders = new WeakMap<BodyStream, (err: StackgenError) => void>();

/**
 * node's parser refused bytes inside `req`'s body (e.g. an invalid chunk size): reading it
 * fails with SG_ERR_CLIENT_BAD_REQUEST (400), now or when the read starts — instead of
 * waiting for the client_body timeout on a body that can never end.
 */
export function markBodyMalformed(req: BodyStream, cause: Error): void {
  const err = new StackgenError('SG_ERR_CLIENT_BAD_REQUEST', `malformed request body: ${cause.message}`, {
    cause,
  });
  malformedBodies.set(req, err);
  activeReaders.get(req)?.(err);
}

/**
 * Read `req`'s (already de-chunked by node) body completely; called when the head declares
 * one. Resolves null when node has already seen its end; rejects with SG_ERR_CLIENT_BODY_TOO_LARGE,
 * SG_ERR_CLIENT_TIMEOUT or SG_ERR_CLIENT_ABORTED (their statuses: statusFor in errors.ts). A spilled file is removed on failure.
 */
export function readRequestBody(req: BodyStream, limits: BodyLimits): Promise<RequestBody | null> {
  if (req.readableEnded) return Promise.resolve(null);
  const malformed = malformedBodies.get(req);
  if (malformed !== undefined) return Promise.reject(malformed);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let file: WriteStream | null = null;
    let filePath = '';
    let done = false;
    let timer: NodeJS.Timeout | null = null;

    const armTimer = () => {
      if (limits.timeoutMs <= 0) return;
      if (timer) timer.refresh();
      else
        timer = setTimeout(
          () =>
            fail(
              new StackgenError(
                'SG_ERR_CLIENT_TIMEOUT',
                'client_body timeout while reading the request body',
              ),
            ),
          limits.timeoutMs,
        );
    };
    const cleanup = () => {
      done = true;
      activeReaders.delete(req);
      if (timer) clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const fail = (err: StackgenError) => {
      if (done) return;
      cleanup();
      req.pause();
      if (file) {
        const path = filePath;
        file.destroy();
        void rm(path, { force: true });
      }
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (limits.maxBytes > 0 && length > limits.maxBytes) return fail(tooLarge(limits.maxBytes));
      armTimer();
      if (file) {
        // Backpressure: stop reading from the client while the disk catches up.
        if (!file.write(chunk)) {
          req.pause();
          file.once('drain', () => {
            if (!done) req.resume();
          });
        }
        return;
      }
      chunks.push(chunk);
      if (length > limits.memoryLimit) {
        filePath = join(limits.tmpDir ?? tmpdir(), `stackgen-body-${process.pid}-${++tmpCounter}`);
        file = createWriteStream(filePath, { mode: 0o600 });
        file.on('error', (err) =>
          fail(
            new StackgenError('SG_ERR_INTERNAL', `cannot spill request body to ${filePath}`, { cause: err }),
          ),
        );
        for (const c of chunks) file.write(c);
        chunks.length = 0;
      }
    };
    const onEnd = () => {
      if (done) return;
      cleanup();
      if (!file) return resolve(length === 0 ? null : { kind: 'memory', length, chunks });
      const path = filePath;
      file.end(() => resolve({ kind: 'file', length, path }));
    };
    const onError = (err: Error) =>
      fail(
        new StackgenError('SG_ERR_CLIENT_ABORTED', 'error while reading the request body', { cause: err }),
      );
    const onClose = () => {
      if (!req.complete)
        fail(
          new StackgenError('SG_ERR_CLIENT_ABORTED', 'client closed the connection during the request body'),
        );
    };

    armTimer();
    activeReaders.set(req, fail);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Delete a spilled body file (no-op for memory bodies). */
export async function discardRequestBody(body: RequestBody | null): Promise<void> {
  if (body?.kind === 'file') await rm(body.path, { force: true });
}
