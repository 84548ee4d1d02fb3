// The signed one-click unsubscribe link (services/api routes/unsubscribe): which contact and channel
// a delivery went to, and the `unsubscribed` engagement event recorded against that delivery.
// The opt-out itself is optOutContact (channel-state-queries.ts).
import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { decodeRows, rowsOf, toNumber, toOneOf } from '../rows';
import { deliveries, deliveryEvents } from '../schema';
import { bare } from '../sql-names';
import { DELIVERY_CHANNELS } from './outbox-queries';

export interface DeliveryRecipient {
  deliveryId: number;
  contactId: number;
  channel: (typeof DELIVERY_CHANNELS)[number];
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
  const d = deliveries;
  const [recipient = null] = decodeRows(
    await db.execute(sql`
      select ${d.contactId}, ${d.channel} from ${d} where ${d.id} = ${deliveryId}
      ${opts.lock ? sql`for update` : sql``}`),
    (r): DeliveryRecipient => ({ deliveryId, contactId: toNumber(r.contact_id), channel: toOneOf(DELIVERY_CHANNELS, r.channel) }),
  );
  return recipient;
}

/**
 * Records that the recipient unsubscribed through this delivery's link, once: a second call for
 * the same delivery writes nothing and answers false.
 */
export async function recordUnsubscribedEvent(
  db: Queryable,
  e: { deliveryId: number; channel: DeliveryRecipient['channel']; payload?: Record<string, unknown> },
): Promise<boolean> {
  const ev = deliveryEvents;
  const rows = rowsOf(
    await db.execute(sql`
      insert into ${ev} (${bare(ev.deliveryId)}, ${bare(ev.channel)}, ${bare(ev.type)}, ${bare(ev.payload)})
      select ${e.deliveryId}, ${e.channel}, 'unsubscribed', ${JSON.stringify(e.payload ?? {})}::jsonb
      where not exists (select 1 from ${ev} where ${ev.deliveryId} = ${e.deliveryId} and ${ev.type} = 'unsubscribed')
      returning ${ev.id}`),
  );
  return rows.length > 0;
}
