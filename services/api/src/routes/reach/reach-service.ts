// Reach answers: the counters from packages/db reach-queries, brought up to date first (a bounded
// catch-up, so a quiet system or embedded mode converges without the periodic job), with rates
// and the names of districts, sections, sizes, departments and categories.
import { Readable } from 'node:stream';
import { districts, enterpriseSizes, industrySections } from '@policy-push/core';
import { stringify } from 'csv-stringify';
import { maskEmail, maskEnterpriseName, maskOpenid, maskPhones } from '../../services/mask-contacts';
import {
  categories,
  type Database,
  departments,
  inArray,
  policyReach,
  reachChangesQueued,
  type ReachBreakdown,
  type ReachCounts,
  type ReachReport,
  type ReachReportFilter,
  reachReport,
  refreshReach,
  type ReachGap,
  reachGaps,
  type SQL,
  getReachTimeline,
} from '@policy-push/db';

// Enough to absorb a few seconds of changes before answering, little enough to answer in well
// under a second; a bigger backlog is the periodic job's (the answer then says upToDate: false).
const CATCH_UP = { batchSize: 1_000, maxBatches: 1 };

const rate = (part: number, whole: number) => (whole ? Math.round((part / whole) * 10_000) / 10_000 : null);
const withRates = <T extends ReachCounts>(c: T) => ({
  ...c,
  reachRate: rate(c.reached, c.targeted),
  awareness: rate(c.engaged, c.targeted),
});

const names = (list: readonly { code: string; nameZh: string; nameEn: string }[], code: string) => {
  const found = list.find((x) => x.code === code);
  return { nameZh: found?.nameZh ?? null, nameEn: found?.nameEn ?? null };
};

function present(b: ReachBreakdown, upToDate: boolean) {
  return {
    addressableKnown: b.addressableKnown,
    upToDate,
    totals: withRates(b.totals),
    byChannel: b.byChannel.map(withRates),
    byDistrict: b.byDistrict.map((r) => ({ ...withRates(r), ...names(districts, r.district) })),
    bySection: b.bySection.map((r) => ({ ...withRates(r), ...names(industrySections, r.section) })),
    bySize: b.bySize.map((r) => ({ ...withRates(r), ...names(enterpriseSizes, r.size) })),
    failures: b.failures,
  };
}

async function catchUp(db: Database): Promise<boolean> {
  const refreshed = await refreshReach(db, CATCH_UP);
  return !refreshed.more && !(await reachChangesQueued(db));
}

export async function policyReachAnswer(db: Database, policyId: number) {
  const upToDate = await catchUp(db);
  return { policyId: String(policyId), ...present(await policyReach(db, policyId), upToDate) };
}

/** A policy's reach over time (hour or day buckets), brought up to date first. */
export async function reachTimelineAnswer(db: Database, policyId: number, bucket: 'hour' | 'day') {
  const upToDate = await catchUp(db);
  return { policyId: String(policyId), bucket, upToDate, points: await getReachTimeline(db, policyId, { bucket }) };
}

export async function reachReportAnswer(db: Database, filter: ReachReportFilter) {
  const upToDate = await catchUp(db);
  const report: ReachReport = await reachReport(db, filter);
  const depts = report.byDepartment.length
    ? await db
        .select({ id: departments.id, code: departments.code, nameZh: departments.nameZh, nameEn: departments.nameEn })
        .from(departments)
        .where(
          inArray(
            departments.id,
            report.byDepartment.map((d) => d.departmentId),
          ),
        )
    : [];
  const cats = report.byCategory.length
    ? await db
        .select({ id: categories.id, code: categories.code, nameZh: categories.nameZh, nameEn: categories.nameEn })
        .from(categories)
        .where(
          inArray(
            categories.id,
            report.byCategory.map((c) => c.categoryId),
          ),
        )
    : [];
  const named = (rows: { id: number; code: string; nameZh: string; nameEn: string }[], id: number) => {
    const row = rows.find((r) => r.id === id);
    return { code: row?.code ?? null, nameZh: row?.nameZh ?? null, nameEn: row?.nameEn ?? null };
  };
  return {
    filter: {
      departmentId: filter.departmentId === undefined ? null : String(filter.departmentId),
      categoryId: filter.categoryId === undefined ? null : String(filter.categoryId),
      from: filter.from?.toISOString() ?? null,
      to: filter.to?.toISOString() ?? null,
    },
    policies: report.policies,
    ...present(report, upToDate),
    byDepartment: report.byDepartment.map(({ departmentId, ...c }) => ({
      departmentId: String(departmentId),
      ...named(depts, departmentId),
      ...withRates(c),
    })),
    byCategory: report.byCategory.map(({ categoryId, ...c }) => ({
      categoryId: String(categoryId),
      ...named(cats, categoryId),
      ...withRates(c),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Reach gaps: the targeted enterprises not reached, with why, for street offices and the 12345
// hotline to fix contact data. Admins see names and addresses; publishers and ops see them masked.

export const GAPS_PAGE_SIZE = 2_000;

export interface GapCursor {
  policyId: number;
  enterpriseId: number;
}

function presentGap(g: ReachGap, full: boolean) {
  const contacts = g.contacts.map((c) => ({
    contactId: String(c.contactId),
    phone: c.phone && (full ? c.phone : maskPhones(c.phone)),
    email: c.email && (full ? c.email : maskEmail(c.email)),
    wechatOpenid: c.wechatOpenid && (full ? c.wechatOpenid : maskOpenid(c.wechatOpenid)),
  }));
  return {
    policyId: String(g.policyId),
    enterpriseId: String(g.enterpriseId),
    enterpriseName: g.enterpriseName && (full ? g.enterpriseName : maskEnterpriseName(g.enterpriseName)),
    creditCode: g.creditCode,
    district: g.district,
    ...names(districts, g.district),
    industrySection: g.industrySection,
    size: g.size,
    reason: g.reason,
    failures: g.deliveries
      .filter((d) => d.status === 'failed' || d.status === 'undelivered')
      .map((d) => ({ channel: d.channel, errorCode: d.errorCode ?? 'unknown' })),
    deliveries: g.deliveries,
    contacts,
  };
}
export type PresentedGap = ReturnType<typeof presentGap>;

/** One page of gaps, brought up to date first; `full` for admins only. */
export async function reachGapsPage(db: Database, scope: SQL, p: { after?: GapCursor; limit: number; full: boolean }) {
  const upToDate = await catchUp(db);
  const rows = await reachGaps(db, scope, { after: p.after, limit: p.limit + 1 });
  const kept = rows.slice(0, p.limit);
  const last = kept[kept.length - 1];
  return {
    upToDate,
    items: kept.map((g) => presentGap(g, p.full)),
    nextCursor: rows.length > p.limit ? `${last.policyId}.${last.enterpriseId}` : null,
  };
}

const CSV_COLUMNS: { key: string; header: string }[] = [
  { key: 'policyId', header: 'policy_id' },
  { key: 'enterpriseId', header: 'enterprise_id' },
  { key: 'creditCode', header: 'credit_code' },
  { key: 'enterpriseName', header: 'enterprise_name' },
  { key: 'district', header: 'district' },
  { key: 'nameZh', header: 'district_name' },
  { key: 'industrySection', header: 'industry_section' },
  { key: 'size', header: 'size' },
  { key: 'reason', header: 'reason' },
  { key: 'failures', header: 'failures' },
  { key: 'deliveries', header: 'deliveries' },
  { key: 'contacts', header: 'contacts' },
];

// A cell that starts with = + - @ is a formula to Excel (CSV injection): prefixed with an apostrophe.
const guard = (value: string) => (/^[=+\-@\t\r]/.test(value) && !/^-?\d+(\.\d+)?$/.test(value) ? `'${value}` : value);

function csvRecord(g: PresentedGap): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v === null ? '' : String(v)])),
    failures: g.failures.map((f) => `${f.channel}:${f.errorCode}`).join('; '),
    deliveries: g.deliveries.map((d) => [d.channel, d.status, d.errorCode].filter(Boolean).join(':')).join('; '),
    contacts: g.contacts.map((c) => [c.phone, c.email, c.wechatOpenid].filter(Boolean).join(' ')).join('; '),
  };
}

async function* gapRecords(db: Database, scope: SQL, full: boolean) {
  await catchUp(db);
  let after: GapCursor | undefined;
  for (;;) {
    const rows = await reachGaps(db, scope, { after, limit: GAPS_PAGE_SIZE });
    for (const g of rows) yield csvRecord(presentGap(g, full));
    if (rows.length < GAPS_PAGE_SIZE) return;
    after = rows[rows.length - 1];
  }
}

/** Every gap as CSV (UTF-8 with BOM, for Excel), streamed a page at a time. */
export function reachGapsCsv(db: Database, scope: SQL, full: boolean): Readable {
  const source = Readable.from(gapRecords(db, scope, full));
  const csv = stringify({ bom: true, header: true, columns: CSV_COLUMNS, record_delimiter: 'windows', cast: { string: guard } });
  source.on('error', (err) => csv.destroy(err));
  return source.pipe(csv);
}
