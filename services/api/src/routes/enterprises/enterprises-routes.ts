import { deleteEnterprise, type Enterprise as EnterpriseRow, getEnterprise, listEnterprises } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { scope } from '../../plugins/authorize';
import { notFound } from '../../errors';
import { actorOf, auditedWrite, fieldsOf } from '../../services/audit';
import { errorResponses, IdParams, Page, page } from '../../schemas/common';
import { Enterprise, EnterpriseCreate, EnterpriseListQuery, EnterpriseUpdate } from './enterprises-schemas';
import { changeEnterprise, createEnterprise } from './enterprises-service';

const tags = ['enterprises'];

export const toEnterprise = (e: EnterpriseRow) => ({
  id: String(e.id),
  creditCode: e.creditCode,
  name: e.name,
  industry: { section: e.industrySection, division: e.industryDivision },
  district: e.district,
  size: e.size,
  tags: e.tags,
  createdAt: e.createdAt.toISOString(),
  updatedAt: e.updatedAt.toISOString(),
});

export default async function enterprisesRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.post(
    '/enterprises',
    { config: { access: {} }, schema: { tags, body: EnterpriseCreate, response: { 201: Enterprise, ...errorResponses } } },
    async (req, reply) => {
      const e = await auditedWrite(
        db,
        actorOf(req),
        (tx) => createEnterprise(tx, req.body),
        (row) => ({ action: 'enterprise.create', subjectType: 'enterprise', subjectId: row.id, details: fieldsOf(req.body) }),
      );
      return reply.code(201).send(toEnterprise(e));
    },
  );

  app.get(
    '/enterprises',
    {
      config: { access: { ops: true } },
      schema: { tags, querystring: EnterpriseListQuery, response: { 200: Page(Enterprise), ...errorResponses } },
    },
    async (req) => {
      const { limit = 50, cursor, ...filter } = req.query;
      return page(await listEnterprises(db, { ...filter, after: Number(cursor ?? 0), limit }), limit, toEnterprise);
    },
  );

  app.get(
    '/enterprises/:id',
    {
      config: { access: { ops: true, enterprise: scope.ownEnterprise() } },
      schema: { tags, params: IdParams, response: { 200: Enterprise, ...errorResponses } },
    },
    async (req) => {
      const e = await getEnterprise(db, Number(req.params.id));
      if (!e) throw notFound('enterprise');
      return toEnterprise(e);
    },
  );

  app.patch(
    '/enterprises/:id',
    {
      config: { access: { enterprise: scope.ownEnterprise() } },
      schema: { tags, params: IdParams, body: EnterpriseUpdate, response: { 200: Enterprise, ...errorResponses } },
    },
    async (req) =>
      toEnterprise(
        await auditedWrite(
          db,
          actorOf(req),
          (tx) => changeEnterprise(tx, Number(req.params.id), req.body),
          (row) => ({ action: 'enterprise.update', subjectType: 'enterprise', subjectId: row.id, details: fieldsOf(req.body) }),
        ),
      ),
  );

  app.delete(
    '/enterprises/:id',
    {
      config: { access: {} },
      schema: {
        tags,
        description: 'Deletes the enterprise with its contacts, subscriptions and group memberships.',
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      await auditedWrite(
        db,
        actorOf(req),
        async (tx) => {
          if (!(await deleteEnterprise(tx, id))) throw notFound('enterprise');
        },
        () => ({ action: 'enterprise.delete', subjectType: 'enterprise', subjectId: id }),
      );
      return reply.code(204).send(null);
    },
  );
}
