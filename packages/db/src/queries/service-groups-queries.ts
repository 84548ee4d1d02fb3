import { CHANNELS, type ReachabilityRule } from '@policy-push/core';
import { and, asc, count, eq, gt, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Queryable } from '../create-db';
import { decodeRows, orNull, rowsOf, toNumber, toText } from '../rows';
import { bare } from '../sql-names';
import { groupSql } from './matching-queries';
import { reachableSql } from './reachable-sql';
import { bigintArray, textArray } from '../sql-arrays';
import { contacts, enterprises, policies, serviceGroupMembers, serviceGroups } from '../schema';

export type ServiceGroup = typeof serviceGroups.$inferSelect;
export type NewServiceGroup = typeof serviceGroups.$inferInsert;

export const getServiceGroup = async (db: Queryable, id: number): Promise<ServiceGroup | undefined> =>
  (await db.select().from(serviceGroups).where(eq(serviceGroups.id, id)))[0];

/** The row, locked until the transaction ends: member writes and rule changes run one at a time. */
export const getServiceGroupForUpdate = async (db: Queryable, id: number): Promise<ServiceGroup | undefined> =>
  (await db.select().from(serviceGroups).where(eq(serviceGroups.id, id)).for('update'))[0];

/** departmentIds: only these departments' groups (none when empty); all when absent. */
export const listServiceGroups = (db: Queryable, p: { after?: number; limit: number; departmentId?: number; departmentIds?: number[] }) =>
  db
    .select()
    .from(serviceGroups)
    .where(
      and(
        p.after ? gt(serviceGroups.id, p.after) : undefined,
        p.departmentId ? eq(serviceGroups.departmentId, p.departmentId) : undefined,
        p.departmentIds ? sql`${serviceGroups.departmentId} = any(${bigintArray(p.departmentIds)})` : undefined,
      ),
    )
    .orderBy(asc(serviceGroups.id))
    .limit(p.limit + 1);

export const insertServiceGroup = async (db: Queryable, values: NewServiceGroup) =>
  (await db.insert(serviceGroups).values(values).returning())[0];

export const updateServiceGroup = async (db: Queryable, id: number, values: Partial<NewServiceGroup>) =>
  (
    await db
      .update(serviceGroups)
      .set({ ...values, updatedAt: new Date() })
      .where(eq(serviceGroups.id, id))
      .returning()
  )[0];

/** Members go with it (ON DELETE CASCADE). */
export const deleteServiceGroup = async (db: Queryable, id: number) =>
  (await db.delete(serviceGroups).where(eq(serviceGroups.id, id)).returning({ id: serviceGroups.id }))[0];

/** Whether a policy targets the group (target_group_ids is an array without a foreign key). */
export async function isServiceGroupTargeted(db: Queryable, id: number): Promise<boolean> {
  const [row] = await db
    .select({ id: policies.id })
    .from(policies)
    .where(sql`${id}::bigint = any(${policies.targetGroupIds})`)
    .limit(1);
  return row !== undefined;
}

/**
 * The ids among `ids` that name no enterprise; the others are share-locked until the transaction
 * ends. Member lists reach 10,000 ids: they travel as one bigint[] parameter, not 10,000.
 */
export async function missingEnterpriseIds(tx: Queryable, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const found = await tx
    .select({ id: enterprises.id })
    .from(enterprises)
    .where(sql`${enterprises.id} = any(${bigintArray(ids)})`)
    .for('key share');
  const present = new Set(found.map((r) => r.id));
  return new Set(ids.filter((id) => !present.has(id)));
}

export async function clearMembers(db: Queryable, groupId: number): Promise<void> {
  await db.delete(serviceGroupMembers).where(eq(serviceGroupMembers.groupId, groupId));
}

/** Makes the member list exactly `ids`, touching only the rows that change. */
export async function replaceMembers(tx: Queryable, groupId: number, ids: number[]): Promise<void> {
  await tx
    .delete(serviceGroupMembers)
    .where(and(eq(serviceGroupMembers.groupId, groupId), sql`not (${serviceGroupMembers.enterpriseId} = any(${bigintArray(ids)}))`));
  await addMembers(tx, groupId, ids);
}

/** Adds `ids` (already members are left alone); returns how many were new. */
export async function addMembers(db: Queryable, groupId: number, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const m = serviceGroupMembers;
  const rows = rowsOf(
    await db.execute(sql`
      insert into ${m} (${bare(m.groupId)}, ${bare(m.enterpriseId)})
      select ${groupId}::bigint, unnest(${bigintArray(ids)})
      on conflict do nothing
      returning ${m.enterpriseId}`),
  );
  return rows.length;
}

export const removeMember = async (db: Queryable, groupId: number, enterpriseId: number) =>
  (
    await db
      .delete(serviceGroupMembers)
      .where(and(eq(serviceGroupMembers.groupId, groupId), eq(serviceGroupMembers.enterpriseId, enterpriseId)))
      .returning({ id: serviceGroupMembers.enterpriseId })
  )[0];

export async function memberCount(db: Queryable, groupId: number): Promise<number> {
  const [row] = await db.select({ n: count() }).from(serviceGroupMembers).where(eq(serviceGroupMembers.groupId, groupId));
  return Number(row?.n ?? 0);
}

/** A page of member enterprise ids, as `{ id }` rows ordered by id. */
export const listMembers = (db: Queryable, groupId: number, p: { after?: number; limit: number }) =>
  db
    .select({ id: serviceGroupMembers.enterpriseId })
    .from(serviceGroupMembers)
    .where(and(eq(serviceGroupMembers.groupId, groupId), p.after ? gt(serviceGroupMembers.enterpriseId, p.after) : undefined))
    .orderBy(asc(serviceGroupMembers.enterpriseId))
    .limit(p.limit + 1);

export interface GroupAudience {
  enterprises: number;
  contacts: number;
  /** Contacts reachable on at least one channel (reachable-sql.ts). */
  reachableContacts: number;
  sample: { enterpriseId: number; name: string; district: string; industrySection: string; industryDivision: string | null }[];
}

/**
 * Who the group reaches, counted in SQL: the enterprises in it (by the matching module's own
 * membership test, so a rule means here what it means when a policy is published), their
 * contacts, and the contacts reachable on some channel (matching's condition 3
 * without a subscription's channel list), with the first enterprises by id as a sample.
 */
export async function groupAudience(
  db: Queryable,
  group: Pick<ServiceGroup, 'id' | 'rule'>,
  sampleSize: number,
  rule: ReachabilityRule,
): Promise<GroupAudience> {
  const inGroup = groupSql({ id: group.id, rule: group.rule ?? null });
  // groupSql speaks of the enterprise as e, and reachableSql of the contact as c.
  const e = alias(enterprises, 'e');
  const c = alias(contacts, 'c');
  const [totals] = decodeRows(
    await db.execute(sql`
      with audience as (select ${e.id} from ${enterprises} ${e} where ${inGroup})
      select (select count(*) from audience)::int as enterprises, count(${c.id})::int as contacts,
        count(${c.id}) filter (
          where exists (select 1 from unnest(${textArray(CHANNELS)}) ch(channel) where ${reachableSql('c', sql`ch.channel`, rule)})
        )::int as reachable
      from audience a join ${contacts} ${c} on ${c.enterpriseId} = a.id`),
    (r) => ({ enterprises: toNumber(r.enterprises), contacts: toNumber(r.contacts), reachable: toNumber(r.reachable) }),
  );
  const sample = decodeRows(
    await db.execute(sql`
      select ${e.id}, ${e.name}, ${e.district}, ${e.industrySection}, ${e.industryDivision}
      from ${enterprises} ${e} where ${inGroup} order by ${e.id} limit ${sampleSize}`),
    (r): GroupAudience['sample'][number] => ({
      enterpriseId: toNumber(r.id),
      name: toText(r.name),
      district: toText(r.district),
      industrySection: toText(r.industry_section),
      industryDivision: orNull(toText, r.industry_division),
    }),
  );
  return { enterprises: totals.enterprises, contacts: totals.contacts, reachableContacts: totals.reachable, sample };
}
