import { describe, expect, it } from 'vitest';
import { type Clock, RateLimiter, type WindowStore } from './rate-limiter';

/** The shared store as Postgres keeps it, in memory: grants never exceed the limit per window. */
function memoryStore(): WindowStore & { used: Map<string, number>; calls: number } {
  const used = new Map<string, number>();
  const store = {
    used,
    calls: 0,
    async take(bucket: string, start: Date, wanted: number, limit: number) {
      store.calls += 1;
      const key = `${bucket}@${start.toISOString()}`;
      const u = used.get(key) ?? 0;
      const granted = Math.min(wanted, Math.max(limit - u, 0));
      used.set(key, u + granted);
      return granted;
    },
  };
  return store;
}

function fakeClock(start = 0): Clock & { t: number; slept: number[] } {
  const c = {
    t: start,
    slept: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.slept.push(ms);
      c.t += ms;
    },
  };
  return c;
}

describe('rate limiter', () => {
  it('holds SMS to its segments per second, waiting for the next window when spent', async () => {
    const store = memoryStore();
    const clock = fakeClock(10_000);
    const limiter = new RateLimiter(store, { sms: [{ bucket: 'sms', limit: 50, windowMs: 1000, whenSpent: 'wait' }] }, clock);
    let sentInFirstSecond = 0;
    for (let i = 0; i < 40; i++) {
      expect(await limiter.acquire('sms', 2)).toEqual({ ok: true });
      if (clock.t < 11_000) sentInFirstSecond += 2;
    }
    expect(sentInFirstSecond).toBe(50);
    expect(clock.slept).toEqual([1000]);
    expect(store.used.get(`sms@${new Date(10_000).toISOString()}`)).toBe(50);
    expect(store.calls).toBeLessThan(20); // slices, not one call per message
  });

  it('shares a window between replicas without exceeding it', async () => {
    const store = memoryStore();
    const clock = fakeClock(0);
    const rule = { sms: [{ bucket: 'sms', limit: 30, windowMs: 1000, whenSpent: 'pause' as const }] };
    const a = new RateLimiter(store, rule, clock);
    const b = new RateLimiter(store, rule, clock);
    let granted = 0;
    for (let i = 0; i < 40; i++) if ((await (i % 2 ? a : b).acquire('sms', 1)).ok) granted += 1;
    expect(granted).toBe(30);
  });

  it('answers when a daily quota reopens (midnight Asia/Shanghai) instead of waiting', async () => {
    const store = memoryStore();
    const noonShanghai = Date.parse('2026-11-27T04:00:00Z');
    const clock = fakeClock(noonShanghai);
    const day = 86_400_000;
    const limiter = new RateLimiter(
      store,
      { wechat: [{ bucket: 'wechat-day', limit: 2, windowMs: day, offsetMs: 8 * 3_600_000, whenSpent: 'pause' }] },
      clock,
    );
    expect((await limiter.acquire('wechat', 1)).ok).toBe(true);
    expect((await limiter.acquire('wechat', 1)).ok).toBe(true);
    expect(await limiter.acquire('wechat', 1)).toEqual({ ok: false, until: new Date('2026-11-27T16:00:00Z'), quota: true });
    expect(clock.slept).toEqual([]);
  });

  it('waits for the next window only up to waitUntil, then answers when to come back', async () => {
    const clock = fakeClock(10_200);
    const limiter = new RateLimiter(memoryStore(), { sms: [{ bucket: 'sms', limit: 2, windowMs: 1000, whenSpent: 'wait' }] }, clock);
    const permits = [];
    for (let i = 0; i < 6; i++) permits.push(await limiter.acquire('sms', 1, 11_200));
    // Two in this window, two after waiting 800 ms for the next; the window after that opens past
    // the caller's deadline: come back when it does.
    expect(permits.slice(0, 4)).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
    expect(clock.slept).toEqual([800]);
    expect(permits[4]).toEqual({ ok: false, until: new Date(12_000), quota: false });
    expect(permits[5]).toEqual({ ok: false, until: new Date(12_000), quota: false });
  });

  it('lets channels without an allowance through', async () => {
    const limiter = new RateLimiter(memoryStore(), {}, fakeClock());
    expect(await limiter.acquire('email', 1)).toEqual({ ok: true });
  });

  it('knows, without asking the store, when a channel has no allowance left in this window', async () => {
    const store = memoryStore();
    const clock = fakeClock(10_000);
    const limiter = new RateLimiter(store, { sms: [{ bucket: 'sms', limit: 4, windowMs: 1000, whenSpent: 'wait' }] }, clock);
    expect(limiter.maySpend('sms')).toBe(true);
    expect(await limiter.acquire('sms', 4)).toEqual({ ok: true });
    expect(limiter.maySpend('sms')).toBe(true); // not refused yet
    expect(await limiter.acquire('sms', 1, clock.t)).toEqual({ ok: false, until: new Date(11_000), quota: false });
    const calls = store.calls;
    expect(limiter.maySpend('sms')).toBe(false);
    expect(limiter.maySpend('wechat')).toBe(true); // no allowance configured
    expect(store.calls).toBe(calls);
    clock.t = 11_000;
    expect(limiter.maySpend('sms')).toBe(true);
  });
});
