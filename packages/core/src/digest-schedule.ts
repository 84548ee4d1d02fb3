// When digests go out: daily subscribers' at 08:30 Asia/Shanghai, weekly ones' on Monday at 08:30
// (the dispatcher's digest jobs fire then; ARCHITECTURE.md "Delivery states").
import { DAY_MS, shanghaiDayStart, shanghaiWallClock } from './shanghai-day';

const AT_08_30 = (8 * 60 + 30) * 60_000;

/** The next digest of `frequency` after `now`. */
export function nextDigestAt(frequency: 'daily' | 'weekly', now: Date): Date {
  let at = shanghaiDayStart(now).getTime() + AT_08_30;
  if (at <= now.getTime()) at += DAY_MS;
  if (frequency === 'weekly') while (shanghaiWallClock(new Date(at)).getUTCDay() !== 1) at += DAY_MS;
  return new Date(at);
}
