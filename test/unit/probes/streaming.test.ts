// The streaming probe's judge (pure): what counts as streamed, as buffered, and as the
// documented buffering, from arrival times and the app's own clock in its lines.

import { describe, expect, it } from 'vitest';
import { streamingProbe } from '../../../src/probes/streaming.js';
import type { ProbeContext } from '../../../src/probes/types.js';

const ctx = (streams: boolean) => ({ behaviour: { streams } }) as unknown as ProbeContext;

const observed = (over: { spreadMs: number; firstMs?: number; leadMs: number | null }) => ({
  url: '/__probe/stream?chunks=4&interval_ms=150',
  accel: false,
  absolute: false,
  status: 200,
  gzipped: false,
  indexes: [0, 1, 2, 3],
  firstMs: 20,
  ...over,
});

describe('streaming probe judge', () => {
  it('passes chunks that arrived spread out as the app wrote them', () => {
    expect(streamingProbe.judge([observed({ spreadMs: 450, leadMs: 430 })], ctx(true)).status).toBe('pass');
  });

  it('passes a late start that squeezed the arrivals, when the first came well before the app wrote the last', () => {
    // CI, a loaded machine: first chunk after 543 ms, last 291 ms later.
    const verdict = streamingProbe.judge([observed({ spreadMs: 291, firstMs: 543, leadMs: 300 })], ctx(true));
    expect(verdict.status).toBe('pass');
    expect(verdict.actual).toMatch(/first chunk after 543 ms, 300 ms before the app wrote the last/);
  });

  it('fails a front that held the answer: nothing arrived before the app wrote its last chunk', () => {
    const verdict = streamingProbe.judge([observed({ spreadMs: 2, firstMs: 470, leadMs: -15 })], ctx(true));
    expect(verdict.status).toBe('fail');
    expect(verdict.actual).toMatch(/^buffered: .*15 ms after the app wrote the last/);
  });

  it('fails a front that released all but the last chunk together, just before it (neither reading holds)', () => {
    expect(streamingProbe.judge([observed({ spreadMs: 150, leadMs: 100 })], ctx(true)).status).toBe('fail');
  });

  it('falls back to the arrival spread alone when the lines carry no clock', () => {
    expect(streamingProbe.judge([observed({ spreadMs: 320, leadMs: null })], ctx(true)).status).toBe('pass');
    expect(streamingProbe.judge([observed({ spreadMs: 100, leadMs: null })], ctx(true)).status).toBe('fail');
  });

  it('passes the documented buffering only when the chunks came together', () => {
    expect(streamingProbe.judge([observed({ spreadMs: 3, leadMs: -10 })], ctx(false)).status).toBe('pass');
    expect(streamingProbe.judge([observed({ spreadMs: 450, leadMs: 430 })], ctx(false)).status).toBe('fail');
  });
});
