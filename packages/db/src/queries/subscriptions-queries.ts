import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { departments, subscriptions } from '../schema';

export type Subscription = typeof subscriptions.$inferSelect;
export type NewSubscription = typeof subscriptions.$inferInsert;

export const getSubscription = async (db: Queryable, id: number): Promise<Subscription | undefined> =>
  (await db.select().from(subscriptions).where(eq(subscriptions.id, id)))[0];

/** The row, locked until the transaction ends: a partial update merges into what it read. */
export const getSubscriptionForUpdate = async (db: Queryable, id: number): Promise<Subscription | undefined> =>
  (await db.select().from(subscriptions).where(eq(subscriptions.id, id)).for('update'))[0];

export const listSubscriptions = (db: Queryable, p: { after?: number; limit: number; enterpriseId?: number }) =>
  db
    .select()
    .from(subscriptions)
    .where(
      and(p.after ? gt(subscriptions.id, p.after) : undefined, p.enterpriseId ? eq(subscriptions.enterpriseId, p.enterpriseId) : undefined),
    )
    .orderBy(asc(subscriptions.id))
    .limit(p.limit + 1);

export const insertSubscription = async (db: Queryable, values: NewSubscription) =>
  (await db.insert(subscriptions).values(values).returning())[0];

export const updateSubscription = async (db: Queryable, id: number, values: Partial<NewSubscription>) =>
  (
    await db
      .update(subscriptions)
      .set({ ...values, updatedAt: new Date() })
      .where(eq(subscriptions.id, id))
      .returning()
  )[0];

export const deleteSubscription = async (db: Queryable, id: number) =>
  (await db.delete(subscriptions).where(eq(subscriptions.id, id)).returning({ id: subscriptions.id }))[0];

/**
 * The department ids among `ids` that exist, share-locked until the transaction ends.
 * department_ids is an array without a foreign key, so this check is the only guard; it lives
 * here because subscriptions are its only user.
 */
export async function lockExistingDepartmentIds(tx: Queryable, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await tx.select({ id: departments.id }).from(departments).where(inArray(departments.id, ids)).for('key share');
  return new Set(rows.map((r) => r.id));
}
