import { expectedMigrationCount, rowsOf, sql } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';

const Status = Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) });

export default async function healthRoutes(app: AppInstance) {
  const expected = expectedMigrationCount();

  app.get('/healthz', { schema: { tags: ['health'], response: { 200: Status } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['health'], response: { 200: Status, 503: Status } } }, async (_req, reply) => {
    try {
      const rows = rowsOf<{ n: number }>(await app.deps.db.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`));
      if (rows[0].n < expected) return reply.code(503).send({ status: 'unavailable', reason: 'migrations pending' });
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
    }
  });
}
