// Stops calling a provider that keeps failing, for a while, then lets one probe through: if it
// succeeds the circuit closes, if not it opens again. Per process: each replica learns on its own.
export interface BreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
  now?: () => number;
}

export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly opts: BreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Whether a call may go out now; while half-open, only one probe at a time. */
  allow(): boolean {
    if (this.failures < this.opts.failureThreshold) return true;
    if (this.now() < this.openUntil || this.probing) return false;
    this.probing = true;
    return true;
  }

  /**
   * Whether to claim this channel's deliveries now: closed, or half-open with no probe in flight.
   * Open, its deliveries stay in the outbox untouched until the cooldown ends.
   */
  mayClaim(): boolean {
    return this.failures < this.opts.failureThreshold || (this.now() >= this.openUntil && !this.probing);
  }

  /** Gives back a probe allow() granted but that was not sent (no allowance for it after all). */
  release(): void {
    this.probing = false;
  }

  /** Milliseconds until the next probe is allowed (0 when closed). */
  waitMs(): number {
    return this.failures < this.opts.failureThreshold ? 0 : Math.max(0, this.openUntil - this.now());
  }

  record(ok: boolean): void {
    this.probing = false;
    if (ok) {
      this.failures = 0;
      return;
    }
    this.failures += 1;
    if (this.failures >= this.opts.failureThreshold) this.openUntil = this.now() + this.opts.cooldownMs;
  }

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.failures < this.opts.failureThreshold) return 'closed';
    return this.now() < this.openUntil ? 'open' : 'half-open';
  }
}
