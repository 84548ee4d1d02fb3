import {
  type Department as DepartmentRow,
  deleteDepartment,
  departmentSubscribed,
  getDepartment,
  insertDepartment,
  listDepartments,
  updateDepartment,
} from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { conflict, isForeignKeyViolation, isUniqueViolation, notFound } from '../../errors';
import { errorResponses, IdParams, Page, PageQuery, page } from '../../schemas/common';
import { actorOf, auditedWrite, fieldsOf } from '../../services/audit';
import { Department, DepartmentCreate, DepartmentUpdate } from './departments-schemas';

// Reference data: every role reads it, admins change it.
const readers = { access: { publisher: true, enterprise: true, ops: true } } as const;
const admins = { access: {} };

const tags = ['departments'];

export const toDepartment = (d: DepartmentRow) => ({
  id: String(d.id),
  code: d.code,
  nameZh: d.nameZh,
  nameEn: d.nameEn,
  smsSignature: d.smsSignature,
  wechatTemplate: d.wechatTemplate ?? null,
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
});

async function uniqueCode<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('code', 'duplicate_code', 'a department with this code exists');
    throw err;
  }
}

export default async function departmentsRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.post(
    '/departments',
    { config: admins, schema: { tags, body: DepartmentCreate, response: { 201: Department, ...errorResponses } } },
    async (req, reply) => {
      const d = await auditedWrite(
        db,
        actorOf(req),
        (tx) => uniqueCode(() => insertDepartment(tx, req.body)),
        (row) => ({ action: 'department.create', subjectType: 'department', subjectId: row.id, details: fieldsOf(req.body) }),
      );
      return reply.code(201).send(toDepartment(d));
    },
  );

  app.get(
    '/departments',
    {
      config: readers,
      schema: {
        tags,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page(Department), ...errorResponses },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      return page(await listDepartments(db, { after: Number(req.query.cursor ?? 0), limit }), limit, toDepartment);
    },
  );

  app.get(
    '/departments/:id',
    { config: readers, schema: { tags, params: IdParams, response: { 200: Department, ...errorResponses } } },
    async (req) => {
      const d = await getDepartment(db, Number(req.params.id));
      if (!d) throw notFound('department');
      return toDepartment(d);
    },
  );

  app.patch(
    '/departments/:id',
    { config: admins, schema: { tags, params: IdParams, body: DepartmentUpdate, response: { 200: Department, ...errorResponses } } },
    async (req) => {
      const d = await auditedWrite(
        db,
        actorOf(req),
        (tx) => uniqueCode(() => updateDepartment(tx, Number(req.params.id), req.body)),
        (row) => (row ? { action: 'department.update', subjectType: 'department', subjectId: row.id, details: fieldsOf(req.body) } : null),
      );
      if (!d) throw notFound('department');
      return toDepartment(d);
    },
  );

  app.delete(
    '/departments/:id',
    { config: admins, schema: { tags, params: IdParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (req, reply) => {
      const id = Number(req.params.id);
      if (await departmentSubscribed(db, id)) throw conflict('id', 'in_use', 'enterprises subscribe to the department');
      try {
        await auditedWrite(
          db,
          actorOf(req),
          async (tx) => {
            if (!(await deleteDepartment(tx, id))) throw notFound('department');
          },
          () => ({ action: 'department.delete', subjectType: 'department', subjectId: id }),
        );
      } catch (err) {
        // Foreign keys from policies and service groups keep a department that is in use.
        if (isForeignKeyViolation(err)) throw conflict('id', 'in_use', 'the department has policies or service groups');
        throw err;
      }
      return reply.code(204).send(null);
    },
  );
}
