import { describe, expect, it } from 'vitest';
import { nextDigestAt } from './digest-schedule';

describe('nextDigestAt', () => {
  it('is the next 08:30 in Shanghai, or the next Monday 08:30 for weekly digests', () => {
    // Wednesday 2026-12-02 10:00 in Shanghai.
    const now = new Date('2026-12-02T10:00:00+08:00');
    expect(nextDigestAt('daily', now).toISOString()).toBe(new Date('2026-12-03T08:30:00+08:00').toISOString());
    expect(nextDigestAt('weekly', now).toISOString()).toBe(new Date('2026-12-07T08:30:00+08:00').toISOString());
    // Before 08:30 it is today's; exactly at 08:30 that one has gone.
    expect(nextDigestAt('daily', new Date('2026-12-02T07:00:00+08:00')).toISOString()).toBe(
      new Date('2026-12-02T08:30:00+08:00').toISOString(),
    );
    expect(nextDigestAt('weekly', new Date('2026-12-07T08:30:00+08:00')).toISOString()).toBe(
      new Date('2026-12-14T08:30:00+08:00').toISOString(),
    );
  });
});
