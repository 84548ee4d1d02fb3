// Fan-out: one policy version → deliveries, as set-based INSERT … SELECT … ON CONFLICT DO NOTHING
// in chunks of enterprise ids. Each chunk is one short transaction that also moves the push's
// checkpoint, so a crash resumes after the last committed chunk and a second run of the same
// version conflicts on every row and creates nothing.
import { sql } from 'drizzle-orm';
import type { AudienceRule } from '@policy-push/core';
import type { Database, Queryable } from '../create-db';
import { alias } from 'drizzle-orm/pg-core';
import { decodeRows, orNull, rowsOf, toNumber, toNumberArray, toStoredJson, toText } from '../rows';
import { deliveries, enterprises, policies, policyAddresses, pushes, reachDirty, reachUnaddressable } from '../schema';
import { bare } from '../sql-names';
import { hashAddressSql, messageWentOut } from './address-claims-queries';
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
  const p = alias(pushes, 'p');
  const pol = alias(policies, 'pol');
  const [push = null] = decodeRows(
    await tx.execute(sql`
      select ${p.id} as push_id, ${p.policyId}, ${p.policyVersion}, ${p.checkpoint},
        ${pol.departmentId}, ${pol.categoryIds}, ${pol.targetGroupIds}, ${pol.audienceRule}, ${pol.priority}
      from ${pushes} ${p}
      join ${policies} ${pol} on ${pol.id} = ${p.policyId} and ${pol.version} = ${p.policyVersion}
      where ${p.status} = 'fanning_out' and ${p.startAt} <= now() and ${pol.status} in ('scheduled', 'published')
      order by ${p.urgent} desc, ${p.startAt}, ${p.id}
      limit 1
      for update of p skip locked`),
    (r): PushToFanOut => ({
      pushId: toNumber(r.push_id),
      policyId: toNumber(r.policy_id),
      policyVersion: toNumber(r.policy_version),
      checkpoint: toNumber(r.checkpoint),
      policy: {
        departmentId: toNumber(r.department_id),
        categoryIds: toNumberArray(r.category_ids),
        targetGroupIds: toNumberArray(r.target_group_ids),
        audienceRule: orNull(toStoredJson<AudienceRule>, r.audience_rule),
        priority: toText(r.priority),
      },
    }),
  );
  return push;
}

/** The upper enterprise id of the next chunk after `after`, or null when none is left. */
async function nextChunkEnd(tx: Queryable, after: number, size: number): Promise<number | null> {
  const e = enterprises;
  const [upto] = decodeRows(
    await tx.execute(
      sql`select max(id) as upto from (select ${e.id} from ${e} where ${e.id} > ${after} order by ${e.id} limit ${size}) chunk`,
    ),
    (r) => orNull(toNumber, r.upto),
  );
  return upto;
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
  const earlier = alias(deliveries, 'p');
  const notReachedBefore =
    push.policyVersion > 1
      ? sql`where not exists (
          select 1 from ${deliveries} ${earlier}
          where ${earlier.policyId} = ${push.policyId} and ${earlier.policyVersion} < ${push.policyVersion} and ${earlier.contactId} = m.contact_id
            and ${earlier.kind} in ('policy', 'update') and ${messageWentOut('p')})`
      : sql``;
  const ru = reachUnaddressable;
  const pa = policyAddresses;
  const d = deliveries;
  const x = alias(deliveries, 'x');
  const [inserted] = decodeRows(
    await tx.execute(sql`
      with ${matchingCtes(target, range)},
      m as (${deliveriesFromMatch(target)}),
      unaddressable as (${unaddressableFromMatch(target)}),
      -- A repeat of the same push rewrites nothing and queues nothing.
      noted as (
        insert into ${ru} (${bare(ru.policyId)}, ${bare(ru.enterpriseId)}, ${bare(ru.reason)})
        select ${push.policyId}, enterprise_id, reason from unaddressable
        on conflict (${bare(ru.policyId)}, ${bare(ru.enterpriseId)})
          do update set ${bare(ru.reason)} = excluded.${bare(ru.reason)}, ${bare(ru.updatedAt)} = now()
          where ${ru.reason} <> excluded.${bare(ru.reason)}
        returning ${ru.enterpriseId}
      ),
      queued as (
        insert into ${reachDirty} (${bare(reachDirty.policyId)}, ${bare(reachDirty.enterpriseId)}) select ${push.policyId}, enterprise_id from noted
      ),
      -- The deliveries to make, each with its id and its address's hash; \`existing\` for those a
      -- run of the same version made already (left out below). A look-up per row on the unique key
      -- (a correlated scalar subquery): as "not exists" it was planned as a merge with every
      -- delivery the push had made so far, once per chunk. A column rather than a filter, so that
      -- the row estimates below stay those of the match and the joins on them stay hash joins.
      fresh as materialized (
        select case when e.existing then null else nextval('deliveries_id_seq') end as id, m.*,
          ${hashAddressSql(sql`m.address`)} as hash, e.existing
        from m
        cross join lateral (
          select (
            select ${x.id} from ${deliveries} ${x}
            where ${x.policyId} = ${push.policyId} and ${x.policyVersion} = ${push.policyVersion}
              and ${x.contactId} = m.contact_id and ${x.channel} = m.channel and ${x.kind} = 'policy'
          ) is not null as existing
          offset 0 -- kept a subquery, so the look-up runs once per row, not once per use
        ) e
        ${notReachedBefore}
      ),
      claims as (
        insert into ${pa} (${bare(pa.policyId)}, ${bare(pa.policyVersion)}, ${bare(pa.kind)}, ${bare(pa.channel)}, ${bare(pa.addressHash)},
          ${bare(pa.deliveryId)})
        select distinct on (channel, hash) ${push.policyId}, ${push.policyVersion}, 'policy', channel, hash, id
        from fresh
        where hash is not null and not existing
        order by channel, hash, id
        on conflict (${bare(pa.policyId)}, ${bare(pa.policyVersion)}, ${bare(pa.kind)}, ${bare(pa.channel)}, ${bare(pa.addressHash)})
          do update set ${bare(pa.deliveryId)} = ${pa.deliveryId}
        returning ${pa.channel}, ${pa.addressHash}, ${pa.deliveryId}
      ),
      test_key as materialized (select ${policies.test} from ${policies} where ${policies.id} = ${push.policyId}),
      inserted as (
        insert into ${d} (${bare(d.id)}, ${bare(d.policyId)}, ${bare(d.policyVersion)}, ${bare(d.enterpriseId)}, ${bare(d.contactId)},
          ${bare(d.channel)}, ${bare(d.kind)}, ${bare(d.status)}, ${bare(d.priority)}, ${bare(d.matchedCategoryIds)}, ${bare(d.matchedGroupIds)},
          ${bare(d.fallbackChannels)}, ${bare(d.digestPeriod)}, ${bare(d.duplicateOf)})
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
        returning ${d.id}
      )
      select count(*)::int as n from inserted`),
    (r) => toNumber(r.n),
  );
  return inserted;
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
    const p = policies;
    const published = rowsOf(
      await tx.execute(sql`
        update ${p} set ${bare(p.status)} = 'published', ${bare(p.updatedAt)} = now()
        where ${p.id} = ${push.policyId} and ${p.status} = 'scheduled' returning ${p.id}`),
    );
    if (published.length) await recordPolicyVersion(tx, push.policyId);
    const upto = await nextChunkEnd(tx, push.checkpoint, chunkSize);
    if (upto === null) {
      await tx.execute(sql`
        update ${pushes} set ${bare(pushes.status)} = 'fanned_out', ${bare(pushes.fannedOutAt)} = now(), ${bare(pushes.updatedAt)} = now()
        where ${pushes.id} = ${push.pushId}`);
      return { pushId: push.pushId, inserted: 0, done: true };
    }
    const target = await loadMatchTarget(tx, push.policy, opts);
    const inserted = await insertMatchedDeliveries(tx, push, target, { from: push.checkpoint, to: upto });
    await tx.execute(sql`
      update ${pushes} set ${bare(pushes.checkpoint)} = ${upto}, ${bare(pushes.matched)} = ${pushes.matched} + ${inserted},
        ${bare(pushes.updatedAt)} = now()
      where ${pushes.id} = ${push.pushId}`);
    return { pushId: push.pushId, inserted, done: false };
  });
}
