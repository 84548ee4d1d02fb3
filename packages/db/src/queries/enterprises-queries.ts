import { and, arrayContains, asc, eq, gt, sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { preparedQuery } from '../prepared-query';
import { enterprises } from '../schema';

export type Enterprise = typeof enterprises.$inferSelect;
export type NewEnterprise = typeof enterprises.$inferInsert;

export interface EnterpriseFilter {
  district?: string;
  size?: string;
  /** GB/T 4754 section letter. */
  industry?: string;
  tag?: string;
}

const enterpriseById = preparedQuery('enterprise_by_id', (db) =>
  db
    .select()
    .from(enterprises)
    .where(eq(enterprises.id, sql.placeholder('id'))),
);

export const getEnterprise = async (db: Queryable, id: number): Promise<Enterprise | undefined> =>
  (await enterpriseById(db).execute({ id }))[0];

export const listEnterprises = (db: Queryable, p: EnterpriseFilter & { after?: number; limit: number }) =>
  db
    .select()
    .from(enterprises)
    .where(
      and(
        p.after ? gt(enterprises.id, p.after) : undefined,
        p.district ? eq(enterprises.district, p.district) : undefined,
        p.size ? eq(enterprises.size, p.size) : undefined,
        p.industry ? eq(enterprises.industrySection, p.industry) : undefined,
        p.tag ? arrayContains(enterprises.tags, [p.tag]) : undefined,
      ),
    )
    .orderBy(asc(enterprises.id))
    .limit(p.limit + 1);

export const insertEnterprise = async (db: Queryable, values: NewEnterprise) =>
  (await db.insert(enterprises).values(values).returning())[0];

export const updateEnterprise = async (db: Queryable, id: number, values: Partial<NewEnterprise>) =>
  (
    await db
      .update(enterprises)
      .set({ ...values, updatedAt: new Date() })
      .where(eq(enterprises.id, id))
      .returning()
  )[0];

/** Contacts, subscriptions and group memberships go with it (ON DELETE CASCADE). */
export const deleteEnterprise = async (db: Queryable, id: number) =>
  (await db.delete(enterprises).where(eq(enterprises.id, id)).returning({ id: enterprises.id }))[0];
