import { type Category as CategoryRow, getCategory, listCategories } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { notFound } from '../../errors';
import { actorOf, auditedWrite, fieldsOf } from '../../services/audit';
import { errorResponses, IdParams, Page, page } from '../../schemas/common';
import { Category, CategoryCreate, CategoryListQuery, CategoryUpdate } from './categories-schemas';
import { changeCategory, createCategory, removeCategory } from './categories-service';

const tags = ['categories'];

// Reference data: every role reads it, admins change it.
const readers = { access: { publisher: true, enterprise: true, ops: true } } as const;
const admins = { access: {} };

export const toCategory = (c: CategoryRow) => ({
  id: String(c.id),
  code: c.code,
  parentId: c.parentId === null ? null : String(c.parentId),
  nameZh: c.nameZh,
  nameEn: c.nameEn,
  createdAt: c.createdAt.toISOString(),
});

export default async function categoriesRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.post(
    '/categories',
    { config: admins, schema: { tags, body: CategoryCreate, response: { 201: Category, ...errorResponses } } },
    async (req, reply) => {
      const c = await auditedWrite(
        db,
        actorOf(req),
        (tx) => createCategory(tx, req.body),
        (row) => ({ action: 'category.create', subjectType: 'category', subjectId: row.id, details: fieldsOf(req.body) }),
      );
      return reply.code(201).send(toCategory(c));
    },
  );

  app.get(
    '/categories',
    { config: readers, schema: { tags, querystring: CategoryListQuery, response: { 200: Page(Category), ...errorResponses } } },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const rows = await listCategories(db, {
        after: Number(req.query.cursor ?? 0),
        limit,
        parentId: req.query.parentId ? Number(req.query.parentId) : undefined,
      });
      return page(rows, limit, toCategory);
    },
  );

  app.get(
    '/categories/:id',
    { config: readers, schema: { tags, params: IdParams, response: { 200: Category, ...errorResponses } } },
    async (req) => {
      const c = await getCategory(db, Number(req.params.id));
      if (!c) throw notFound('category');
      return toCategory(c);
    },
  );

  app.patch(
    '/categories/:id',
    { config: admins, schema: { tags, params: IdParams, body: CategoryUpdate, response: { 200: Category, ...errorResponses } } },
    async (req) =>
      toCategory(
        await auditedWrite(
          db,
          actorOf(req),
          (tx) => changeCategory(tx, Number(req.params.id), req.body),
          (row) => ({ action: 'category.update', subjectType: 'category', subjectId: row.id, details: fieldsOf(req.body) }),
        ),
      ),
  );

  app.delete(
    '/categories/:id',
    { config: admins, schema: { tags, params: IdParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (req, reply) => {
      const id = Number(req.params.id);
      await auditedWrite(
        db,
        actorOf(req),
        (tx) => removeCategory(tx, id),
        () => ({ action: 'category.delete', subjectType: 'category', subjectId: id }),
      );
      return reply.code(204).send(null);
    },
  );
}
