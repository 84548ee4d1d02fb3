import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@policy-push/core';
import { apiKeys, type Database, type Queryable, and, asc, eq, isNull, lt, or, sql } from '@policy-push/db';
import { audit } from './audit';

export type ApiKey = typeof apiKeys.$inferSelect;

// A key is `pp_` + 40 random characters. Its first 13 characters are the public prefix used to
// find it; only the SHA-256 of the whole key is stored.
const PREFIX_LENGTH = 13;

export const ROLES = ['admin', 'publisher', 'enterprise', 'ops'] as const;
export type Role = (typeof ROLES)[number];
export const MODES = ['live', 'test'] as const;
export type KeyMode = (typeof MODES)[number];

export function generateApiKey(): string {
  return `pp_${randomBytes(30).toString('base64url').replace(/[-]/g, 'x').slice(0, 40)}`;
}

/** What api_keys.secret_hash holds for a key. */
export const secretHashOf = (key: string) => createHash('sha256').update(key).digest('hex');
const hash = secretHashOf;
export const prefixOf = (key: string) => key.slice(0, PREFIX_LENGTH);

/** Who a request acts as: the key's role and the scope it is limited to. */
export interface KeyIdentity {
  id: number;
  role: Role;
  /** A test key's policies are sent through the sandbox only. */
  mode: KeyMode;
  /** The departments a publisher key acts for; empty for other roles. */
  departmentIds: number[];
  /** The enterprise an enterprise key is; null for other roles. */
  enterpriseId: number | null;
}

export async function createApiKey(
  db: Queryable,
  input: { name: string; role: Role; mode?: KeyMode; departmentIds?: number[]; enterpriseId?: number | null },
): Promise<{ key: string; id: number; row: ApiKey }> {
  const key = generateApiKey();
  const [row] = await db
    .insert(apiKeys)
    .values({
      name: input.name,
      role: input.role,
      mode: input.mode ?? 'live',
      departmentIds: input.departmentIds ?? [],
      enterpriseId: input.enterpriseId ?? null,
      prefix: prefixOf(key),
      secretHash: hash(key),
    })
    .returning();
  return { key, id: row.id, row };
}

/**
 * The admin key ADMIN_API_KEY asks for, made at most once in the database's life. The setting's
 * hash stays on the key it made (bootstrap_hash) whatever becomes of that key, so later starts
 * ignore the setting, with a warning: a rotated or revoked bootstrap key never comes back.
 */
export async function bootstrapAdminKey(db: Database, secret: string, log: Logger): Promise<'created' | 'ignored'> {
  return db.transaction(async (tx) => {
    const [made] = await tx
      .select({ id: apiKeys.id, bootstrapHash: apiKeys.bootstrapHash, secretHash: apiKeys.secretHash, revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(sql`${apiKeys.bootstrapHash} is not null`)
      .orderBy(asc(apiKeys.id))
      .limit(1);
    if (made) {
      log.warn(
        {
          event: 'admin_api_key_ignored',
          keyId: made.id,
          sameSecret: made.bootstrapHash === hash(secret),
          rotated: made.secretHash !== made.bootstrapHash,
          revoked: made.revokedAt !== null,
        },
        'ADMIN_API_KEY is ignored: the key made from it at an earlier start exists (see README, "The first admin key"); remove the setting',
      );
      return 'ignored';
    }
    // Two replicas starting at once: the second one's insert meets the first one's row.
    const [row] = await tx
      .insert(apiKeys)
      .values({ name: BOOTSTRAP_KEY_NAME, role: 'admin', prefix: prefixOf(secret), secretHash: hash(secret), bootstrapHash: hash(secret) })
      .onConflictDoNothing()
      .returning();
    if (!row) return 'ignored';
    await audit(
      tx,
      { apiKeyId: null, ip: null, actor: 'system' },
      {
        action: 'api_key.create',
        subjectType: 'api_key',
        subjectId: row.id,
        details: { role: 'admin', mode: 'live', from: 'ADMIN_API_KEY' },
      },
    );
    log.info({ keyId: row.id }, 'made the admin key ADMIN_API_KEY names');
    return 'created';
  });
}

export const BOOTSTRAP_KEY_NAME = 'admin (ADMIN_API_KEY)';

/** A new secret for the key; the old one stops working at once (its prefix no longer exists). */
export async function rotateApiKey(db: Queryable, id: number): Promise<{ key: string; row: ApiKey } | undefined> {
  const key = generateApiKey();
  const [row] = await db
    .update(apiKeys)
    .set({ prefix: prefixOf(key), secretHash: hash(key), lastUsedAt: null })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning();
  return row && { key, row };
}

export async function countApiKeys(db: Queryable): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(apiKeys);
  return row.n;
}

export const identityOf = (row: Pick<ApiKey, 'id' | 'role' | 'mode' | 'departmentIds' | 'enterpriseId'>): KeyIdentity => ({
  id: row.id,
  role: row.role as Role,
  mode: row.mode as KeyMode,
  departmentIds: row.departmentIds,
  enterpriseId: row.enterpriseId,
});

/** The key's identity, or null when it is unknown, wrong or revoked. */
export async function authenticate(db: Queryable, key: string): Promise<KeyIdentity | null> {
  if (key.length < 24 || key.length > 200) return null;
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.prefix, prefixOf(key)), isNull(apiKeys.revokedAt)));
  if (!row) return null;
  const given = Buffer.from(hash(key), 'hex');
  if (!timingSafeEqual(given, Buffer.from(row.secretHash, 'hex'))) return null;
  // Last use at minute precision: one write a minute per key, and no round trip at all on the
  // other requests (the row just read says whether it is due).
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now()` })
      .where(and(eq(apiKeys.id, row.id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - interval '1 minute'`))));
  }
  return identityOf(row);
}

/**
 * Keys verified in the last few seconds, by the SHA-256 of the whole key: without it every request
 * pays a database round trip before its own work (PERFORMANCE.md P8). Only keys that passed are
 * kept (a wrong key is read each time; FailedAttempts in plugins/rate-limits.ts bounds those). Revoking or rotating a key
 * empties the cache of the process that did it; other API processes may accept the old secret for
 * up to `ttlMs` more (API_KEY_CACHE_SECONDS).
 */
export class VerifiedKeys {
  private readonly byHash = new Map<string, { identity: KeyIdentity; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  async authenticate(db: Queryable, key: string): Promise<KeyIdentity | null> {
    if (this.ttlMs === 0) return authenticate(db, key);
    const digest = hash(key);
    const hit = this.byHash.get(digest);
    if (hit && hit.until > this.clock()) return hit.identity;
    this.byHash.delete(digest);
    const identity = await authenticate(db, key);
    if (identity) {
      if (this.byHash.size >= this.maxKeys) this.byHash.clear();
      this.byHash.set(digest, { identity, until: this.clock() + this.ttlMs });
    }
    return identity;
  }

  forgetAll(): void {
    this.byHash.clear();
  }
}
