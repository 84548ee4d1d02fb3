import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../delivery-statuses';
import { decodeRows, toNumber, toOneOf } from '../rows';
import { bigintArray } from '../sql-arrays';
import { recordPolicyVersion } from './policy-versions-queries';
import { categories, deliveries, departments, policies, pushes, serviceGroups } from '../schema';

export type Policy = typeof policies.$inferSelect;
export type NewPolicy = typeof policies.$inferInsert;
export type Push = typeof pushes.$inferSelect;

export const WORK_CHANNEL = 'policy_push_work';

/** Tells idle dispatchers there is work (delivered at commit). */
export async function notifyWork(db: Queryable): Promise<void> {
  await db.execute(sql`select pg_notify(${WORK_CHANNEL}, '')`);
}

/** Which of the given ids do not exist, for each reference a policy makes. */
export async function missingReferences(
  db: Queryable,
  refs: { departmentId: number; categoryIds: number[]; groupIds: number[] },
): Promise<{ department: boolean; categoryIds: number[]; groupIds: number[] }> {
  const [dept] = await db.select({ id: departments.id }).from(departments).where(eq(departments.id, refs.departmentId));
  const foundCategories = decodeRows(
    await db.execute(sql`select ${categories.id} from ${categories} where ${categories.id} = any(${bigintArray(refs.categoryIds)})`),
    (r) => toNumber(r.id),
  );
  const foundGroups = decodeRows(
    await db.execute(sql`select ${serviceGroups.id} from ${serviceGroups} where ${serviceGroups.id} = any(${bigintArray(refs.groupIds)})`),
    (r) => toNumber(r.id),
  );
  return {
    department: !dept,
    categoryIds: refs.categoryIds.filter((id) => !foundCategories.includes(id)),
    groupIds: refs.groupIds.filter((id) => !foundGroups.includes(id)),
  };
}

export async function docNumberTaken(db: Queryable, departmentId: number, docNumber: string): Promise<boolean> {
  const rows = await db
    .select({ id: policies.id })
    .from(policies)
    .where(and(eq(policies.departmentId, departmentId), eq(policies.docNumber, docNumber)));
  return rows.length > 0;
}

/** The policy and its first push, in the caller's transaction. */
export async function insertPolicyWithPush(tx: Queryable, values: NewPolicy): Promise<{ policy: Policy; push: Push }> {
  const [policy] = await tx.insert(policies).values(values).returning();
  const [push] = await tx
    .insert(pushes)
    .values({
      policyId: policy.id,
      policyVersion: policy.version,
      status: 'fanning_out',
      urgent: policy.priority === 'urgent' ? 1 : 0,
      startAt: policy.publishAt,
    })
    .returning();
  // A scheduled one is recorded when its push starts (fanout-queries.ts), as it is then.
  if (policy.status === 'published') await recordPolicyVersion(tx, policy.id);
  return { policy, push };
}

/** One policy; `forUpdate` locks it so concurrent amend, revoke and cancel take turns. */
export async function getPolicy(db: Queryable, id: number, opts: { forUpdate?: boolean } = {}): Promise<Policy | undefined> {
  const query = db.select().from(policies).where(eq(policies.id, id));
  return (await (opts.forUpdate ? query.for('update') : query))[0];
}

/** departmentIds: only these departments' policies (none when empty); all when absent. */
export const listPolicies = (
  db: Queryable,
  p: { before?: number; limit: number; departmentId?: number; departmentIds?: number[]; status?: string },
) =>
  db
    .select()
    .from(policies)
    .where(
      and(
        p.before ? lt(policies.id, p.before) : undefined,
        p.departmentId ? eq(policies.departmentId, p.departmentId) : undefined,
        p.departmentIds ? sql`${policies.departmentId} = any(${bigintArray(p.departmentIds)})` : undefined,
        p.status ? eq(policies.status, p.status) : undefined,
      ),
    )
    .orderBy(desc(policies.id))
    .limit(p.limit + 1);

export const latestPush = async (db: Queryable, policyId: number): Promise<Push | undefined> =>
  (await db.select().from(pushes).where(eq(pushes.policyId, policyId)).orderBy(desc(pushes.policyVersion)).limit(1))[0];

/**
 * Runs the push of the policy's current version again from the first enterprise. Every delivery it
 * would make exists already, so it creates nothing new; it finds only what is new since.
 */
export async function restartPush(db: Queryable, policy: Policy): Promise<Push | undefined> {
  const [push] = await db
    .update(pushes)
    .set({
      status: 'fanning_out',
      checkpoint: 0,
      fannedOutAt: null,
      startAt: sql`greatest(now(), ${policy.publishAt.toISOString()}::timestamptz)`,
      updatedAt: new Date(),
    })
    .where(and(eq(pushes.policyId, policy.id), eq(pushes.policyVersion, policy.version)))
    .returning();
  return push;
}

/** Deliveries of one policy version by status (read through the unique key's prefix). */
export async function deliveryCounts(db: Queryable, policyId: number, version: number): Promise<Record<DeliveryStatus, number>> {
  const d = deliveries;
  const rows = decodeRows(
    await db.execute(sql`
      select ${d.status}, count(*)::int as n from ${d}
      where ${d.policyId} = ${policyId} and ${d.policyVersion} = ${version} and ${d.kind} = 'policy'
      group by ${d.status}`),
    (r) => ({ status: toOneOf(DELIVERY_STATUSES, r.status), n: toNumber(r.n) }),
  );
  const counts = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as Record<DeliveryStatus, number>;
  for (const r of rows) counts[r.status] = r.n;
  return counts;
}

export type { PolicyAudience } from '@policy-push/core';
