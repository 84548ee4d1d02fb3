// Provider access tokens shared by every process (the WeChat stable token, CHANNELS.md "Tokens"):
// read by every send, refreshed by one process at a time under a transaction-level advisory lock.
import { sql } from 'drizzle-orm';
import type { Database, Queryable } from '../create-db';
import { decodeRows, toDate, toText } from '../rows';
import { providerTokens } from '../schema';
import { bare } from '../sql-names';

const t = providerTokens;

export interface ProviderToken {
  token: string;
  expiresAt: Date;
  refreshedAt: Date;
}

// The first key of the two-key advisory lock space, naming "provider token refresh"; the second
// is the provider's hash. (The migration lock uses the one-key space.)
const TOKEN_LOCK_CLASS = 7_100_432;

export async function getProviderToken(db: Queryable, provider: string): Promise<ProviderToken | null> {
  const [token = null] = decodeRows(
    await db.execute(sql`select ${t.token}, ${t.expiresAt}, ${t.refreshedAt} from ${t} where ${t.provider} = ${provider}`),
    (r): ProviderToken => ({ token: toText(r.token), expiresAt: toDate(r.expires_at), refreshedAt: toDate(r.refreshed_at) }),
  );
  return token;
}

export async function saveProviderToken(db: Queryable, provider: string, token: ProviderToken): Promise<void> {
  await db.execute(sql`
    insert into ${t} (${bare(t.provider)}, ${bare(t.token)}, ${bare(t.expiresAt)}, ${bare(t.refreshedAt)})
    values (${provider}, ${token.token}, ${token.expiresAt.toISOString()}, ${token.refreshedAt.toISOString()})
    on conflict (${bare(t.provider)}) do update
    set ${bare(t.token)} = excluded.${bare(t.token)}, ${bare(t.expiresAt)} = excluded.${bare(t.expiresAt)},
      ${bare(t.refreshedAt)} = excluded.${bare(t.refreshedAt)}`);
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
