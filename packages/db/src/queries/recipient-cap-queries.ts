import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { shanghaiDate } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';
import { intArray, textArray } from '../sql-arrays';

// The per-recipient cap: at most N pushes per address per Beijing day, across all departments.
export const addressKey = (channel: string, address: string): string =>
  `${channel}:${createHash('sha256')
    .update(channel === 'email' ? address.toLowerCase() : address)
    .digest('base64url')
    .slice(0, 22)}`;

/** The day the cap counts in: the Shanghai calendar day, 'YYYY-MM-DD'. */
export const beijingDay = shanghaiDate;

/** How many pushes each address got on `day`. */
export async function sendsToday(db: Queryable, keys: string[], day: string): Promise<Map<string, number>> {
  if (!keys.length) return new Map();
  const rows = rowsOf<{ address_key: string; sent: number }>(
    await db.execute(
      sql`select address_key, sent from address_daily_sends where address_key = any(${textArray(keys)}) and day = ${day}::date`,
    ),
  );
  return new Map(rows.map((r) => [r.address_key, r.sent]));
}

/** Counts sends (several per address allowed) on `day`. */
export async function countSends(db: Queryable, keys: string[], day: string): Promise<void> {
  if (!keys.length) return;
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  await db.execute(sql`
    insert into address_daily_sends (address_key, day, sent)
    select k, ${day}::date, n from unnest(${textArray([...counts.keys()])}, ${intArray([...counts.values()])}) as v(k, n)
    on conflict (address_key, day) do update set sent = address_daily_sends.sent + excluded.sent`);
}
