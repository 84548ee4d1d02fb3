// The console's policies list (issue 14): every policy with its department's name and its reach
// totals. Targeted, reached and engaged come from reach_rollup's 'all' rows (a few per district,
// section and size per policy), never from the deliveries.
import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';
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
  const where: SQL[] = [sql`true`];
  if (page.before) where.push(sql`p.id < ${page.before}`);
  if (f.search) where.push(sql`(p.title ilike ${likePattern(f.search)} or p.doc_number ilike ${likePattern(f.search)})`);
  if (f.departmentId !== undefined) where.push(sql`p.department_id = ${f.departmentId}`);
  if (f.departmentIds) where.push(sql`p.department_id = any(${bigintArray(f.departmentIds)})`);
  if (f.status) where.push(sql`p.status = ${f.status}`);
  if (f.from) where.push(sql`p.publish_at >= ${f.from.toISOString()}::timestamptz`);
  if (f.to) where.push(sql`p.publish_at < ${f.to.toISOString()}::timestamptz`);
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select p.id, p.title, p.doc_number, p.department_id, d.name_zh, d.name_en, p.status, p.test, p.publish_at,
        coalesce(r.targeted, 0) as targeted, coalesce(r.reached, 0) as reached, coalesce(r.engaged, 0) as engaged
      from policies p
      join departments d on d.id = p.department_id
      left join lateral (
        select sum(x.targeted)::int as targeted, sum(x.reached)::int as reached, sum(x.engaged)::int as engaged
        from reach_rollup x where x.policy_id = p.id and x.channel = 'all'
      ) r on true
      where ${sql.join(where, sql` and `)}
      order by p.id desc
      limit ${page.limit + 1}`),
  );
  return rows.map((r) => ({
    id: Number(r.id),
    title: String(r.title),
    docNumber: String(r.doc_number),
    departmentId: Number(r.department_id),
    departmentNameZh: String(r.name_zh),
    departmentNameEn: String(r.name_en),
    status: String(r.status),
    test: Boolean(r.test),
    publishAt: new Date(r.publish_at as string),
    targeted: Number(r.targeted),
    reached: Number(r.reached),
    engaged: Number(r.engaged),
  }));
}
