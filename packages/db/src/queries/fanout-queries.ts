// Fan-out: one policy version → deliveries, as set-based INSERT … SELECT … ON CONFLICT DO NOTHING
// in chunks of enterprise ids. Each chunk is one short transaction that also moves the push's
// checkpoint, so a crash resumes after the last committed chunk and a second run of the same
// version conflicts on every row and creates nothing.
import { sql } from 'drizzle-orm';
import type { AudienceRule } from '@policy-push/core';
import type { Database, Queryable } from '../create-db';
import { rowsOf } from '../rows';
import { addressHashSql, messageWentOut } from './address-claims-queries';
import { deliveriesFromMatch, loadMatchTarget, matchingCtes, type MatchTarget, unaddressableFromMatch } from './matching-queries';
import { recordPolicyVersion } from './policy-versions-queries';

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
 * policy, contacts reached by an earlier version (merged into a message that reached their
 * address included) are left out: they get an update notice instead.
 *
 * One address, one message (one accountant's phone often serves many enterprises), decided in the
 * same statement, so no row is written twice: each new delivery takes its id first, the lowest id
 * of the chunk's deliveries to an address proposes the claim on it (policy_addresses), and the
 * claim's RETURNING names the claimant, whether this chunk's or an earlier one's. ON CONFLICT DO
 * UPDATE (a no-op update) rather than DO NOTHING: it returns the existing claim even when a
 * concurrent transaction committed it after this statement's snapshot (a fallback acked meanwhile,
 * another push of the same version), so the unique claim decides every race. A delivery whose
 * address another holds is inserted `merged`, duplicate_of the claimant; the claimant as it is.
 *
 * Deliveries that exist already (a second run of the same version) are left out before they take
 * an id or propose a claim, so no claim ever names a delivery that was not inserted.
 * The same statement records the matched enterprises that get no delivery at all, with why
 * (reach_unaddressable, queued for the reach refresher), so the funnel's "targeted" counts every
 * enterprise the policy matched: set-based, one statement per chunk.
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
            and p.kind in ('policy', 'update') and ${messageWentOut('p')})`
      : sql``;
  const [row] = rowsOf<{ n: number }>(
    await tx.execute(sql`
      with ${matchingCtes(target, range)},
      m as (${deliveriesFromMatch(target)}),
      unaddressable as (${unaddressableFromMatch(target)}),
      -- A repeat of the same push rewrites nothing and queues nothing.
      noted as (
        insert into reach_unaddressable (policy_id, enterprise_id, reason)
        select ${push.policyId}, enterprise_id, reason from unaddressable
        on conflict (policy_id, enterprise_id) do update set reason = excluded.reason, updated_at = now()
          where reach_unaddressable.reason <> excluded.reason
        returning enterprise_id
      ),
      queued as (
        insert into reach_dirty (policy_id, enterprise_id) select ${push.policyId}, enterprise_id from noted
      ),
      -- The deliveries to make, each with its id and its address's hash; \`existing\` for those a
      -- run of the same version made already (left out below). A look-up per row on the unique key
      -- (a correlated scalar subquery): as "not exists" it was planned as a merge with every
      -- delivery the push had made so far, once per chunk. A column rather than a filter, so that
      -- the row estimates below stay those of the match and the joins on them stay hash joins.
      fresh as materialized (
        select case when e.existing then null else nextval('deliveries_id_seq') end as id, m.*,
          ${addressHashSql('c', sql`m.channel`)} as hash, e.existing
        from m
        join contacts c on c.id = m.contact_id
        cross join lateral (
          select (
            select x.id from deliveries x
            where x.policy_id = ${push.policyId} and x.policy_version = ${push.policyVersion}
              and x.contact_id = m.contact_id and x.channel = m.channel and x.kind = 'policy'
          ) is not null as existing
          offset 0 -- kept a subquery, so the look-up runs once per row, not once per use
        ) e
        ${notReachedBefore}
      ),
      claims as (
        insert into policy_addresses (policy_id, policy_version, kind, channel, address_hash, delivery_id)
        select distinct on (channel, hash) ${push.policyId}, ${push.policyVersion}, 'policy', channel, hash, id
        from fresh
        where hash is not null and not existing
        order by channel, hash, id
        on conflict (policy_id, policy_version, kind, channel, address_hash) do update set delivery_id = policy_addresses.delivery_id
        returning channel, address_hash, delivery_id
      ),
      test_key as materialized (select test from policies where id = ${push.policyId}),
      inserted as (
        insert into deliveries (id, policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority,
          matched_category_ids, matched_group_ids, fallback_channels, digest_period, duplicate_of)
        overriding system value
        select f.id, ${push.policyId}, ${push.policyVersion}, f.enterprise_id, f.contact_id, f.channel, 'policy',
          case when claim.delivery_id <> f.id then 'merged'
            -- A test key's policy goes to the sandbox at once: it never waits for (or joins) a digest.
            when pol.test then 'pending' else f.status end,
          ${target.urgent ? 0 : 1}, f.category_ids, f.group_ids, f.fallback_channels,
          case when pol.test then null else f.digest_period end,
          nullif(claim.delivery_id, f.id)
        from fresh f
        cross join test_key pol
        left join claims claim on claim.channel = f.channel and claim.address_hash = f.hash
        where not f.existing
        returning id
      )
      select count(*)::int as n from inserted`),
  );
  return row.n;
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
    // The chunk statement is costed over the whole city (its matching CTEs are estimated at
    // hundreds of thousands of rows), which turns on JIT: compiling it took ~220 ms of a 750 ms
    // chunk of 4,000 rows. It runs once per chunk, never long enough to win that back.
    await tx.execute(sql`set local jit = off`);
    // Scheduled policies become published when their push starts, and their version is recorded as it is then.
    const published = rowsOf(
      await tx.execute(
        sql`update policies set status = 'published', updated_at = now() where id = ${push.policyId} and status = 'scheduled' returning id`,
      ),
    );
    if (published.length) await recordPolicyVersion(tx, push.policyId);
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
