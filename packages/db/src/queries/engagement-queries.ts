// Engagement through the signed `/r/<token>` redirect that carries every link in every message
// (services/api routes/open-link): where a delivery's link leads, and its opens. No tracker, no
// pixel: an open is a person following the link.
import type { MachineOpenReason } from '@policy-push/core';
import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { decodeRows, orNull, rowsOf, toBoolean, toDate, toNumber, toText } from '../rows';
import { deliveries, deliveryEvents, deliveryOpens, policies, reachDirty } from '../schema';
import { bare } from '../sql-names';

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
  const d = deliveries;
  const p = policies;
  const [target = null] = decodeRows(
    await db.execute(sql`
      select ${d.id}, ${d.contactId}, ${d.channel}, ${d.kind}, coalesce(${d.sentAt}, ${d.finishedAt}) as sent_at, ${p.url},
        ${p.interpretationUrls}[1] as interpretation_url
      from ${d} left join ${p} on ${p.id} = ${d.policyId}
      where ${d.id} = ${deliveryId}`),
    (r): OpenTarget => ({
      deliveryId: toNumber(r.id),
      contactId: toNumber(r.contact_id),
      channel: toText(r.channel),
      kind: toText(r.kind),
      policyUrl: orNull(toText, r.url),
      interpretationUrl: orNull(toText, r.interpretation_url),
      sentAt: orNull(toDate, r.sent_at),
    }),
  );
  return target;
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
  const op = deliveryOpens;
  const inserted = rowsOf(
    await tx.execute(sql`
      insert into ${op} (${bare(op.deliveryId)}, ${bare(op.firstOpenedAt)}, ${bare(op.lastOpenedAt)}, ${bare(op.opens)},
        ${bare(op.engagedAt)}, ${bare(op.machineOpens)})
      values (${o.deliveryId}, ${at}::timestamptz, ${at}::timestamptz, 1, ${person ? sql`${at}::timestamptz` : null}, ${person ? 0 : 1})
      on conflict (${bare(op.deliveryId)}) do nothing
      returning ${op.deliveryId}`),
  );
  let engagedMoved = person && inserted.length > 0;
  if (!inserted.length) {
    const [moved = false] = decodeRows(
      await tx.execute(sql`
        with prev as (select ${op.engagedAt} from ${op} where ${op.deliveryId} = ${o.deliveryId} for update)
        update ${op}
        set ${bare(op.lastOpenedAt)} = greatest(${op.lastOpenedAt}, ${at}::timestamptz), ${bare(op.opens)} = ${op.opens} + 1,
          ${bare(op.machineOpens)} = ${op.machineOpens} + ${person ? 0 : 1},
          ${bare(op.engagedAt)} = ${person ? sql`least(${op.engagedAt}, ${at}::timestamptz)` : sql`${op.engagedAt}`}
        from prev
        where ${op.deliveryId} = ${o.deliveryId}
        returning prev.engaged_at is distinct from ${op.engagedAt} as moved`),
      (r) => toBoolean(r.moved),
    );
    engagedMoved = moved;
  } else {
    const e = deliveryEvents;
    await tx.execute(sql`
      insert into ${e} (${bare(e.deliveryId)}, ${bare(e.channel)}, ${bare(e.type)}, ${bare(e.occurredAt)})
      values (${o.deliveryId}, ${o.channel}, 'opened', ${at}::timestamptz)`);
  }
  if (engagedMoved) {
    // Engagement is a change the reach counters see (the migration's reach_mark_dirty also queues
    // the deliveries merged into this one, and those a digest folded in).
    await tx.execute(sql`select reach_mark_dirty(array[${o.deliveryId}::bigint])`);
    const d = deliveries;
    await tx.execute(sql`
      insert into ${reachDirty} (${bare(reachDirty.policyId)}, ${bare(reachDirty.enterpriseId)}, ${bare(reachDirty.deliveryId)})
      select ${d.policyId}, ${d.enterpriseId}, ${d.id} from ${d}
      where ${d.id} = ${o.deliveryId} and ${d.kind} in ('update', 'reminder') and ${d.policyId} is not null`);
  }
  return { first: inserted.length > 0, engaged: engagedMoved };
}
