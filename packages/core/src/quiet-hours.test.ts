import { describe, expect, it } from 'vitest';
import { quietUntil } from './quiet-hours';

const at = (iso: string) => new Date(iso);

describe('quiet hours (Asia/Shanghai)', () => {
  it('holds a 23:00 send until 08:00 the next morning', () => {
    expect(quietUntil(at('2026-11-27T23:00:00+08:00'), '22:00-08:00')).toEqual(at('2026-11-28T08:00:00+08:00'));
  });
  it('holds a 03:00 send until 08:00 the same morning', () => {
    expect(quietUntil(at('2026-11-28T03:00:00+08:00'), '22:00-08:00')).toEqual(at('2026-11-28T08:00:00+08:00'));
  });
  it('lets daytime sends through, and the window edges are [start, end)', () => {
    expect(quietUntil(at('2026-11-27T12:00:00+08:00'), '22:00-08:00')).toBeNull();
    expect(quietUntil(at('2026-11-27T08:00:00+08:00'), '22:00-08:00')).toBeNull();
    expect(quietUntil(at('2026-11-27T22:00:00+08:00'), '22:00-08:00')).toEqual(at('2026-11-28T08:00:00+08:00'));
  });
  it('handles a window within one day, and an empty one', () => {
    expect(quietUntil(at('2026-11-27T13:30:00+08:00'), '12:00-14:00')).toEqual(at('2026-11-27T14:00:00+08:00'));
    expect(quietUntil(at('2026-11-27T13:30:00+08:00'), '00:00-00:00')).toBeNull();
  });
});
