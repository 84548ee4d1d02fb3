// Catch-up for newcomers (issue 15): an enterprise that subscribes, or whose profile comes to
// match a policy's audience, after that policy went out learned of nothing published before it
// arrived. Triggers (migration 0022) queue it in catch_up_queue in the transaction of the change;
// catchUpNewcomers takes the queue and, for every policy still in force (published, not revoked,
// not expired) that it now matches by the one set of matching rules (matching-queries.ts) and was
// not targeted by before, records a late match (late_matches) and:
//   - when the policy's actionBy is still ahead, makes the policy's deliveries as held rows and
//     folds them at once, as a digest does, into ONE message per contact and channel (kind
//     'digest'), so reachability, consent, quiet hours, the daily cap and one message per address
//     (policy_addresses claims) hold as for any delivery;
//   - otherwise lists it in the enterprise's inbox only (enterpriseInbox reads late_matches).
// From then on the reach refresher counts the enterprise as targeted by the policy, marked as a
// late match (reach_enterprises.late_match, lateMatched in the funnel).
//
// Idempotent: late_matches has one row per (policy, enterprise), and an enterprise the policy
// already targeted (a delivery of the policy, a recorded unaddressable match, a reach row) is never
// caught up; subscribing twice or two profile changes catch nothing up twice. One catch-up runs at
// a time (an advisory lock), and none while an in-force policy is still fanning out: that fan-out
// reaches the newcomer itself, and the queue waits for it.
import { sql } from 'drizzle-orm';
import type { AudienceRule } from '@policy-push/core';
import type { Database, Queryable } from '../create-db';
import { alias } from 'drizzle-orm/pg-core';
import { decodeRows, orNull, toBoolean, toNumber, toNumberArray, toStoredJson, toText, toTextArray } from '../rows';
import {
  catchUpQueue,
  contacts,
  deliveries,
  lateMatches,
  policies,
  pushes,
  reachDirty,
  reachEnterprises,
  reachUnaddressable,
} from '../schema';
import { bare } from '../sql-names';
import { claimAddresses } from './address-claims-queries';
import { foldDigests } from './digest-queries';
import { deliveriesFromMatch, loadMatchTarget, matchingCtes, type MatchTarget, unaddressableFromMatch } from './matching-queries';

// Any constant shared by every process; it names the catch-up's lock.
const CATCH_UP_LOCK = 7_100_522;
const DEFAULT_BATCH = 500;

export interface CatchUpResult {
  /** Distinct enterprises taken off the queue. */
  enterprises: number;
  /** New late matches (policy–enterprise pairs), and of those the ones sent in a catch-up message. */
  lateMatches: number;
  notified: number;
  /** Catch-up messages made (one per contact and channel). */
  messages: number;
  /** Work may be left: the queue had more, another process holds the lock, or a fan-out is running. */
  more: boolean;
}

interface InForcePolicy {
  id: number;
  version: number;
  notify: boolean;
  policy: { departmentId: number; categoryIds: number[]; targetGroupIds: number[]; audienceRule: AudienceRule | null; priority: string };
}

/** The policies in force at `now`: published, not revoked, not expired; live ones only (not a test key's). */
async function policiesInForce(tx: Queryable, now: Date): Promise<InForcePolicy[]> {
  const p = policies;
  return decodeRows(
    await tx.execute(sql`
      select ${p.id}, ${p.version}, ${p.departmentId}, ${p.categoryIds}, ${p.targetGroupIds}, ${p.audienceRule}, ${p.priority},
        coalesce(${p.actionBy} > ${now.toISOString()}::timestamptz, false) as notify
      from ${p}
      where ${p.status} = 'published' and ${p.revokedAt} is null and not ${p.test}
        and (${p.validUntil} is null or ${p.validUntil} > ${now.toISOString()}::timestamptz)
      order by ${p.id}`),
    (r): InForcePolicy => ({
      id: toNumber(r.id),
      version: toNumber(r.version),
      notify: toBoolean(r.notify),
      policy: {
        departmentId: toNumber(r.department_id),
        categoryIds: toNumberArray(r.category_ids),
        targetGroupIds: toNumberArray(r.target_group_ids),
        audienceRule: orNull(toStoredJson<AudienceRule>, r.audience_rule),
        priority: toText(r.priority),
      },
    }),
  );
}

/**
 * One policy against the enterprises taken: records the new late matches (and the unaddressable
 * ones among them, as fan-out does) and, when the policy is to be notified, their deliveries as
 * held rows for the catch-up digest, with their addresses claimed. One statement, set-based.
 */
async function catchUpPolicy(
  tx: Queryable,
  p: InForcePolicy,
  target: MatchTarget,
  enterpriseIds: number[],
  now: Date,
): Promise<{ lateMatches: number; notified: number }> {
  const late = lateMatches;
  const r = alias(reachEnterprises, 'r');
  const u = alias(reachUnaddressable, 'u');
  const c = alias(contacts, 'c');
  const d = alias(deliveries, 'd');
  const [row] = decodeRows(
    await tx.execute(sql`
      with ${matchingCtes(target, { enterpriseIds })},
      m as (${deliveriesFromMatch(target)}),
      unaddressable as (${unaddressableFromMatch(target)}),
      -- Matched now and never targeted before: its reach row (counted), a recorded unaddressable
      -- match, or a delivery of the policy to one of its contacts (not counted yet), any version,
      -- each looked up by a whole key.
      late as (
        insert into ${late} (${bare(late.policyId)}, ${bare(late.enterpriseId)}, ${bare(late.notified)}, ${bare(late.matchedAt)})
        select ${p.id}, s.enterprise_id, ${p.notify}, ${now.toISOString()}::timestamptz
        from subscription s
        where not exists (
            select 1 from ${reachEnterprises} ${r} where ${r.policyId} = ${p.id} and ${r.enterpriseId} = s.enterprise_id
              and (${r.targeted} <> 0 or ${r.unaddressable} is not null or ${r.lateMatch}))
          and not exists (select 1 from ${reachUnaddressable} ${u} where ${u.policyId} = ${p.id} and ${u.enterpriseId} = s.enterprise_id)
          -- Per enterprise, its contacts, and per contact and version one look-up on the unique key
          -- (laterals with limit 1, which the planner must run in that order). As a "not exists",
          -- or with the deliveries joined, it was planned as a walk of every delivery of the
          -- policy, once per batch or once per enterprise (100,000 of them in the bench: 3 s a batch).
          and (
            select 1 from ${contacts} ${c}
            cross join generate_series(1, ${p.version}) v(version)
            cross join lateral (
              select 1 from ${deliveries} ${d}
              where ${d.policyId} = ${p.id} and ${d.policyVersion} = v.version and ${d.contactId} = ${c.id} and ${d.kind} = 'policy'
              limit 1
            ) found
            where ${c.enterpriseId} = s.enterprise_id
            limit 1) is null
        on conflict do nothing
        returning ${late.enterpriseId}
      ),
      noted as (
        insert into ${reachUnaddressable} (${bare(u.policyId)}, ${bare(u.enterpriseId)}, ${bare(u.reason)})
        select ${p.id}, un.enterprise_id, un.reason from unaddressable un join late l on l.enterprise_id = un.enterprise_id
        on conflict do nothing
      ),
      -- Counted by the reach refresher as targeted, late (a delivery queues its pair too).
      queued as (
        insert into ${reachDirty} (${bare(reachDirty.policyId)}, ${bare(reachDirty.enterpriseId)}) select ${p.id}, enterprise_id from late
      ),
      inserted as (
        insert into ${deliveries} (${bare(d.policyId)}, ${bare(d.policyVersion)}, ${bare(d.enterpriseId)}, ${bare(d.contactId)},
          ${bare(d.channel)}, ${bare(d.kind)}, ${bare(d.status)}, ${bare(d.priority)}, ${bare(d.matchedCategoryIds)},
          ${bare(d.matchedGroupIds)}, ${bare(d.fallbackChannels)}, ${bare(d.digestPeriod)})
        select ${p.id}, ${p.version}, m.enterprise_id, m.contact_id, m.channel, 'policy', 'held', 1,
          m.category_ids, m.group_ids, m.fallback_channels, 'catch-up'
        from m join late l on l.enterprise_id = m.enterprise_id
        where ${p.notify}
        on conflict do nothing
        returning ${deliveries.id}, ${deliveries.contactId}, ${deliveries.channel}, ${deliveries.enterpriseId}
      )
      select (select count(*) from late)::int as late, (select count(distinct enterprise_id) from inserted)::int as notified,
        (select array_agg(id order by id) from inserted) as ids,
        (select array_agg(contact_id order by id) from inserted) as contact_ids,
        (select array_agg(channel order by id) from inserted) as channels`),
    (x) => ({
      late: toNumber(x.late),
      notified: toNumber(x.notified),
      // array_agg of nothing is null
      fresh: { ids: toNumberArray(x.ids ?? []), contactIds: toNumberArray(x.contact_ids ?? []), channels: toTextArray(x.channels ?? []) },
    }),
  );
  // One address, one message: an address that already got this version (another enterprise's
  // accountant) merges instead of being told again.
  await claimAddresses(tx, { policyId: p.id, policyVersion: p.version, kind: 'policy' }, row.fresh);
  return { lateMatches: row.late, notified: row.notified };
}

/**
 * Takes up to `batchSize` queued enterprises and catches them up (see the file header), in one
 * transaction: a crash leaves the queue rows in place. `now` decides what is in force and whose
 * actionBy is ahead.
 */
export async function catchUpNewcomers(
  db: Database,
  opts: { now?: Date; batchSize?: number; requireConfirmedEmail?: boolean } = {},
): Promise<CatchUpResult> {
  const now = opts.now ?? new Date();
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  const none = { enterprises: 0, lateMatches: 0, notified: 0, messages: 0 };
  return db.transaction(async (tx) => {
    const [locked] = decodeRows(await tx.execute(sql`select pg_try_advisory_xact_lock(${CATCH_UP_LOCK}) as ok`), (r) => toBoolean(r.ok));
    if (!locked) return { ...none, more: true };
    const [fanningOut] = decodeRows(
      await tx.execute(sql`
        select exists (
          select 1 from ${pushes} join ${policies} on ${policies.id} = ${pushes.policyId}
          where ${pushes.status} = 'fanning_out' and ${policies.status} = 'published'
        ) as busy`),
      (r) => toBoolean(r.busy),
    );
    if (fanningOut) return { ...none, more: true };
    const q = catchUpQueue;
    const taken = decodeRows(
      await tx.execute(sql`
        delete from ${q} where ${q.id} = any(array(select ${q.id} from ${q} order by ${q.id} limit ${batchSize}))
        returning ${q.id}, ${q.enterpriseId}`),
      (r) => ({ id: toNumber(r.id), enterpriseId: toNumber(r.enterprise_id) }),
    );
    const enterpriseIds = [...new Set(taken.map((r) => r.enterpriseId))].sort((a, b) => a - b);
    if (!enterpriseIds.length) return { ...none, more: false };
    let lateMatches = 0;
    let notified = 0;
    for (const p of await policiesInForce(tx, now)) {
      const target = await loadMatchTarget(tx, p.policy, { requireConfirmedEmail: opts.requireConfirmedEmail });
      const done = await catchUpPolicy(tx, p, target, enterpriseIds, now);
      lateMatches += done.lateMatches;
      notified += done.notified;
    }
    // One message per contact and channel, listing every policy caught up for it.
    // The period names the batch (its last queue row), so no two batches share a digest key.
    const batch = Math.max(...taken.map((r) => r.id));
    const messages = notified ? await foldDigests(tx, 'catch-up', `catch-up:${batch}`) : 0;
    return { enterprises: enterpriseIds.length, lateMatches, notified, messages, more: taken.length === batchSize };
  });
}
