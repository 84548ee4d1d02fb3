// Engagement through the signed `/r/<token>` redirect that carries every link in every message
// (services/api routes/open-link): where a delivery's link leads, and its opens. No tracker, no
// pixel: an open is a person following the link.
import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';

export interface OpenTarget {
  deliveryId: number;
  contactId: number;
  channel: string;
  kind: string;
  /** The policy's page; null for a digest, whose link leads to the contact's inbox. */
  policyUrl: string | null;
  /** The first interpretation (解讀) page, when the policy has one. */
  interpretationUrl: string | null;
}

/** Where a delivery's link leads, or null for an unknown delivery. */
export async function getOpenTarget(db: Queryable, deliveryId: number): Promise<OpenTarget | null> {
  const [row] = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select d.id, d.contact_id, d.channel, d.kind, p.url, p.interpretation_urls[1] as interpretation_url
      from deliveries d left join policies p on p.id = d.policy_id
      where d.id = ${deliveryId}`),
  );
  if (!row) return null;
  return {
    deliveryId: Number(row.id),
    contactId: Number(row.contact_id),
    channel: row.channel as string,
    kind: row.kind as string,
    policyUrl: (row.url as string | null) ?? null,
    interpretationUrl: (row.interpretation_url as string | null) ?? null,
  };
}

/**
 * Records one open of a delivery's link: the first one creates its row, writes the `opened` event
 * and queues the delivery for the reach counters; later ones only move the last-open time. Two
 * clicks at once are safe: the second insert waits for the first and then finds its row. Run it in
 * a transaction so the row, the event and the queue entry commit together. Returns whether this
 * was the first open.
 */
export async function recordOpen(tx: Queryable, o: { deliveryId: number; channel: string; at: Date }): Promise<{ first: boolean }> {
  const at = o.at.toISOString();
  const inserted = rowsOf(
    await tx.execute(sql`
      insert into delivery_opens (delivery_id, first_opened_at, last_opened_at, opens)
      values (${o.deliveryId}, ${at}::timestamptz, ${at}::timestamptz, 1)
      on conflict (delivery_id) do nothing
      returning delivery_id`),
  );
  if (!inserted.length) {
    await tx.execute(sql`
      update delivery_opens set last_opened_at = greatest(last_opened_at, ${at}::timestamptz), opens = opens + 1
      where delivery_id = ${o.deliveryId}`);
    return { first: false };
  }
  await tx.execute(sql`
    insert into delivery_events (delivery_id, channel, type, occurred_at)
    values (${o.deliveryId}, ${o.channel}, 'opened', ${at}::timestamptz)`);
  // Engagement is a change the reach counters see (the migration's reach_mark_dirty also queues
  // the deliveries merged into this one, and those a digest folded in).
  await tx.execute(sql`select reach_mark_dirty(array[${o.deliveryId}::bigint])`);
  return { first: true };
}
