// Engagement through the signed `/r/<token>` redirect that carries every link in every message
// (services/api routes/open-link): where a delivery's link leads, and its opens. No tracker, no
// pixel: an open is a person following the link.
import type { MachineOpenReason } from '@policy-push/core';
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
  /** When the message went out (its receipt's time when the send was never recorded), for machineOpen. */
  sentAt: Date | null;
}

/** Where a delivery's link leads, or null for an unknown delivery. */
export async function getOpenTarget(db: Queryable, deliveryId: number): Promise<OpenTarget | null> {
  const [row] = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select d.id, d.contact_id, d.channel, d.kind, coalesce(d.sent_at, d.finished_at) as sent_at, p.url, p.interpretation_urls[1] as interpretation_url
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
    sentAt: row.sent_at ? new Date(row.sent_at as string) : null,
  };
}

/**
 * Records one open of a delivery's link. Every open is counted in `opens` (a machine's also in
 * `machine_opens`: a HEAD, a scanner, too soon after the send; core/engagement.ts machineOpen); the
 * first one writes the `opened` event. A person's open sets engaged_at (the earliest one wins), and
 * when that moves the delivery is queued for the reach counters: a policy delivery with those that
 * share its fate, and an update or reminder of a policy too, since engagement with either engages
 * the enterprise. Two clicks at once are safe: the second insert waits for the first and then
 * finds its row. Run it in a transaction so the row, the event and the queue entry commit together.
 * Returns whether this was the first open, and whether it counted as engagement.
 */
export async function recordOpen(
  tx: Queryable,
  o: { deliveryId: number; channel: string; at: Date; machine?: MachineOpenReason | null },
): Promise<{ first: boolean; engaged: boolean }> {
  const at = o.at.toISOString();
  const person = !o.machine;
  const inserted = rowsOf(
    await tx.execute(sql`
      insert into delivery_opens (delivery_id, first_opened_at, last_opened_at, opens, engaged_at, machine_opens)
      values (${o.deliveryId}, ${at}::timestamptz, ${at}::timestamptz, 1, ${person ? sql`${at}::timestamptz` : null}, ${person ? 0 : 1})
      on conflict (delivery_id) do nothing
      returning delivery_id`),
  );
  let engagedMoved = person && inserted.length > 0;
  if (!inserted.length) {
    const [row] = rowsOf<{ moved: boolean }>(
      await tx.execute(sql`
        with prev as (select engaged_at from delivery_opens where delivery_id = ${o.deliveryId} for update)
        update delivery_opens d set last_opened_at = greatest(d.last_opened_at, ${at}::timestamptz), opens = d.opens + 1,
          machine_opens = d.machine_opens + ${person ? 0 : 1},
          engaged_at = ${person ? sql`least(d.engaged_at, ${at}::timestamptz)` : sql`d.engaged_at`}
        from prev
        where d.delivery_id = ${o.deliveryId}
        returning prev.engaged_at is distinct from d.engaged_at as moved`),
    );
    engagedMoved = Boolean(row?.moved);
  } else {
    await tx.execute(sql`
      insert into delivery_events (delivery_id, channel, type, occurred_at)
      values (${o.deliveryId}, ${o.channel}, 'opened', ${at}::timestamptz)`);
  }
  if (engagedMoved) {
    // Engagement is a change the reach counters see (the migration's reach_mark_dirty also queues
    // the deliveries merged into this one, and those a digest folded in).
    await tx.execute(sql`select reach_mark_dirty(array[${o.deliveryId}::bigint])`);
    await tx.execute(sql`
      insert into reach_dirty (policy_id, enterprise_id, delivery_id)
      select policy_id, enterprise_id, id from deliveries
      where id = ${o.deliveryId} and kind in ('update', 'reminder') and policy_id is not null`);
  }
  return { first: inserted.length > 0, engaged: engagedMoved };
}
