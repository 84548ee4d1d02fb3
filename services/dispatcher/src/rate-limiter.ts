// Provider allowances in the provider's own unit (SMS segments per second, WeChat messages per
// day), shared by every replica through fixed windows in Postgres. Each replica takes a slice of
// a window at a time, so replicas share it fairly and the database sees one call per slice.
export interface WindowStore {
  take(bucket: string, windowStart: Date, wanted: number, limit: number): Promise<number>;
}

export interface Allowance {
  bucket: string;
  limit: number;
  windowMs: number;
  /** Offset of the window boundaries from the epoch, e.g. 8 h for days in Asia/Shanghai. */
  offsetMs?: number;
  /** 'wait' for a short window (wait for the next one); 'pause' for a quota (close the channel). */
  whenSpent: 'wait' | 'pause';
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * Not now: a quota is spent (`quota`: pause the channel until it reopens), or a short window is
 * spent past the caller's `waitUntil` (the send goes back to the queue until `until`).
 */
export type Permit = { ok: true } | { ok: false; until: Date; quota: boolean };

export class RateLimiter {
  private local = new Map<string, { windowStart: number; left: number; spent: boolean; taking?: Promise<void> }>();

  constructor(
    private readonly store: WindowStore,
    private readonly allowances: Record<string, Allowance[]>,
    private readonly clock: Clock,
  ) {}

  /**
   * Waits until `units` may be spent on the channel, but not past `waitUntil` (epoch ms); answers
   * when a quota reopens instead of waiting for it.
   */
  async acquire(channel: string, units: number, waitUntil = Infinity): Promise<Permit> {
    for (const a of this.allowances[channel] ?? []) {
      for (;;) {
        const start = windowStart(this.clock.now(), a);
        if (await this.takeLocal(a, start, units)) break;
        const next = start + a.windowMs;
        if (a.whenSpent === 'pause') return { ok: false, until: new Date(next), quota: true };
        if (next > waitUntil) return { ok: false, until: new Date(next), quota: false };
        await this.clock.sleep(next - this.clock.now());
      }
    }
    return { ok: true };
  }

  /**
   * False while one of the channel's windows is known spent (this replica was refused more of it
   * and holds none): its deliveries are not claimed until the window turns. Asks nothing of the store.
   */
  maySpend(channel: string): boolean {
    const now = this.clock.now();
    return (this.allowances[channel] ?? []).every((a) => {
      const slot = this.local.get(a.bucket);
      return !slot || slot.windowStart !== windowStart(now, a) || !slot.spent || slot.left > 0;
    });
  }

  private async takeLocal(a: Allowance, start: number, units: number): Promise<boolean> {
    for (;;) {
      let slot = this.local.get(a.bucket);
      if (!slot || slot.windowStart !== start) {
        slot = { windowStart: start, left: 0, spent: false };
        this.local.set(a.bucket, slot);
      }
      if (slot.left >= units) {
        slot.left -= units;
        return true;
      }
      if (slot.spent) return false;
      // One request to the shared window at a time per bucket: the sends in flight wait for it
      // rather than all queueing on the same row (a tenth of the window at a time).
      if (!slot.taking) {
        const s = slot;
        const slice = Math.max(units - s.left, Math.ceil(a.limit / 10));
        s.taking = this.store.take(a.bucket, new Date(start), slice, a.limit).then(
          (granted) => {
            s.left += granted;
            if (granted < slice) s.spent = true;
            s.taking = undefined;
          },
          (err) => {
            s.taking = undefined;
            throw err;
          },
        );
      }
      await slot.taking;
    }
  }
}

const windowStart = (now: number, a: Allowance) => {
  const offset = a.offsetMs ?? 0;
  return Math.floor((now + offset) / a.windowMs) * a.windowMs - offset;
};
