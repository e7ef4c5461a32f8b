// A GatewayRequest as the gateway front would build it, for transport and cgi-env tests.

import type { Readable } from 'node:stream';
import { isStackgenError, type StackgenError } from '../../src/errors.js';
import type { GatewayRequest, RequestBody } from '../../src/gateway/transport.js';

export function gatewayRequest(overrides: Partial<GatewayRequest> = {}): GatewayRequest {
  const rawTarget = overrides.rawTarget ?? '/echo?x=1';
  const q = rawTarget.indexOf('?');
  const rawPath = q < 0 ? rawTarget : rawTarget.slice(0, q);
  return {
    method: 'GET',
    rawTarget,
    rawPath,
    query: q < 0 ? '' : rawTarget.slice(q + 1),
    scriptName: '',
    pathInfo: decodeURIComponent(rawPath),
    httpVersion: '1.1',
    rawHeaders: ['Host', 'example.test', 'User-Agent', 'vitest'],
    host: 'example.test',
    scheme: 'http',
    remoteAddress: '127.0.0.1',
    remotePort: 50000,
    serverAddress: '127.0.0.1',
    serverPort: 8080,
    serverName: 'example.test',
    documentRoot: '/srv/www',
    body: null,
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** A memory body made of `chunks`. */
export function memoryBody(...chunks: Buffer[]): RequestBody {
  return { kind: 'memory', length: chunks.reduce((n, c) => n + c.length, 0), chunks };
}

/** Read a response body to the end (a Buffer body is complete already). */
export async function readBody(body: AsyncIterable<unknown> | Buffer): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A response body that must be streamed (a big or slow answer), not handed over complete. */
export function streamed(body: Readable | Buffer): Readable {
  if (Buffer.isBuffer(body))
    throw new Error(`expected a streamed body, got a complete ${body.length}-byte Buffer`);
  return body;
}

/** The bytes /big?n=… (test/fixtures/gateway) answers with: a repeating 16-byte pattern. */
export function patternBytes(n: number): Buffer {
  const pattern = Buffer.from('0123456789abcdef');
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += 16) pattern.copy(out, i, 0, Math.min(16, n - i));
  return out;
}

/** The StackgenError a promise rejects with (fails the test when it resolves or throws something else). */
export async function rejection(promise: Promise<unknown>): Promise<StackgenError> {
  try {
    await promise;
  } catch (error) {
    if (isStackgenError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
