// One address, one message (issue 11): every delivery that would carry a policy to an address
// claims that address in policy_addresses first — fan-out, update and revocation notices,
// fallbacks — and one that finds it claimed is not sent but merged into the claimant. The rule,
// counted as provider calls: at most one message per address per policy version (the policy or
// its update notice), one revocation notice per address per policy; a digest carries every
// policy it lists (its held deliveries hold their claims); retries resend the same delivery.
import { type SQL, sql } from 'drizzle-orm';
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Queryable } from '../create-db';
import { inStatuses, REACHED_STATUSES } from '../delivery-statuses';
import { decodeRows, toNumber } from '../rows';
import { contacts, deliveries, policyAddresses } from '../schema';
import { bigintArray, textArray } from '../sql-arrays';
import { bare, qualified } from '../sql-names';

/** The claim a delivery of `kind` makes: update notices share the version's, revocations have their own. */
export const claimKind = (kind: string): 'policy' | 'revocation' => (kind === 'revocation' ? 'revocation' : 'policy');

/** New deliveries, as arrays: ids, their contacts and channels. */
export interface FreshDeliveries {
  ids: number[];
  contactIds: number[];
  channels: string[];
}

/** The address of contact row `c` on `channel` as claims compare it (null when it has none). */
export const addressSql = (c: string, channel: SQL): SQL =>
  sql`(case ${channel} when 'sms' then ${qualified(c, contacts.phone)} when 'email' then lower(${qualified(c, contacts.email)})
    else ${qualified(c, contacts.wechatOpenid)} end)`;

/** An address (addressSql) as policy_addresses keeps it: only a hash, its md5 as a uuid. */
export const hashAddressSql = (address: SQL): SQL => sql`md5(${address})::uuid`;

/** The address of contact row `c` on `channel`, hashed as policy_addresses keeps it. */
export const addressHashSql = (c: string, channel: SQL): SQL => hashAddressSql(addressSql(c, channel));

// The address of each new delivery, hashed as policy_addresses keeps it.
const freshAddresses = (fresh: FreshDeliveries) => sql`
  select f.id, f.channel, ${addressHashSql('c', sql`f.channel`)} as hash
  from unnest(${bigintArray(fresh.ids)}, ${bigintArray(fresh.contactIds)}, ${textArray(fresh.channels)}) as f(id, contact_id, channel)
  join ${contacts} c on ${qualified('c', contacts.id)} = f.contact_id`;

/**
 * Claims the addresses of new deliveries of one policy version (the lowest id of those sharing
 * an address claims it), then merges every one whose address another delivery holds (`merged`,
 * duplicate_of the claimant). Two statements, so a claim made meanwhile by a concurrent
 * transaction (a fallback acked while a chunk fans out) is seen by the second: the primary key
 * decides between them, and the loser merges into the winner.
 *
 * The new deliveries come in as arrays and every look-up is by a whole key (contacts by id,
 * policy_addresses by its primary key), so the cost of a fan-out chunk does not grow with the
 * push, whatever the planner believes about a table filled since its last ANALYZE.
 * Returns the ids merged.
 */
export async function claimAddresses(
  tx: Queryable,
  // policy | revocation | reminder:N (reminderClaimKind: one message per address per reminder step)
  key: { policyId: number; policyVersion: number; kind: string },
  fresh: FreshDeliveries,
): Promise<number[]> {
  if (!fresh.ids.length) return [];
  const a = policyAddresses;
  const d = deliveries;
  await tx.execute(sql`
    insert into ${a} (${bare(a.policyId)}, ${bare(a.policyVersion)}, ${bare(a.kind)}, ${bare(a.channel)}, ${bare(a.addressHash)},
      ${bare(a.deliveryId)})
    select distinct on (channel, hash) ${key.policyId}, ${key.policyVersion}, ${key.kind}, channel, hash, id
    from (${freshAddresses(fresh)}) f
    where hash is not null
    order by channel, hash, id
    on conflict do nothing`);
  return decodeRows(
    await tx.execute(sql`
      update ${d} set ${bare(d.status)} = 'merged', ${bare(d.duplicateOf)} = claim.delivery_id, ${bare(d.updatedAt)} = now()
      from (${freshAddresses(fresh)}) f
      cross join lateral (
        select ${a.deliveryId} from ${a}
        where ${a.policyId} = ${key.policyId} and ${a.policyVersion} = ${key.policyVersion} and ${a.kind} = ${key.kind}
          and ${a.channel} = f.channel and ${a.addressHash} = f.hash
        -- limit 1 keeps this a look-up per row: flattened, it becomes a hash of every address the push has claimed.
        limit 1
      ) claim
      -- id = any(…) as well: the rows are found by key whatever the join with f is planned as.
      where ${d.id} = any(${bigintArray(fresh.ids)}) and ${d.id} = f.id and claim.delivery_id <> f.id
      returning ${d.id}`),
    (r) => toNumber(r.id),
  );
}

/**
 * Whether the message of delivery `d` (a table alias) went out: its own, or that of the delivery
 * it was merged into, or of the digest it (or the delivery it was merged into) was folded into.
 * A contact merged into a message that reached its address was reached by it.
 */
export const messageWentOut = (d: string): SQL => {
  const t = (column: AnyPgColumn) => qualified(d, column);
  const carrier = alias(deliveries, 'carrier');
  const digest = alias(deliveries, 'digest');
  return sql`exists (
    select 1 from ${deliveries} ${carrier}
    left join ${deliveries} ${digest} on ${carrier.status} = 'digested' and ${digest.id} = ${carrier.digestId}
    where ${carrier.id} = case ${t(deliveries.status)} when 'merged' then ${t(deliveries.duplicateOf)}
        when 'digested' then ${t(deliveries.digestId)} else ${t(deliveries.id)} end
      and coalesce(${digest.status}, ${carrier.status}) ${inStatuses(REACHED_STATUSES)})`;
};
