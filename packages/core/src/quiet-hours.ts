// Quiet hours (ARCHITECTURE.md): SMS and WeChat are not sent at night in Asia/Shanghai; such
// deliveries wait for the window to open.
import { DAY_MS, shanghaiDayStart } from './shanghai-day';

const PATTERN = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

export const isQuietHours = (window: string) => PATTERN.test(window);

/** When `now` falls inside the window ('22:00-08:00', may wrap midnight), the moment it ends; else null. */
export function quietUntil(now: Date, window: string): Date | null {
  const m = PATTERN.exec(window);
  if (!m) throw new Error(`not a quiet-hours window: ${window}`);
  const start = (Number(m[1]) * 60 + Number(m[2])) * 60_000;
  const end = (Number(m[3]) * 60 + Number(m[4])) * 60_000;
  if (start === end) return null;
  const dayStart = shanghaiDayStart(now).getTime();
  const t = now.getTime() - dayStart;
  const wraps = start > end;
  const inside = wraps ? t >= start || t < end : t >= start && t < end;
  if (!inside) return null;
  return new Date(dayStart + end + (wraps && t >= start ? DAY_MS : 0));
}
