// When digests go out: daily subscribers' at 08:30 Asia/Shanghai, weekly ones' on Monday at 08:30
// (the dispatcher's digest jobs fire then; ARCHITECTURE.md "Delivery states").
const SHANGHAI_MS = 8 * 3_600_000; // UTC+8 all year: China has no daylight saving time
const DAY_MS = 86_400_000;

/** The next digest of `frequency` after `now`. */
export function nextDigestAt(frequency: 'daily' | 'weekly', now: Date): Date {
  const local = new Date(now.getTime() + SHANGHAI_MS);
  let at = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), 8, 30) - SHANGHAI_MS;
  if (at <= now.getTime()) at += DAY_MS;
  if (frequency === 'weekly') while (new Date(at + SHANGHAI_MS).getUTCDay() !== 1) at += DAY_MS;
  return new Date(at);
}
