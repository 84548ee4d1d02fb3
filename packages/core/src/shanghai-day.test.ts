import { describe, expect, it } from 'vitest';
import { fromShanghaiWallClock, shanghaiDate, shanghaiDayEnd, shanghaiDayStart, shanghaiWallClock } from './shanghai-day';

describe('the Shanghai day', () => {
  it('turns at 16:00 UTC', () => {
    const before = new Date('2024-05-01T15:59:59.999Z');
    const at = new Date('2024-05-01T16:00:00Z');
    expect(shanghaiDate(before)).toBe('2024-05-01');
    expect(shanghaiDate(at)).toBe('2024-05-02');
    expect(shanghaiDayStart(before).toISOString()).toBe('2024-04-30T16:00:00.000Z');
    expect(shanghaiDayStart(at).toISOString()).toBe('2024-05-01T16:00:00.000Z');
    expect(shanghaiDayEnd(before).toISOString()).toBe('2024-05-01T16:00:00.000Z');
    expect(shanghaiDayEnd(at).toISOString()).toBe('2024-05-02T16:00:00.000Z');
  });

  it('is ahead of the UTC date in the UTC morning, and crosses years and leap days', () => {
    expect(shanghaiDate(new Date('2030-01-01T20:00:00Z'))).toBe('2030-01-02');
    expect(shanghaiDate(new Date('2024-12-31T16:00:00Z'))).toBe('2025-01-01');
    expect(shanghaiDate(new Date('2024-02-28T16:30:00Z'))).toBe('2024-02-29');
    expect(shanghaiDayStart(new Date('2024-03-01T00:00:00Z')).toISOString()).toBe('2024-02-29T16:00:00.000Z');
  });

  it('reads the local date, time and weekday from the wall clock', () => {
    const local = shanghaiWallClock(new Date('2024-05-05T17:05:00Z')); // Monday 6 May, 01:05 in Shanghai
    expect([local.getUTCFullYear(), local.getUTCMonth() + 1, local.getUTCDate()]).toEqual([2024, 5, 6]);
    expect([local.getUTCHours(), local.getUTCMinutes(), local.getUTCDay()]).toEqual([1, 5, 1]);
  });

  it('reads a wall-clock text back as its instant', () => {
    expect(fromShanghaiWallClock('2024-05-02T00:00:00').toISOString()).toBe('2024-05-01T16:00:00.000Z');
    expect(fromShanghaiWallClock('2026-12-07T13:05:00').toISOString()).toBe('2026-12-07T05:05:00.000Z');
    expect(Number.isNaN(fromShanghaiWallClock('yesterday').getTime())).toBe(true);
  });

  it('keeps an instant inside its day: start <= instant < end', () => {
    for (let t = Date.parse('2024-01-01T00:00:00Z'); t < Date.parse('2024-01-03T00:00:00Z'); t += 37 * 60_000) {
      const instant = new Date(t);
      expect(shanghaiDayStart(instant).getTime()).toBeLessThanOrEqual(t);
      expect(shanghaiDayEnd(instant).getTime()).toBeGreaterThan(t);
      expect(shanghaiDate(shanghaiDayStart(instant))).toBe(shanghaiDate(instant));
    }
  });
});
