// The signed one-click unsubscribe link (services/api routes/unsubscribe): which contact and channel
// a delivery went to, and the `unsubscribed` engagement event recorded against that delivery.
// The opt-out itself is optOutContact (channel-state-queries.ts).
import { sql } from 'drizzle-orm';
import type { Channel } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';

export interface DeliveryRecipient {
  deliveryId: number;
  contactId: number;
  channel: Channel;
}

/** The contact and channel a delivery went to, or null for an unknown delivery. */
export async function getDeliveryRecipient(
  db: Queryable,
  deliveryId: number,
  opts: { lock?: boolean } = {},
): Promise<DeliveryRecipient | null> {
  // With `lock`, the delivery row stays locked until the transaction ends, so two clicks on one
  // link at the same moment run one after the other and record a single event. The lock is on
  // one row for a few milliseconds; claims skip locked rows and acks by id only wait that long.
  const [row] = rowsOf<{ contact_id: string | number; channel: DeliveryRecipient['channel'] }>(
    await db.execute(sql`
      select contact_id, channel from deliveries where id = ${deliveryId}
      ${opts.lock ? sql`for update` : sql``}`),
  );
  return row ? { deliveryId, contactId: Number(row.contact_id), channel: row.channel } : null;
}

/**
 * Records that the recipient unsubscribed through this delivery's link, once: a second call for
 * the same delivery writes nothing and answers false.
 */
export async function recordUnsubscribedEvent(
  db: Queryable,
  e: { deliveryId: number; channel: DeliveryRecipient['channel']; payload?: Record<string, unknown> },
): Promise<boolean> {
  const rows = rowsOf(
    await db.execute(sql`
      insert into delivery_events (delivery_id, channel, type, payload)
      select ${e.deliveryId}, ${e.channel}, 'unsubscribed', ${JSON.stringify(e.payload ?? {})}::jsonb
      where not exists (select 1 from delivery_events where delivery_id = ${e.deliveryId} and type = 'unsubscribed')
      returning id`),
  );
  return rows.length > 0;
}
