import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { retryDelayMs } from './retry';

const opts = { baseMs: 1000, capMs: 60_000 };

describe('retryDelayMs', () => {
  it('doubles from the base, between half and the full delay', () => {
    expect(retryDelayMs(1, opts, () => 0)).toBe(500);
    expect(retryDelayMs(1, opts, () => 1)).toBe(1000);
    expect(retryDelayMs(2, opts, () => 0)).toBe(1000);
    expect(retryDelayMs(3, opts, () => 0.5)).toBe(3000);
  });

  it('caps the delay', () => {
    expect(retryDelayMs(7, opts, () => 1)).toBe(60_000);
    expect(retryDelayMs(100, opts, () => 0)).toBe(30_000);
    expect(retryDelayMs(10_000, opts, () => 1)).toBe(60_000);
  });

  it('treats an attempt below 1 as the first', () => {
    expect(retryDelayMs(0, opts, () => 1)).toBe(1000);
    expect(retryDelayMs(-3, opts, () => 1)).toBe(1000);
  });

  it('stays within [delay/2, delay] for any attempt and random value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const delay = Math.min(opts.capMs, opts.baseMs * 2 ** (attempt - 1));
        const ms = retryDelayMs(attempt, opts, () => r);
        return ms >= delay / 2 && ms <= delay;
      }),
    );
  });
});
