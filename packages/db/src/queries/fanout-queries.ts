// Fan-out: one policy version → deliveries, as set-based INSERT … SELECT … ON CONFLICT DO NOTHING
// in chunks of enterprise ids. Each chunk is one short transaction that also moves the push's
// checkpoint, so a crash resumes after the last committed chunk and a second run of the same
// version conflicts on every row and creates nothing.
import { sql } from 'drizzle-orm';
import type { AudienceRule } from '@policy-push/core';
import type { Database, Queryable } from '../create-db';
import { rowsOf } from '../rows';
import { loadMatchTarget, matchedDeliveriesSql, type MatchTarget } from './matching-queries';

export interface PushToFanOut {
  pushId: number;
  policyId: number;
  policyVersion: number;
  checkpoint: number;
  policy: { departmentId: number; categoryIds: number[]; targetGroupIds: number[]; audienceRule: AudienceRule | null; priority: string };
}

/** Locks one push that is due and not yet fanned out (SKIP LOCKED: replicas take different pushes). */
export async function lockDuePush(tx: Queryable): Promise<PushToFanOut | null> {
  const [row] = rowsOf<{
    push_id: string | number;
    policy_id: string | number;
    policy_version: number;
    checkpoint: string | number;
    department_id: string | number;
    category_ids: (string | number)[];
    target_group_ids: (string | number)[];
    audience_rule: AudienceRule | null;
    priority: string;
  }>(
    await tx.execute(sql`
      select p.id as push_id, p.policy_id, p.policy_version, p.checkpoint,
        pol.department_id, pol.category_ids, pol.target_group_ids, pol.audience_rule, pol.priority
      from pushes p
      join policies pol on pol.id = p.policy_id and pol.version = p.policy_version
      where p.status = 'fanning_out' and p.start_at <= now() and pol.status in ('scheduled', 'published')
      order by p.urgent desc, p.start_at, p.id
      limit 1
      for update of p skip locked`),
  );
  if (!row) return null;
  return {
    pushId: Number(row.push_id),
    policyId: Number(row.policy_id),
    policyVersion: row.policy_version,
    checkpoint: Number(row.checkpoint),
    policy: {
      departmentId: Number(row.department_id),
      categoryIds: row.category_ids.map(Number),
      targetGroupIds: row.target_group_ids.map(Number),
      audienceRule: row.audience_rule,
      priority: row.priority,
    },
  };
}

/** The upper enterprise id of the next chunk after `after`, or null when none is left. */
async function nextChunkEnd(tx: Queryable, after: number, size: number): Promise<number | null> {
  const [row] = rowsOf<{ upto: string | number | null }>(
    await tx.execute(sql`select max(id) as upto from (select id from enterprises where id > ${after} order by id limit ${size}) chunk`),
  );
  return row.upto === null ? null : Number(row.upto);
}

/**
 * Inserts the deliveries of enterprises (from, to]; returns how many were new. For an amended
 * policy, contacts reached by an earlier version are left out: they get an update notice instead.
 */
export async function insertMatchedDeliveries(
  tx: Queryable,
  push: { policyId: number; policyVersion: number },
  target: MatchTarget,
  range: { from: number; to: number },
): Promise<number> {
  const notReachedBefore =
    push.policyVersion > 1
      ? sql`where not exists (
          select 1 from deliveries p
          where p.policy_id = ${push.policyId} and p.policy_version < ${push.policyVersion} and p.contact_id = m.contact_id
            and p.kind in ('policy', 'update') and p.status in ('sent', 'delivered'))`
      : sql``;
  const [row] = rowsOf<{ n: number; first: string | number | null; last: string | number | null }>(
    await tx.execute(sql`
      with inserted as (
        insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority,
          matched_category_ids, matched_group_ids, fallback_channels, digest_period)
        select ${push.policyId}, ${push.policyVersion}, m.enterprise_id, m.contact_id, m.channel, 'policy', m.status,
          ${target.urgent ? 0 : 1}, m.category_ids, m.group_ids, m.fallback_channels, m.digest_period
        from (${matchedDeliveriesSql(target, range)}) m
        ${notReachedBefore}
        on conflict do nothing
        returning id
      )
      select count(*)::int as n, min(id) as first, max(id) as last from inserted`),
  );
  if (row.n > 0) await mergeSharedAddresses(tx, push, { first: Number(row.first), last: Number(row.last) });
  return row.n;
}

/**
 * One address, one message: one accountant's phone often serves many enterprises. Each new
 * delivery claims its address for this policy version and channel in policy_addresses; those
 * whose address was claimed already (by an earlier chunk, or a lower id in this one) are not sent
 * but linked to the claimant (`merged`, duplicate_of), and count as reached with it. The new
 * deliveries are found by their id range, so the cost of a chunk does not grow with the push.
 */
async function mergeSharedAddresses(
  tx: Queryable,
  push: { policyId: number; policyVersion: number },
  ids: { first: number; last: number },
) {
  await tx.execute(sql`
    with fresh as (
      select d.id, d.channel, md5(case d.channel when 'sms' then c.phone when 'email' then lower(c.email) else c.wechat_openid end) as hash
      from deliveries d join contacts c on c.id = d.contact_id
      where d.id between ${ids.first} and ${ids.last} and d.policy_id = ${push.policyId} and d.policy_version = ${push.policyVersion}
        and d.kind = 'policy' and d.status in ('pending', 'held')
    ), claimed as (
      insert into policy_addresses (policy_id, policy_version, channel, address_hash, delivery_id)
      select distinct on (channel, hash) ${push.policyId}, ${push.policyVersion}, channel, hash, id
      from fresh where hash is not null order by channel, hash, id
      on conflict do nothing
      returning channel, address_hash, delivery_id
    ), carriers as (
      -- Claims made by this statement are not yet visible in the table: read both.
      select f.id, coalesce(now_claimed.delivery_id, earlier.delivery_id) as carrier_id
      from fresh f
      left join claimed now_claimed on now_claimed.channel = f.channel and now_claimed.address_hash = f.hash
      left join policy_addresses earlier on earlier.policy_id = ${push.policyId} and earlier.policy_version = ${push.policyVersion}
        and earlier.channel = f.channel and earlier.address_hash = f.hash
    )
    update deliveries d set status = 'merged', duplicate_of = carriers.carrier_id, updated_at = now()
    from carriers where d.id = carriers.id and carriers.carrier_id <> carriers.id`);
}

export interface ChunkResult {
  pushId: number;
  inserted: number;
  done: boolean;
}

/**
 * Fans out the next chunk of the next due push, in one transaction. Returns null when no push is
 * waiting. The caller loops while it gets results.
 */
export async function fanOutNextChunk(
  db: Database,
  chunkSize: number,
  opts: { requireConfirmedEmail?: boolean } = {},
): Promise<ChunkResult | null> {
  return db.transaction(async (tx) => {
    const push = await lockDuePush(tx);
    if (!push) return null;
    // Scheduled policies become published when their push starts.
    await tx.execute(
      sql`update policies set status = 'published', updated_at = now() where id = ${push.policyId} and status = 'scheduled'`,
    );
    const upto = await nextChunkEnd(tx, push.checkpoint, chunkSize);
    if (upto === null) {
      await tx.execute(sql`update pushes set status = 'fanned_out', fanned_out_at = now(), updated_at = now() where id = ${push.pushId}`);
      return { pushId: push.pushId, inserted: 0, done: true };
    }
    const target = await loadMatchTarget(tx, push.policy, opts);
    const inserted = await insertMatchedDeliveries(tx, push, target, { from: push.checkpoint, to: upto });
    await tx.execute(sql`
      update pushes set checkpoint = ${upto}, matched = matched + ${inserted}, updated_at = now() where id = ${push.pushId}`);
    return { pushId: push.pushId, inserted, done: false };
  });
}
