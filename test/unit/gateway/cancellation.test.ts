// The front's per-request cancellation (an AbortSignal stand-in without the EventTarget cost).

import { describe, expect, it } from 'vitest';
import { Cancellation } from '../../../src/gateway/transport.js';

describe('Cancellation', () => {
  it('runs each listener once, in order, on the first abort, with the reason', () => {
    const c = new Cancellation();
    const calls: string[] = [];
    c.addEventListener('abort', () => calls.push(`a:${String(c.reason)}`));
    c.addEventListener('abort', () => calls.push('b'));
    expect(c.aborted).toBe(false);
    c.abort('client gone');
    c.abort('again');
    expect(calls).toEqual(['a:client gone', 'b']);
    expect([c.aborted, c.reason]).toEqual([true, 'client gone']);
  });

  it('a removed listener is not called; a listener added after abort is not called either', () => {
    const c = new Cancellation();
    let removed = 0;
    const listener = () => removed++;
    c.addEventListener('abort', listener);
    c.removeEventListener('abort', listener);
    c.abort();
    let late = 0;
    c.addEventListener('abort', () => late++);
    expect([removed, late]).toEqual([0, 0]);
    expect(c.reason).toBeInstanceOf(Error);
  });
});
