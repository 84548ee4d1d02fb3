export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

/**
 * Delay before retry number `attempt` (1 = first retry): base·2^(attempt−1), capped, then a
 * random point in [delay/2, delay]. The jitter spreads retries of a failed batch so they do not
 * hit a recovering provider together; the lower half is kept so a retry never comes too soon.
 */
export function retryDelayMs(attempt: number, opts: BackoffOptions, random: () => number): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const delay = Math.min(opts.capMs, opts.baseMs * 2 ** exponent);
  const jitter = Math.min(1, Math.max(0, random()));
  return Math.round(delay / 2 + (delay / 2) * jitter);
}
