// A policy over time (issue: lifecycle): amend, revoke, expire, cancel a scheduled one. Each is
// a few set-based statements in the caller's transaction; sends in flight finish, and the
// dispatcher checks the policy's state before every send, so nothing withdrawn goes out after.
import { statusesAllowing } from '@policy-push/core';
import { sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Queryable } from '../create-db';
import { inStatuses, WAITING_STATUSES } from '../delivery-statuses';
import { decodeRows, toNumber, toText } from '../rows';
import { claimAddresses, claimKind, messageWentOut } from './address-claims-queries';
import { deliveries, policies, policyVersions, pushes } from '../schema';
import { bare } from '../sql-names';
import type { NewPolicy, Policy } from './policies-queries';
import { recordPolicyVersion } from './policy-versions-queries';
import { cancelReminderSteps } from './reminder-queries';
import { and, eq } from 'drizzle-orm';

/** Cancels what has not gone out yet: pending and held deliveries of the policy (older versions only when given). */
export async function cancelUnsent(tx: Queryable, policyId: number, beforeVersion?: number): Promise<number> {
  const d = deliveries;
  const rows = decodeRows(
    await tx.execute(sql`
      update ${d} set ${bare(d.status)} = 'cancelled', ${bare(d.errorCode)} = 'policy_withdrawn', ${bare(d.finishedAt)} = now(),
        ${bare(d.updatedAt)} = now()
      where ${d.policyId} = ${policyId} and ${d.status} ${inStatuses(WAITING_STATUSES)}
        ${beforeVersion === undefined ? sql`` : sql`and ${d.policyVersion} < ${beforeVersion}`}
      returning ${d.id}`),
    (r) => toNumber(r.id),
  );
  return rows.length;
}

/**
 * One short notice of `kind` (update or revocation) to every contact that was reached by an
 * earlier version — by its own message or one merged with it at a shared address — on the channel
 * that reached it last. Each notice claims its address (one per address: the others merge into
 * it); an update notice claims the new version's, so the new version's push merges into it rather
 * than sending the same address the policy too. Returns how many were queued (merged not counted).
 */
export async function notifyPriorRecipients(
  tx: Queryable,
  policyId: number,
  version: number,
  kind: 'update' | 'revocation',
): Promise<number> {
  const n = deliveries;
  const d = alias(deliveries, 'd');
  const rows = decodeRows(
    await tx.execute(sql`
      insert into ${n} (${bare(n.policyId)}, ${bare(n.policyVersion)}, ${bare(n.enterpriseId)}, ${bare(n.contactId)}, ${bare(n.channel)},
        ${bare(n.kind)}, ${bare(n.status)}, ${bare(n.priority)}, ${bare(n.matchedCategoryIds)}, ${bare(n.matchedGroupIds)})
      select distinct on (${d.contactId}) ${d.policyId}, ${version}, ${d.enterpriseId}, ${d.contactId}, ${d.channel}, ${kind}, 'pending',
        ${d.priority}, ${d.matchedCategoryIds}, ${d.matchedGroupIds}
      from ${deliveries} ${d}
      where ${d.policyId} = ${policyId} and ${d.kind} in ('policy', 'update') and ${messageWentOut('d')}
        ${kind === 'update' ? sql`and ${d.policyVersion} < ${version}` : sql``}
      order by ${d.contactId}, ${d.id} desc
      on conflict do nothing
      returning ${n.id}, ${n.contactId}, ${n.channel}`),
    (r) => ({ id: toNumber(r.id), contactId: toNumber(r.contact_id), channel: toText(r.channel) }),
  );
  const merged = await claimAddresses(
    tx,
    { policyId, policyVersion: version, kind: claimKind(kind) },
    { ids: rows.map((r) => r.id), contactIds: rows.map((r) => r.contactId), channels: rows.map((r) => r.channel) },
  );
  return rows.length - merged.length;
}

/**
 * A new version: it is recorded whole in policy_versions, the old one's unsent deliveries are
 * cancelled, prior recipients get an update notice, and a push of the new version finds everyone else.
 */
export async function amendPolicy(tx: Queryable, policy: Policy, changes: Partial<NewPolicy>): Promise<Policy> {
  // The old version was recorded when it was published; one published before snapshots were kept
  // is recorded now with its texts only (its department's signature then is not known).
  await tx
    .insert(policyVersions)
    .values({
      policyId: policy.id,
      version: policy.version,
      title: policy.title,
      summary: policy.summary,
      url: policy.url,
      interpretationUrls: policy.interpretationUrls,
      validUntil: policy.validUntil,
    })
    .onConflictDoNothing();
  const version = policy.version + 1;
  const [amended] = await tx
    .update(policies)
    .set({ ...changes, version, updatedAt: new Date() })
    .where(eq(policies.id, policy.id))
    .returning();
  await recordPolicyVersion(tx, policy.id);
  await cancelUnsent(tx, policy.id, version);
  await notifyPriorRecipients(tx, policy.id, version, 'update');
  await tx
    .insert(pushes)
    .values({ policyId: policy.id, policyVersion: version, status: 'fanning_out', urgent: amended.priority === 'urgent' ? 1 : 0 });
  return amended;
}

export async function revokePolicy(
  tx: Queryable,
  policy: Policy,
  reason: string,
  notify: boolean,
): Promise<{ policy: Policy; cancelled: number; notices: number }> {
  const [revoked] = await tx
    .update(policies)
    .set({ status: 'revoked', revokedAt: new Date(), revokeReason: reason, updatedAt: new Date() })
    .where(eq(policies.id, policy.id))
    .returning();
  await tx
    .update(pushes)
    .set({ status: 'fanned_out', updatedAt: new Date() })
    .where(and(eq(pushes.policyId, policy.id), eq(pushes.status, 'fanning_out')));
  const cancelled = await cancelUnsent(tx, policy.id);
  await cancelReminderSteps(tx, [policy.id]);
  const notices = notify ? await notifyPriorRecipients(tx, policy.id, policy.version, 'revocation') : 0;
  return { policy: revoked, cancelled, notices };
}

/** A scheduled policy withdrawn before its time. */
export async function cancelScheduled(tx: Queryable, policy: Policy): Promise<Policy> {
  const [cancelled] = await tx
    .update(policies)
    .set({ status: 'cancelled', updatedAt: new Date() })
    .where(eq(policies.id, policy.id))
    .returning();
  await tx.update(pushes).set({ status: 'cancelled', updatedAt: new Date() }).where(eq(pushes.policyId, policy.id));
  return cancelled;
}

/** Edits a policy in place: no new version, no notice (a scheduled policy's edit, or a published one's actionBy). */
export async function editPolicy(tx: Queryable, policyId: number, changes: Partial<NewPolicy>, now: Date): Promise<Policy> {
  const [edited] = await tx
    .update(policies)
    .set({ ...changes, updatedAt: now })
    .where(eq(policies.id, policyId))
    .returning();
  return edited;
}

/** A scheduled policy moved to another time: its push starts then. */
export async function reschedule(tx: Queryable, policy: Policy, publishAt: Date): Promise<void> {
  await tx
    .update(pushes)
    .set({ startAt: publishAt, updatedAt: new Date() })
    .where(and(eq(pushes.policyId, policy.id), eq(pushes.policyVersion, policy.version)));
}

/** Marks policies whose validUntil has passed as expired (失效) and cancels what they have not sent. */
export async function expirePolicies(db: Queryable): Promise<number[]> {
  const expiring = sql.join(
    statusesAllowing('expire').map((s) => sql`${s}`),
    sql`, `,
  );
  const p = policies;
  const expired = decodeRows(
    await db.execute(sql`
      update ${p} set ${bare(p.status)} = 'expired', ${bare(p.updatedAt)} = now()
      where ${p.status} in (${expiring}) and ${p.validUntil} < now()
      returning ${p.id}`),
    (r) => toNumber(r.id),
  );
  for (const id of expired) await cancelUnsent(db, id);
  await cancelReminderSteps(db, expired);
  return expired;
}
