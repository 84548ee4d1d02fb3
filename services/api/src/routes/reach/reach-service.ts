// Reach answers: the counters from packages/db reach-queries, brought up to date first (a bounded
// catch-up, so a quiet system or embedded mode converges without the periodic job), with rates
// and the names of districts, sections, sizes, departments and categories.
import { districts, enterpriseSizes, industrySections } from '@policy-push/core';
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
