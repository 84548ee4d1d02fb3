// Reach (issue 5): the number this product exists for. One policy's funnel, and the same over a
// department, a category and a time range. Both read counters (packages/db reach-queries.ts
// explains how they are kept), never the deliveries themselves.
import { categories, departments, eq, getPolicy, policyScope, reachReportScope, type ReachReportFilter, type SQL } from '@policy-push/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { KeyIdentity } from '../../services/api-keys';
import type { AppInstance } from '../../app-instance';
import { departmentsInScope, scope } from '../../plugins/authorize';
import { invalidField, notFound, unprocessable, type FieldProblem } from '../../errors';
import { errorResponses, IdParams } from '../../schemas/common';
import {
  GAPS_DESCRIPTION,
  GapsPage,
  PolicyGapsQuery,
  PolicyReach,
  REACH_DESCRIPTION,
  ReachReport,
  ReachReportQuery,
  ReportGapsQuery,
  ReachTimeline,
  TIMELINE_DESCRIPTION,
  TimelineQuery,
} from './reach-schemas';
import { policyReachAnswer, reachGapsCsv, reachGapsPage, reachReportAnswer, reachTimelineAnswer } from './reach-service';

const tags = ['reach'];

type ReportQuery = { departmentId?: string; categoryId?: string; from?: string; to?: string };

export default async function reachRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  /** A report's filter, checked: a publisher's own departments only (another's answers as unknown). */
  async function reportFilter(q: ReportQuery, key: KeyIdentity): Promise<ReachReportFilter> {
    const from = q.from ? new Date(q.from) : undefined;
    const to = q.to ? new Date(q.to) : undefined;
    if (from && to && from >= to) throw invalidField('querystring.to', 'to_not_after_from', 'to must be after from');
    const problems: FieldProblem[] = [];
    const departmentIds = departmentsInScope(key, q.departmentId ? Number(q.departmentId) : undefined);
    const exists = async (table: typeof departments | typeof categories, id: number) =>
      (await db.select({ id: table.id }).from(table).where(eq(table.id, id))).length > 0;
    // Another department's, for a publisher: answered as if it did not exist.
    if (q.departmentId && (departmentIds?.length === 0 || !(await exists(departments, Number(q.departmentId)))))
      problems.push({ path: 'querystring.departmentId', code: 'unknown_department' });
    if (q.categoryId && !(await exists(categories, Number(q.categoryId))))
      problems.push({ path: 'querystring.categoryId', code: 'unknown_category' });
    if (problems.length) throw unprocessable(problems, 'unknown department or category');
    return {
      departmentId: q.departmentId ? Number(q.departmentId) : undefined,
      departmentIds: key.role === 'publisher' ? departmentIds : undefined,
      categoryId: q.categoryId ? Number(q.categoryId) : undefined,
      from,
      to,
    };
  }

  /** JSON pages, or (format=csv / Accept: text/csv) every gap as one CSV stream. */
  async function answerGaps(
    req: FastifyRequest,
    reply: FastifyReply,
    scopeSql: SQL,
    q: { limit?: number; cursor?: string; format?: 'json' | 'csv' },
    name: string,
  ) {
    // Names and addresses in full for admins only; publishers and ops see them masked.
    const full = req.apiKey.role === 'admin';
    const csv = q.format === 'csv' || (q.format === undefined && /\btext\/csv\b/.test(req.headers.accept ?? ''));
    if (csv) {
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}.csv"`)
        .header('cache-control', 'no-store')
        .send(reachGapsCsv(db, scopeSql, full) as unknown as string);
    }
    const [policyId, enterpriseId] = (q.cursor ?? '').split('.').map(Number);
    const after = q.cursor ? { policyId, enterpriseId } : undefined;
    return reachGapsPage(db, scopeSql, { after, limit: q.limit ?? 50, full });
  }

  app.get(
    '/policies/:id/reach',
    {
      config: { access: { ops: true, publisher: scope.policyOfDepartment() } },
      schema: {
        tags,
        summary:
          "A policy's reach funnel: targeted → addressable → with a delivery → sent → delivered → reached → engaged, by channel, district, industry and size",
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
    '/policies/:id/reach/timeline',
    {
      config: { access: { ops: true, publisher: scope.policyOfDepartment() } },
      schema: {
        tags,
        summary: 'A policy’s reach over time: reached and engaged enterprises per hour or day, with running totals',
        description: TIMELINE_DESCRIPTION,
        params: IdParams,
        querystring: TimelineQuery,
        response: { 200: ReachTimeline, ...errorResponses },
      },
    },
    async (req) => {
      const policyId = Number(req.params.id);
      if (!(await getPolicy(db, policyId))) throw notFound('policy');
      return reachTimelineAnswer(db, policyId, req.query.bucket ?? 'day');
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
    async (req) => reachReportAnswer(db, await reportFilter(req.query, req.apiKey)),
  );

  const gapResponses = {
    200: {
      description: 'a page of gaps (JSON), or every gap (CSV)',
      content: { 'application/json': { schema: GapsPage }, 'text/csv': { schema: Type.String() } },
    },
    ...errorResponses,
  };

  app.get(
    '/policies/:id/reach/gaps',
    {
      config: { access: { ops: true, publisher: scope.policyOfDepartment() } },
      schema: {
        tags,
        summary: 'The targeted enterprises a policy did not reach, with why, district and industry (cursor list or CSV)',
        description: GAPS_DESCRIPTION,
        params: IdParams,
        querystring: PolicyGapsQuery,
        produces: ['application/json', 'text/csv'],
        response: gapResponses,
      },
    },
    async (req, reply) => {
      const policyId = Number(req.params.id);
      if (!(await getPolicy(db, policyId))) throw notFound('policy');
      return answerGaps(req, reply, policyScope(policyId), req.query, `reach-gaps-policy-${policyId}`);
    },
  );

  app.get(
    '/reports/reach/gaps',
    {
      config: { access: { ops: true, publisher: scope.filtered } },
      schema: {
        tags,
        summary:
          'The targeted enterprises not reached by the policies of a department and/or category published in a time range (cursor list or CSV)',
        description: GAPS_DESCRIPTION,
        querystring: ReportGapsQuery,
        produces: ['application/json', 'text/csv'],
        response: gapResponses,
      },
    },
    async (req, reply) => {
      const { limit, cursor, format, ...filter } = req.query;
      const scopeSql = reachReportScope(await reportFilter(filter, req.apiKey));
      return answerGaps(req, reply, scopeSql, { limit, cursor, format }, 'reach-gaps');
    },
  );
}
