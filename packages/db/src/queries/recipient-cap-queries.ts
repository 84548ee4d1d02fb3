import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { shanghaiDate } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { decodeRows, toNumber, toText } from '../rows';
import { addressDailySends } from '../schema';
import { intArray, textArray } from '../sql-arrays';
import { bare } from '../sql-names';

const a = addressDailySends;

// The per-recipient cap: at most N pushes per address per Beijing day, across all departments.
export const addressKey = (channel: string, address: string): string =>
  `${channel}:${createHash('sha256')
    .update(channel === 'email' ? address.toLowerCase() : address)
    .digest('base64url')
    .slice(0, 22)}`;

/** The day the cap counts in: the Shanghai calendar day, 'YYYY-MM-DD'. */
export const beijingDay = shanghaiDate;

/**
 * How many pushes each address got on `day`. One primary-key look-up per address (a lateral with
 * limit 1): as "address_key = any(…)" on a table not analysed since it filled, the planner took
 * the array to match every row and read the whole table per batch (2.9 million rows in one push).
 */
export async function sendsToday(db: Queryable, keys: string[], day: string): Promise<Map<string, number>> {
  if (!keys.length) return new Map();
  const sends = decodeRows(
    await db.execute(
      sql`select k.address_key, found.sent
        from unnest(${textArray(keys)}) as k(address_key)
        cross join lateral (select ${a.sent} from ${a} where ${a.addressKey} = k.address_key and ${a.day} = ${day}::date limit 1) found`,
    ),
    (r): [string, number] => [toText(r.address_key), toNumber(r.sent)],
  );
  return new Map(sends);
}

/** Counts sends (several per address allowed) on `day`. */
export async function countSends(db: Queryable, keys: string[], day: string): Promise<void> {
  if (!keys.length) return;
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  await db.execute(sql`
    insert into ${a} (${bare(a.addressKey)}, ${bare(a.day)}, ${bare(a.sent)})
    select k, ${day}::date, n from unnest(${textArray([...counts.keys()])}, ${intArray([...counts.values()])}) as v(k, n)
    on conflict (${bare(a.addressKey)}, ${bare(a.day)}) do update set ${bare(a.sent)} = ${a.sent} + excluded.${bare(a.sent)}`);
}
