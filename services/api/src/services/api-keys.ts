import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { apiKeys, type Queryable, and, eq, isNull, lt, or, sql } from '@policy-push/db';

// A key is `pp_` + 40 random characters. Its first 13 characters are the public prefix used to
// find it; only the SHA-256 of the whole key is stored.
const PREFIX_LENGTH = 13;

export function generateApiKey(): string {
  return `pp_${randomBytes(30).toString('base64url').replace(/[-]/g, 'x').slice(0, 40)}`;
}

const hash = (key: string) => createHash('sha256').update(key).digest('hex');

export interface KeyIdentity {
  id: number;
  role: string;
}

export async function createApiKey(
  db: Queryable,
  input: { name: string; role: string; key?: string },
): Promise<{ key: string; id: number }> {
  const key = input.key ?? generateApiKey();
  const [row] = await db
    .insert(apiKeys)
    .values({ name: input.name, role: input.role, prefix: key.slice(0, PREFIX_LENGTH), secretHash: hash(key) })
    .onConflictDoUpdate({ target: apiKeys.prefix, set: { secretHash: hash(key), revokedAt: null } })
    .returning({ id: apiKeys.id });
  return { key, id: row.id };
}

export async function countApiKeys(db: Queryable): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(apiKeys);
  return row.n;
}

/** The key's identity, or null when it is unknown, wrong or revoked. */
export async function authenticate(db: Queryable, key: string): Promise<KeyIdentity | null> {
  if (key.length < 24 || key.length > 200) return null;
  const [row] = await db
    .select({ id: apiKeys.id, role: apiKeys.role, secretHash: apiKeys.secretHash })
    .from(apiKeys)
    .where(and(eq(apiKeys.prefix, key.slice(0, PREFIX_LENGTH)), isNull(apiKeys.revokedAt)));
  if (!row) return null;
  const given = Buffer.from(hash(key), 'hex');
  if (!timingSafeEqual(given, Buffer.from(row.secretHash, 'hex'))) return null;
  // Last use at minute precision: one write a minute per key, not one per request.
  await db
    .update(apiKeys)
    .set({ lastUsedAt: sql`now()` })
    .where(and(eq(apiKeys.id, row.id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - interval '1 minute'`))));
  return { id: row.id, role: row.role };
}
