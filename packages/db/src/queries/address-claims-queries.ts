// One address, one message (issue 11): every delivery that would carry a policy to an address
// claims that address in policy_addresses first — fan-out, update and revocation notices,
// fallbacks — and one that finds it claimed is not sent but merged into the claimant. The rule,
// counted as provider calls: at most one message per address per policy version (the policy or
// its update notice), one revocation notice per address per policy; a digest carries every
// policy it lists (its held deliveries hold their claims); retries resend the same delivery.
import { type SQL, sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { inStatuses, REACHED_STATUSES } from '../delivery-statuses';
import { rowsOf } from '../rows';
import { bigintArray, textArray } from '../sql-arrays';

/** The claim a delivery of `kind` makes: update notices share the version's, revocations have their own. */
export const claimKind = (kind: string): 'policy' | 'revocation' => (kind === 'revocation' ? 'revocation' : 'policy');

/** New deliveries, as arrays: ids, their contacts and channels. */
export interface FreshDeliveries {
  ids: number[];
  contactIds: number[];
  channels: string[];
}

/** The address of contact row `c` on `channel`, hashed as policy_addresses keeps it (null when it has none). */
export const addressHashSql = (c: string, channel: SQL): SQL => {
  const t = sql.raw(c);
  return sql`md5(case ${channel} when 'sms' then ${t}.phone when 'email' then lower(${t}.email) else ${t}.wechat_openid end)`;
};

// The address of each new delivery, hashed as policy_addresses keeps it.
const freshAddresses = (fresh: FreshDeliveries) => sql`
  select f.id, f.channel, ${addressHashSql('c', sql`f.channel`)} as hash
  from unnest(${bigintArray(fresh.ids)}, ${bigintArray(fresh.contactIds)}, ${textArray(fresh.channels)}) as f(id, contact_id, channel)
  join contacts c on c.id = f.contact_id`;

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
  await tx.execute(sql`
    insert into policy_addresses (policy_id, policy_version, kind, channel, address_hash, delivery_id)
    select distinct on (channel, hash) ${key.policyId}, ${key.policyVersion}, ${key.kind}, channel, hash, id
    from (${freshAddresses(fresh)}) f
    where hash is not null
    order by channel, hash, id
    on conflict do nothing`);
  const merged = rowsOf<{ id: string | number }>(
    await tx.execute(sql`
      update deliveries d set status = 'merged', duplicate_of = claim.delivery_id, updated_at = now()
      from (${freshAddresses(fresh)}) f
      cross join lateral (
        select a.delivery_id from policy_addresses a
        where a.policy_id = ${key.policyId} and a.policy_version = ${key.policyVersion} and a.kind = ${key.kind}
          and a.channel = f.channel and a.address_hash = f.hash
        -- limit 1 keeps this a look-up per row: flattened, it becomes a hash of every address the push has claimed.
        limit 1
      ) claim
      -- d.id = any(…) as well: the rows are found by key whatever the join with f is planned as.
      where d.id = any(${bigintArray(fresh.ids)}) and d.id = f.id and claim.delivery_id <> f.id
      returning d.id`),
  );
  return merged.map((r) => Number(r.id));
}

/**
 * Whether the message of delivery `d` (a table alias) went out: its own, or that of the delivery
 * it was merged into, or of the digest it (or the delivery it was merged into) was folded into.
 * A contact merged into a message that reached its address was reached by it.
 */
export const messageWentOut = (d: string): SQL => {
  const t = sql.raw(d);
  return sql`exists (
    select 1 from deliveries carrier
    left join deliveries digest on carrier.status = 'digested' and digest.id = carrier.digest_id
    where carrier.id = case ${t}.status when 'merged' then ${t}.duplicate_of when 'digested' then ${t}.digest_id else ${t}.id end
      and coalesce(digest.status, carrier.status) ${inStatuses(REACHED_STATUSES)})`;
};
