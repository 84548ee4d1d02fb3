import { and, eq, gt, lte, sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { idempotencyKeys } from '../schema';

// Idempotency keys are kept 24 hours; an older one counts as unused.
const FRESH = sql`now() - interval '24 hours'`;

export async function getIdempotentAnswer(db: Queryable, apiKeyId: number, key: string) {
  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.apiKeyId, apiKeyId), eq(idempotencyKeys.key, key), gt(idempotencyKeys.createdAt, FRESH)));
  return row;
}

export async function saveIdempotentAnswer(
  tx: Queryable,
  a: { apiKeyId: number; key: string; requestHash: string; statusCode: number; body: unknown },
): Promise<void> {
  await tx
    .delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.apiKeyId, a.apiKeyId), eq(idempotencyKeys.key, a.key), lte(idempotencyKeys.createdAt, FRESH)));
  await tx
    .insert(idempotencyKeys)
    .values({ apiKeyId: a.apiKeyId, key: a.key, requestHash: a.requestHash, statusCode: a.statusCode, response: a.body });
}
