import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkDeclaredLength, discardRequestBody, readRequestBody } from '../../../src/gateway/body.js';

/** A stand-in for node's IncomingMessage: a stream plus `complete`. */
function incoming(): PassThrough & { complete: boolean } {
  return Object.assign(new PassThrough(), { complete: false });
}
const asReq = (s: PassThrough) => s as unknown as IncomingMessage;

describe('request body buffering', () => {
  it('refuses a declared length over max_body before reading (0 = unlimited)', () => {
    expect(checkDeclaredLength(11, 10)?.code).toBe('SG_ERR_CLIENT_BODY_TOO_LARGE');
    expect(checkDeclaredLength(10, 10)).toBeNull();
    expect(checkDeclaredLength(10 ** 9, 0)).toBeNull();
  });

  it('keeps a small body in memory', async () => {
    const req = incoming();
    const body = readRequestBody(asReq(req), { maxBytes: 0, timeoutMs: 1_000, memoryLimit: 100 });
    req.write('ab');
    req.end('cd');
    expect(await body).toEqual({ kind: 'memory', length: 4, chunks: [Buffer.from('ab'), Buffer.from('cd')] });
  });

  it('spills a body over the memory limit to a file, removed by discardRequestBody', async () => {
    const req = incoming();
    const reading = readRequestBody(asReq(req), { maxBytes: 0, timeoutMs: 1_000, memoryLimit: 4 });
    req.write('0123');
    req.end('456789');
    const body = await reading;
    expect(body).toMatchObject({ kind: 'file', length: 10 });
    const path = (body as { path: string }).path;
    expect(existsSync(path)).toBe(true);
    await discardRequestBody(body);
    expect(existsSync(path)).toBe(false);
  });

  it('rejects a body growing past max_body (413) and one that stalls (408)', async () => {
    const big = incoming();
    const tooBig = readRequestBody(asReq(big), { maxBytes: 3, timeoutMs: 1_000, memoryLimit: 100 });
    big.write('0123');
    await expect(tooBig).rejects.toMatchObject({ code: 'SG_ERR_CLIENT_BODY_TOO_LARGE' });
    const slow = incoming();
    const stalled = readRequestBody(asReq(slow), { maxBytes: 0, timeoutMs: 50, memoryLimit: 100 });
    slow.write('0');
    await expect(stalled).rejects.toMatchObject({ code: 'SG_ERR_CLIENT_TIMEOUT' });
  });
});
