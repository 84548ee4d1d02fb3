// GET /v1/audit (issue 6): the audit log, for admins. Read only: no route changes or deletes a row.
import { and, auditLog, desc, eq, gte, lt } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { invalidField } from '../../errors';
import { errorResponses, Id, Page, PageQuery, page, Timestamp } from '../../schemas/common';

const AuditEntry = Type.Object({
  id: Id,
  actor: Type.String({ description: 'key (apiKeyId acted), recipient (the contact, through their own link, SMS or WeChat) or system' }),
  apiKeyId: Type.Union([Id, Type.Null()]),
  action: Type.String({ description: 'policy.publish, contact.update, subscription.delete, contact.unsubscribe, api_key.create…' }),
  subjectType: Type.String(),
  subjectId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Unknown({ description: 'ids, counts and field names; never an address' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
});

const AuditQuery = Type.Object(
  {
    ...PageQuery,
    action: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}\\.[a-z_]{1,40}$' })),
    apiKeyId: Type.Optional(Id),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'at or after' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'before' })),
  },
  { additionalProperties: false },
);

export default async function auditRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.get(
    '/audit',
    {
      config: { access: {} },
      schema: {
        tags: ['audit'],
        summary: "Who did what, when, from where: every write through the API and every recipient's own change; newest first",
        querystring: AuditQuery,
        response: { 200: Page(AuditEntry), ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit ?? 50;
      const from = q.from ? new Date(q.from) : undefined;
      const to = q.to ? new Date(q.to) : undefined;
      if (from && to && from >= to) throw invalidField('querystring.to', 'to_not_after_from', 'to must be after from');
      const rows = await db
        .select()
        .from(auditLog)
        .where(
          and(
            q.cursor ? lt(auditLog.id, Number(q.cursor)) : undefined,
            q.action ? eq(auditLog.action, q.action) : undefined,
            q.apiKeyId ? eq(auditLog.apiKeyId, Number(q.apiKeyId)) : undefined,
            from ? gte(auditLog.createdAt, from) : undefined,
            to ? lt(auditLog.createdAt, to) : undefined,
          ),
        )
        .orderBy(desc(auditLog.id))
        .limit(limit + 1);
      return page(rows, limit, (r) => ({
        id: String(r.id),
        actor: r.actor,
        apiKeyId: r.apiKeyId === null ? null : String(r.apiKeyId),
        action: r.action,
        subjectType: r.subjectType,
        subjectId: r.subjectId,
        details: r.details ?? null,
        ip: r.ip,
        createdAt: r.createdAt.toISOString(),
      }));
    },
  );
}
