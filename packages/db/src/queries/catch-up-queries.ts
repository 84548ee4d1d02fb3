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
import { rowsOf } from '../rows';
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
  const rows = rowsOf<Record<string, unknown>>(
    await tx.execute(sql`
      select id, version, department_id, category_ids, target_group_ids, audience_rule, priority,
        coalesce(action_by > ${now.toISOString()}::timestamptz, false) as notify
      from policies
      where status = 'published' and revoked_at is null and not test
        and (valid_until is null or valid_until > ${now.toISOString()}::timestamptz)
      order by id`),
  );
  return rows.map((r) => ({
    id: Number(r.id),
    version: Number(r.version),
    notify: Boolean(r.notify),
    policy: {
      departmentId: Number(r.department_id),
      categoryIds: (r.category_ids as (string | number)[]).map(Number),
      targetGroupIds: (r.target_group_ids as (string | number)[]).map(Number),
      audienceRule: (r.audience_rule as AudienceRule | null) ?? null,
      priority: r.priority as string,
    },
  }));
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
  const [row] = rowsOf<{
    late: number;
    notified: number;
    ids: (string | number)[] | null;
    contact_ids: (string | number)[] | null;
    channels: string[] | null;
  }>(
    await tx.execute(sql`
      with ${matchingCtes(target, { enterpriseIds })},
      m as (${deliveriesFromMatch(target)}),
      unaddressable as (${unaddressableFromMatch(target)}),
      -- Matched now and never targeted before: its reach row (counted), a recorded unaddressable
      -- match, or a delivery of the policy to one of its contacts (not counted yet), any version,
      -- each looked up by a whole key.
      late as (
        insert into late_matches (policy_id, enterprise_id, notified, matched_at)
        select ${p.id}, s.enterprise_id, ${p.notify}, ${now.toISOString()}::timestamptz
        from subscription s
        where not exists (
            select 1 from reach_enterprises r where r.policy_id = ${p.id} and r.enterprise_id = s.enterprise_id
              and (r.targeted <> 0 or r.unaddressable is not null or r.late_match))
          and not exists (select 1 from reach_unaddressable u where u.policy_id = ${p.id} and u.enterprise_id = s.enterprise_id)
          and not exists (
            select 1 from contacts c cross join generate_series(1, ${p.version}) v(version)
            join deliveries d on d.policy_id = ${p.id} and d.policy_version = v.version and d.contact_id = c.id and d.kind = 'policy'
            where c.enterprise_id = s.enterprise_id)
        on conflict do nothing
        returning enterprise_id
      ),
      noted as (
        insert into reach_unaddressable (policy_id, enterprise_id, reason)
        select ${p.id}, u.enterprise_id, u.reason from unaddressable u join late l on l.enterprise_id = u.enterprise_id
        on conflict do nothing
      ),
      -- Counted by the reach refresher as targeted, late (a delivery queues its pair too).
      queued as (
        insert into reach_dirty (policy_id, enterprise_id) select ${p.id}, enterprise_id from late
      ),
      inserted as (
        insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority,
          matched_category_ids, matched_group_ids, fallback_channels, digest_period)
        select ${p.id}, ${p.version}, m.enterprise_id, m.contact_id, m.channel, 'policy', 'held', 1,
          m.category_ids, m.group_ids, m.fallback_channels, 'catch-up'
        from m join late l on l.enterprise_id = m.enterprise_id
        where ${p.notify}
        on conflict do nothing
        returning id, contact_id, channel, enterprise_id
      )
      select (select count(*) from late)::int as late, (select count(distinct enterprise_id) from inserted)::int as notified,
        (select array_agg(id order by id) from inserted) as ids,
        (select array_agg(contact_id order by id) from inserted) as contact_ids,
        (select array_agg(channel order by id) from inserted) as channels`),
  );
  // One address, one message: an address that already got this version (another enterprise's
  // accountant) merges instead of being told again.
  if (row.ids?.length) {
    await claimAddresses(
      tx,
      { policyId: p.id, policyVersion: p.version, kind: 'policy' },
      { ids: row.ids.map(Number), contactIds: row.contact_ids!.map(Number), channels: row.channels! },
    );
  }
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
    const [lock] = rowsOf<{ ok: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${CATCH_UP_LOCK}) as ok`));
    if (!lock.ok) return { ...none, more: true };
    const [fanning] = rowsOf<{ busy: boolean }>(
      await tx.execute(sql`
        select exists (
          select 1 from pushes pu join policies p on p.id = pu.policy_id
          where pu.status = 'fanning_out' and p.status = 'published'
        ) as busy`),
    );
    if (fanning.busy) return { ...none, more: true };
    const taken = rowsOf<{ id: string | number; enterprise_id: string | number }>(
      await tx.execute(sql`
        delete from catch_up_queue where id = any(array(select id from catch_up_queue order by id limit ${batchSize}))
        returning id, enterprise_id`),
    );
    const enterpriseIds = [...new Set(taken.map((r) => Number(r.enterprise_id)))].sort((a, b) => a - b);
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
    const batch = Math.max(...taken.map((r) => Number(r.id)));
    const messages = notified ? await foldDigests(tx, 'catch-up', `catch-up:${batch}`) : 0;
    return { enterprises: enterpriseIds.length, lateMatches, notified, messages, more: taken.length === batchSize };
  });
}
