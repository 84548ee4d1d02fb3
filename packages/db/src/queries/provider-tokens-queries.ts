// Provider access tokens shared by every process (the WeChat stable token, CHANNELS.md "Tokens"):
// read by every send, refreshed by one process at a time under a transaction-level advisory lock.
import { sql } from 'drizzle-orm';
import type { Database, Queryable } from '../create-db';
import { rowsOf } from '../rows';

export interface ProviderToken {
  token: string;
  expiresAt: Date;
  refreshedAt: Date;
}

// The first key of the two-key advisory lock space, naming "provider token refresh"; the second
// is the provider's hash. (The migration lock uses the one-key space.)
const TOKEN_LOCK_CLASS = 7_100_432;

export async function getProviderToken(db: Queryable, provider: string): Promise<ProviderToken | null> {
  const [row] = rowsOf<{ token: string; expires_at: string | Date; refreshed_at: string | Date }>(
    await db.execute(sql`select token, expires_at, refreshed_at from provider_tokens where provider = ${provider}`),
  );
  return row ? { token: row.token, expiresAt: new Date(row.expires_at), refreshedAt: new Date(row.refreshed_at) } : null;
}

export async function saveProviderToken(db: Queryable, provider: string, t: ProviderToken): Promise<void> {
  await db.execute(sql`
    insert into provider_tokens (provider, token, expires_at, refreshed_at)
    values (${provider}, ${t.token}, ${t.expiresAt.toISOString()}, ${t.refreshedAt.toISOString()})
    on conflict (provider) do update
    set token = excluded.token, expires_at = excluded.expires_at, refreshed_at = excluded.refreshed_at`);
}

/**
 * Runs `fn` in a transaction holding the provider's refresh lock, so exactly one process refreshes
 * at a time; the others wait, then find the fresh token. The lock is transaction-level: with a
 * pool, a session lock could be released on another connection (ARCHITECTURE.md). `fn` must use
 * the transaction it is given, never the outer handle: on PGlite that would deadlock.
 */
export async function withProviderTokenLock<T>(db: Database, provider: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${TOKEN_LOCK_CLASS}, hashtext(${provider}))`);
    return fn(tx);
  });
}

/**
 * One provider's token in provider_tokens, as the channels' TokenStore (WeChat's token source)
 * takes it: read by every send, saved under the refresh lock.
 */
export function providerTokenStore(db: Database, provider: string) {
  const over = (q: Queryable) => ({
    read: () => getProviderToken(q, provider),
    save: (t: ProviderToken) => saveProviderToken(q, provider, t),
  });
  return {
    read: () => getProviderToken(db, provider),
    whileLocked: <T>(fn: (locked: ReturnType<typeof over>) => Promise<T>) => withProviderTokenLock(db, provider, (tx) => fn(over(tx))),
  };
}
