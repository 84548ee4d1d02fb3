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

export type Permit = { ok: true } | { ok: false; until: Date };

export class RateLimiter {
  private local = new Map<string, { windowStart: number; left: number }>();

  constructor(
    private readonly store: WindowStore,
    private readonly allowances: Record<string, Allowance[]>,
    private readonly clock: Clock,
  ) {}

  /** Waits until `units` may be spent on the channel, or answers when its quota reopens. */
  async acquire(channel: string, units: number): Promise<Permit> {
    for (const a of this.allowances[channel] ?? []) {
      for (;;) {
        const start = windowStart(this.clock.now(), a);
        if (await this.takeLocal(a, start, units)) break;
        const next = start + a.windowMs;
        if (a.whenSpent === 'pause') return { ok: false, until: new Date(next) };
        await this.clock.sleep(next - this.clock.now());
      }
    }
    return { ok: true };
  }

  private async takeLocal(a: Allowance, start: number, units: number): Promise<boolean> {
    let slot = this.local.get(a.bucket);
    if (!slot || slot.windowStart !== start) {
      slot = { windowStart: start, left: 0 };
      this.local.set(a.bucket, slot);
    }
    if (slot.left < units) {
      // A tenth of the window at a time (at least what this send needs).
      const slice = Math.max(units - slot.left, Math.ceil(a.limit / 10));
      slot.left += await this.store.take(a.bucket, new Date(start), slice, a.limit);
    }
    if (slot.left < units) return false;
    slot.left -= units;
    return true;
  }
}

const windowStart = (now: number, a: Allowance) => {
  const offset = a.offsetMs ?? 0;
  return Math.floor((now + offset) / a.windowMs) * a.windowMs - offset;
};
