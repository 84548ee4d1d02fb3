// The Asia/Shanghai calendar day, the day of every cap, quota, digest and date this service has.
// Mainland China has kept UTC+8 all year since 1991 (no daylight saving), so a fixed offset is
// exact and nothing here needs a time-zone database. SQL says `at time zone` with SHANGHAI_TIME_ZONE.

export const SHANGHAI_TIME_ZONE = 'Asia/Shanghai';
export const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
export const DAY_MS = 86_400_000;

/**
 * The instant's Shanghai wall clock, as a Date whose UTC fields (getUTCFullYear … getUTCMinutes,
 * getUTCDay) read as the local date and time. Only for reading fields: it is not the instant.
 */
export function shanghaiWallClock(instant: Date): Date {
  return new Date(instant.getTime() + SHANGHAI_OFFSET_MS);
}

/** The Shanghai calendar day the instant falls in, 'YYYY-MM-DD'. */
export function shanghaiDate(instant: Date): string {
  return shanghaiWallClock(instant).toISOString().slice(0, 10);
}

/**
 * The instant a Shanghai wall-clock reading names: 'YYYY-MM-DDTHH:MM:SS' (a form's datetime-local,
 * a day's 'T00:00:00'). An Invalid Date when the text is not such a reading.
 */
export function fromShanghaiWallClock(local: string): Date {
  return new Date(`${local}+08:00`);
}

/** The midnight in Shanghai that starts the day the instant falls in. */
export function shanghaiDayStart(instant: Date): Date {
  return new Date(Math.floor((instant.getTime() + SHANGHAI_OFFSET_MS) / DAY_MS) * DAY_MS - SHANGHAI_OFFSET_MS);
}

/** The next midnight in Shanghai: the end of the day the instant falls in, and the next day's start. */
export function shanghaiDayEnd(instant: Date): Date {
  return new Date(shanghaiDayStart(instant).getTime() + DAY_MS);
}
