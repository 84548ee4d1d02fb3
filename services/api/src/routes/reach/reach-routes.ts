// Reach (issue 5): the number this product exists for. One policy's funnel, and the same over a
// department, a category and a time range. Both read counters (packages/db reach-queries.ts
// explains how they are kept), never the deliveries themselves.
import { categories, departments, eq, getPolicy } from '@policy-push/db';
import type { AppInstance } from '../../app';
import { departmentsInScope, scope } from '../../plugins/authorize';
import { invalidField, notFound, unprocessable, type FieldProblem } from '../../errors';
import { errorResponses, IdParams } from '../../schemas/common';
import { PolicyReach, REACH_DESCRIPTION, ReachReport, ReachReportQuery } from './reach-schemas';
import { policyReachAnswer, reachReportAnswer } from './reach-service';

const tags = ['reach'];

export default async function reachRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.get(
    '/policies/:id/reach',
    {
      config: { access: { ops: true, publisher: scope.policyOfDepartment() } },
      schema: {
        tags,
        summary:
          "A policy's reach funnel: targeted → with a delivery → sent → delivered → reached → engaged, by channel, district, industry and size",
        description: REACH_DESCRIPTION,
        params: IdParams,
        response: { 200: PolicyReach, ...errorResponses },
      },
    },
    async (req) => {
      const policyId = Number(req.params.id);
      if (!(await getPolicy(db, policyId))) throw notFound('policy');
      return policyReachAnswer(db, policyId);
    },
  );

  app.get(
    '/reports/reach',
    {
      config: { access: { ops: true, publisher: scope.filtered } },
      schema: {
        tags,
        summary: 'Reach over the policies of a department and/or category published in a time range',
        description: REACH_DESCRIPTION,
        querystring: ReachReportQuery,
        response: { 200: ReachReport, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const from = q.from ? new Date(q.from) : undefined;
      const to = q.to ? new Date(q.to) : undefined;
      if (from && to && from >= to) throw invalidField('querystring.to', 'to_not_after_from', 'to must be after from');
      const problems: FieldProblem[] = [];
      const departmentIds = departmentsInScope(req.apiKey, q.departmentId ? Number(q.departmentId) : undefined);
      if (
        q.departmentId &&
        (departmentIds?.length === 0 ||
          !(
            await db
              .select({ id: departments.id })
              .from(departments)
              .where(eq(departments.id, Number(q.departmentId)))
          ).length)
      )
        // Another department's, for a publisher: answered as if it did not exist.
        problems.push({ path: 'querystring.departmentId', code: 'unknown_department' });
      if (
        q.categoryId &&
        !(
          await db
            .select({ id: categories.id })
            .from(categories)
            .where(eq(categories.id, Number(q.categoryId)))
        ).length
      )
        problems.push({ path: 'querystring.categoryId', code: 'unknown_category' });
      if (problems.length) throw unprocessable(problems, 'unknown department or category');
      return reachReportAnswer(db, {
        departmentId: q.departmentId ? Number(q.departmentId) : undefined,
        departmentIds: req.apiKey.role === 'publisher' ? departmentIds : undefined,
        categoryId: q.categoryId ? Number(q.categoryId) : undefined,
        from,
        to,
      });
    },
  );
}
