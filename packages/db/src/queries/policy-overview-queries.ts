// The console's policies list (issue 14): every policy with its department's name and its reach
// totals. Targeted, reached and engaged come from reach_rollup's 'all' rows (a few per district,
// section and size per policy), never from the deliveries.
import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { decodeRows, toBoolean, toDate, toNumber, toText } from '../rows';
import { departments, policies, reachRollup } from '../schema';
import { bigintArray } from '../sql-arrays';

export interface PolicyOverviewFilter {
  /** Title or document number contains this (case-insensitive). */
  search?: string;
  departmentId?: number;
  /** Only these departments' policies (a publisher's); all when absent, none when empty. */
  departmentIds?: number[];
  status?: string;
  /** publish_at in [from, to). */
  from?: Date;
  to?: Date;
}

export interface PolicyOverviewRow {
  id: number;
  title: string;
  docNumber: string;
  departmentId: number;
  departmentNameZh: string;
  departmentNameEn: string;
  status: string;
  test: boolean;
  publishAt: Date;
  targeted: number;
  reached: number;
  engaged: number;
}

// LIKE's own characters in what was typed are matched as themselves.
const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Newest first, `limit + 1` rows from before the cursor (a policy id), so the caller knows whether there is more. */
export async function listPolicyOverview(
  db: Queryable,
  f: PolicyOverviewFilter,
  page: { before?: number; limit: number },
): Promise<PolicyOverviewRow[]> {
  const p = policies;
  const d = departments;
  const x = reachRollup;
  const where: SQL[] = [sql`true`];
  if (page.before) where.push(sql`${p.id} < ${page.before}`);
  if (f.search) where.push(sql`(${p.title} ilike ${likePattern(f.search)} or ${p.docNumber} ilike ${likePattern(f.search)})`);
  if (f.departmentId !== undefined) where.push(sql`${p.departmentId} = ${f.departmentId}`);
  if (f.departmentIds) where.push(sql`${p.departmentId} = any(${bigintArray(f.departmentIds)})`);
  if (f.status) where.push(sql`${p.status} = ${f.status}`);
  if (f.from) where.push(sql`${p.publishAt} >= ${f.from.toISOString()}::timestamptz`);
  if (f.to) where.push(sql`${p.publishAt} < ${f.to.toISOString()}::timestamptz`);
  return decodeRows(
    await db.execute(sql`
      select ${p.id}, ${p.title}, ${p.docNumber}, ${p.departmentId}, ${d.nameZh}, ${d.nameEn}, ${p.status}, ${p.test}, ${p.publishAt},
        coalesce(r.targeted, 0) as targeted, coalesce(r.reached, 0) as reached, coalesce(r.engaged, 0) as engaged
      from ${p}
      join ${d} on ${d.id} = ${p.departmentId}
      left join lateral (
        select sum(${x.targeted})::int as targeted, sum(${x.reached})::int as reached, sum(${x.engaged})::int as engaged
        from ${x} where ${x.policyId} = ${p.id} and ${x.channel} = 'all'
      ) r on true
      where ${sql.join(where, sql` and `)}
      order by ${p.id} desc
      limit ${page.limit + 1}`),
    (r): PolicyOverviewRow => ({
      id: toNumber(r.id),
      title: toText(r.title),
      docNumber: toText(r.doc_number),
      departmentId: toNumber(r.department_id),
      departmentNameZh: toText(r.name_zh),
      departmentNameEn: toText(r.name_en),
      status: toText(r.status),
      test: toBoolean(r.test),
      publishAt: toDate(r.publish_at),
      targeted: toNumber(r.targeted),
      reached: toNumber(r.reached),
      engaged: toNumber(r.engaged),
    }),
  );
}
