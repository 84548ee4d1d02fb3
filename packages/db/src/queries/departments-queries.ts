import { asc, eq, gt, sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';
import { departments, subscriptions } from '../schema';

export type Department = typeof departments.$inferSelect;
export type NewDepartment = typeof departments.$inferInsert;

export const getDepartment = async (db: Queryable, id: number): Promise<Department | undefined> =>
  (await db.select().from(departments).where(eq(departments.id, id)))[0];

export const listDepartments = (db: Queryable, p: { after?: number; limit: number }) =>
  db
    .select()
    .from(departments)
    .where(p.after ? gt(departments.id, p.after) : undefined)
    .orderBy(asc(departments.id))
    .limit(p.limit + 1);

export const insertDepartment = async (db: Queryable, values: NewDepartment) =>
  (await db.insert(departments).values(values).returning())[0];

export const updateDepartment = async (db: Queryable, id: number, values: Partial<NewDepartment>) =>
  (
    await db
      .update(departments)
      .set({ ...values, updatedAt: new Date() })
      .where(eq(departments.id, id))
      .returning()
  )[0];

export const deleteDepartment = async (db: Queryable, id: number) =>
  (await db.delete(departments).where(eq(departments.id, id)).returning({ id: departments.id }))[0];

/** Subscriptions name departments in an array (no foreign key), so deleting one is checked here. */
export async function departmentSubscribed(db: Queryable, id: number): Promise<boolean> {
  const s = subscriptions;
  const rows = rowsOf(await db.execute(sql`select 1 from ${s} where ${id}::bigint = any(${s.departmentIds}) limit 1`));
  return rows.length > 0;
}
