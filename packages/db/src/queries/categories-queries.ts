import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { decodeRows, toBoolean } from '../rows';
import { categories, policies, subscriptions } from '../schema';

export type Category = typeof categories.$inferSelect;
export type NewCategory = typeof categories.$inferInsert;

// Two concurrent re-parentings (A under B, B under A) would each pass the cycle check on their
// own snapshot: parent changes take this transaction-level lock so they run one at a time.
const CATEGORY_TREE_LOCK = 7_100_432;

export const getCategory = async (db: Queryable, id: number): Promise<Category | undefined> =>
  (await db.select().from(categories).where(eq(categories.id, id)))[0];

/** The row, locked until the transaction ends (delete checks its use under this lock). */
export const getCategoryForUpdate = async (db: Queryable, id: number): Promise<Category | undefined> =>
  (await db.select().from(categories).where(eq(categories.id, id)).for('update'))[0];

export const listCategories = (db: Queryable, p: { after?: number; limit: number; parentId?: number }) =>
  db
    .select()
    .from(categories)
    .where(and(p.after ? gt(categories.id, p.after) : undefined, p.parentId ? eq(categories.parentId, p.parentId) : undefined))
    .orderBy(asc(categories.id))
    .limit(p.limit + 1);

export const insertCategory = async (db: Queryable, values: NewCategory) => (await db.insert(categories).values(values).returning())[0];

export const updateCategory = async (db: Queryable, id: number, values: Partial<NewCategory>) =>
  (await db.update(categories).set(values).where(eq(categories.id, id)).returning())[0];

export const deleteCategory = async (db: Queryable, id: number) =>
  (await db.delete(categories).where(eq(categories.id, id)).returning({ id: categories.id }))[0];

export async function lockCategoryTree(tx: Queryable): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${CATEGORY_TREE_LOCK})`);
}

/** Whether making `parentId` the parent of `id` would close a loop: `id` is `parentId` or one of its ancestors. */
export async function wouldCreateCycle(db: Queryable, id: number, parentId: number): Promise<boolean> {
  // UNION (not UNION ALL) stops the walk even if a loop somehow exists already.
  const c = categories;
  const [found = false] = decodeRows(
    await db.execute(sql`
      with recursive ancestors(id, parent_id) as (
        select ${c.id}, ${c.parentId} from ${c} where ${c.id} = ${parentId}
        union
        select ${c.id}, ${c.parentId} from ${c} join ancestors a on ${c.id} = a.parent_id
      )
      select exists (select 1 from ancestors where id = ${id}) as found`),
    (r) => toBoolean(r.found),
  );
  return found;
}

/** What still points at a category, if anything: child categories, subscriptions, policies. */
export async function categoryUsage(db: Queryable, id: number): Promise<'children' | 'subscriptions' | 'policies' | null> {
  const [child] = await db.select({ id: categories.id }).from(categories).where(eq(categories.parentId, id)).limit(1);
  if (child) return 'children';
  // category_ids are arrays without foreign keys: deleting a category they name would leave dangling ids.
  const [sub] = await db
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(sql`${id}::bigint = any(${subscriptions.categoryIds})`)
    .limit(1);
  if (sub) return 'subscriptions';
  const [policy] = await db
    .select({ id: policies.id })
    .from(policies)
    .where(sql`${id}::bigint = any(${policies.categoryIds})`)
    .limit(1);
  return policy ? 'policies' : null;
}

/**
 * The ids among `ids` that exist, share-locked until the transaction ends so that a concurrent
 * delete (which locks the row first, then checks its use) cannot slip between check and write.
 */
export async function lockExistingCategoryIds(tx: Queryable, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await tx.select({ id: categories.id }).from(categories).where(inArray(categories.id, ids)).for('key share');
  return new Set(rows.map((r) => r.id));
}
