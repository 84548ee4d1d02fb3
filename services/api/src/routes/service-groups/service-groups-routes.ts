import type { Readable } from 'node:stream';
import { getServiceGroup, listMembers, listServiceGroups, type ServiceGroup as ServiceGroupRow } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { audit, actorOf, auditedWrite, fieldsOf } from '../../services/audit';
import { departmentsInScope, scope } from '../../plugins/authorize';
import { notFound } from '../../errors';
import { errorResponses, Id, IdParams, Page, page } from '../../schemas/common';
import { acceptCsvStream, CsvBody, csvRouteOptions } from '../enterprise-import/csv-body';
import { csvErrorResponses } from '../enterprise-import/enterprise-import-schemas';
import {
  Audience,
  AudienceQuery,
  MEMBER_IMPORT_DESCRIPTION,
  MemberImportReport,
  MemberCount,
  MemberListQuery,
  MemberParams,
  MembersBody,
  ServiceGroup,
  ServiceGroupCreate,
  ServiceGroupListQuery,
  ServiceGroupUpdate,
} from './service-groups-schemas';
import {
  audienceOf,
  changeServiceGroup,
  createServiceGroup,
  excludeMember,
  importMembers,
  includeMembers,
  removeServiceGroup,
  setMembers,
  staticGroup,
} from './service-groups-service';

const tags = ['service-groups'];

export const toServiceGroup = (g: ServiceGroupRow) => ({
  id: String(g.id),
  departmentId: String(g.departmentId),
  name: g.name,
  description: g.description,
  rule: g.rule ?? null,
  createdAt: g.createdAt.toISOString(),
  updatedAt: g.updatedAt.toISOString(),
});

export default async function serviceGroupsRoutes(app: AppInstance) {
  const { db } = app.deps.db;
  // PUT /members/import takes text/csv; the parser lives in this plugin's scope only.
  acceptCsvStream(app);

  app.post(
    '/service-groups',
    {
      config: { access: { publisher: scope.bodyDepartment } },
      schema: { tags, body: ServiceGroupCreate, response: { 201: ServiceGroup, ...errorResponses } },
    },
    async (req, reply) => {
      const g = await auditedWrite(
        db,
        actorOf(req),
        (tx) => createServiceGroup(tx, req.body),
        (row) => ({ action: 'service_group.create', subjectType: 'service_group', subjectId: row.id, details: fieldsOf(req.body) }),
      );
      return reply.code(201).send(toServiceGroup(g));
    },
  );

  app.get(
    '/service-groups',
    {
      config: { access: { ops: true, publisher: scope.filtered } },
      schema: { tags, querystring: ServiceGroupListQuery, response: { 200: Page(ServiceGroup), ...errorResponses } },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const rows = await listServiceGroups(db, {
        after: Number(req.query.cursor ?? 0),
        limit,
        departmentIds: departmentsInScope(req.apiKey, req.query.departmentId ? Number(req.query.departmentId) : undefined),
      });
      return page(rows, limit, toServiceGroup);
    },
  );

  app.get(
    '/service-groups/:id',
    {
      config: { access: { ops: true, publisher: scope.groupOfDepartment() } },
      schema: { tags, params: IdParams, response: { 200: ServiceGroup, ...errorResponses } },
    },
    async (req) => {
      const g = await getServiceGroup(db, Number(req.params.id));
      if (!g) throw notFound('service group');
      return toServiceGroup(g);
    },
  );

  app.patch(
    '/service-groups/:id',
    {
      config: { access: { publisher: scope.groupOfDepartment() } },
      schema: { tags, params: IdParams, body: ServiceGroupUpdate, response: { 200: ServiceGroup, ...errorResponses } },
    },
    async (req) =>
      toServiceGroup(
        await auditedWrite(
          db,
          actorOf(req),
          (tx) => changeServiceGroup(tx, Number(req.params.id), req.body),
          (row) => ({ action: 'service_group.update', subjectType: 'service_group', subjectId: row.id, details: fieldsOf(req.body) }),
        ),
      ),
  );

  app.delete(
    '/service-groups/:id',
    {
      config: { access: { publisher: scope.groupOfDepartment() } },
      schema: {
        tags,
        description: 'Deletes the group and its member list; refused (409 in_use) while a policy targets it.',
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      await auditedWrite(
        db,
        actorOf(req),
        (tx) => removeServiceGroup(tx, id),
        () => ({ action: 'service_group.delete', subjectType: 'service_group', subjectId: id }),
      );
      return reply.code(204).send(null);
    },
  );

  // Members: static groups only; a rule group answers 422 rule_group_has_no_members.
  app.get(
    '/service-groups/:id/members',
    {
      config: { access: { ops: true, publisher: scope.groupOfDepartment() } },
      schema: {
        tags,
        description: 'Member enterprise ids of a static group, ordered by id.',
        params: IdParams,
        querystring: MemberListQuery,
        response: { 200: Page(Id), ...errorResponses },
      },
    },
    async (req) => {
      const group = await staticGroup(db, Number(req.params.id));
      const limit = req.query.limit ?? 50;
      return page(await listMembers(db, group.id, { after: Number(req.query.cursor ?? 0), limit }), limit, (m) => String(m.id));
    },
  );

  app.put(
    '/service-groups/:id/members',
    {
      config: { access: { publisher: scope.groupOfDepartment() } },
      schema: {
        tags,
        description: 'Replaces the member list of a static group with exactly these enterprises, in one transaction.',
        params: IdParams,
        body: MembersBody,
        response: { 200: MemberCount, ...errorResponses },
      },
    },
    async (req) => {
      const id = Number(req.params.id);
      const memberCount = await auditedWrite(
        db,
        actorOf(req),
        (tx) => setMembers(tx, id, req.body.enterpriseIds),
        (n) => ({
          action: 'service_group.members_set',
          subjectType: 'service_group',
          subjectId: id,
          details: { given: req.body.enterpriseIds.length, memberCount: n },
        }),
      );
      return { memberCount };
    },
  );

  app.post(
    '/service-groups/:id/members',
    {
      config: { access: { publisher: scope.groupOfDepartment() } },
      schema: {
        tags,
        description: 'Adds these enterprises to a static group; those already in it stay.',
        params: IdParams,
        body: MembersBody,
        response: { 200: MemberCount, ...errorResponses },
      },
    },
    async (req) => {
      const id = Number(req.params.id);
      const memberCount = await auditedWrite(
        db,
        actorOf(req),
        (tx) => includeMembers(tx, id, req.body.enterpriseIds),
        (n) => ({
          action: 'service_group.members_add',
          subjectType: 'service_group',
          subjectId: id,
          details: { given: req.body.enterpriseIds.length, memberCount: n },
        }),
      );
      return { memberCount };
    },
  );

  app.delete(
    '/service-groups/:id/members/:enterpriseId',
    {
      config: { access: { publisher: scope.groupOfDepartment() } },
      schema: {
        tags,
        description: 'Removes one enterprise from a static group.',
        params: MemberParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      await auditedWrite(
        db,
        actorOf(req),
        (tx) => excludeMember(tx, id, Number(req.params.enterpriseId)),
        () => ({
          action: 'service_group.member_remove',
          subjectType: 'service_group',
          subjectId: id,
          details: { enterpriseId: req.params.enterpriseId },
        }),
      );
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/service-groups/:id/members/import',
    {
      ...csvRouteOptions,
      config: { access: { publisher: scope.groupOfDepartment() } },
      schema: {
        tags,
        summary: 'Replace the members of a static group from a CSV of credit codes',
        description: MEMBER_IMPORT_DESCRIPTION,
        consumes: ['text/csv'],
        body: CsvBody('the CSV file: a header row with a credit_code column, then one enterprise per row'),
        params: IdParams,
        response: { 200: MemberImportReport, ...errorResponses, ...csvErrorResponses },
      },
    },
    async (req) => {
      const report = await importMembers(db, Number(req.params.id), req.body as Readable);
      await audit(db, actorOf(req), {
        action: 'service_group.members_import',
        subjectType: 'service_group',
        subjectId: req.params.id,
        details: { memberCount: report.memberCount, failed: report.failed },
      });
      return report;
    },
  );

  // `empty` is given here only: for a rule group, proving that no enterprise matches is a scan of
  // the enterprises, too dear for every group of a list page.
  app.get(
    '/service-groups/:id/audience',
    {
      config: { access: { ops: true, publisher: scope.groupOfDepartment() } },
      schema: {
        tags,
        description:
          'Who the group reaches now, computed in the database: a rule group by its rule (as publishing matches it), a static ' +
          'group by its members. Subscriptions are not considered: POST /v1/policies/preview counts who a policy would reach.',
        params: IdParams,
        querystring: AudienceQuery,
        response: { 200: Audience, ...errorResponses },
      },
    },
    async (req) => {
      const audience = await audienceOf(db, Number(req.params.id), req.query.sampleSize ?? 10, {
        requireConfirmedEmail: app.deps.config.dispatcher.requireConfirmedEmail,
      });
      return {
        enterprises: audience.enterprises,
        contacts: audience.contacts,
        reachableContacts: audience.reachableContacts,
        sample: audience.sample.map((e) => ({
          enterpriseId: String(e.enterpriseId),
          name: e.name,
          district: e.district,
          industry: { section: e.industrySection, division: e.industryDivision },
        })),
        empty: audience.enterprises === 0,
      };
    },
  );
}
