// The WeChat access token, shared by every process through a token store (Postgres, CHANNELS.md "Tokens").
// The stable token endpoint answers the same token on repeat calls, while a forced refresh
// invalidates the old one and is allowed about 20 times a day: so one refresher at a time
// (an advisory lock), a forced refresh only when the token that failed is still the cached one,
// and a refresh ahead of expiry so that senders rarely meet an expired token.
import { type WechatReply, type WechatSettings, wechatRequest, WechatTransportError } from './wechat-http';

export interface StoredToken {
  token: string;
  expiresAt: Date;
  refreshedAt: Date;
}

/**
 * Where the token is shared by every process: packages/db's providerTokenStore keeps it in
 * Postgres, under an advisory lock. The channels never reach the database themselves.
 */
export interface TokenStore {
  read(): Promise<StoredToken | null>;
  /**
   * Runs `fn` holding the refresh lock, so one process refreshes at a time. Inside, `fn` uses only
   * the store it is given: the outer one would deadlock on PGlite.
   */
  whileLocked<T>(fn: (locked: LockedTokenStore) => Promise<T>): Promise<T>;
}

export interface LockedTokenStore {
  read(): Promise<StoredToken | null>;
  save(t: StoredToken): Promise<void>;
}

export interface WechatTokenSource {
  /** A usable token: remembered in memory for a moment, else `current()`. For every send. */
  get(): Promise<string>;
  /** Re-reads the shared cache (another process may have refreshed it); refreshes when it is missing or about to expire. */
  current(): Promise<string>;
  /**
   * Fetches a token under the refresh lock, unless the cache turns out fresh once the lock is held.
   * `force` asks WeChat for a new token (invalidating the old); with `rejected`, only while the
   * cached token is still the one WeChat rejected — otherwise someone has already replaced it.
   */
  refresh(force?: boolean, rejected?: string): Promise<string>;
}

export interface WechatTokenOptions {
  store: TokenStore;
  settings: WechatSettings;
  timeoutMs: number;
  now?: () => Date;
  /** Refresh once the token has less than this left. Default 5 minutes: WeChat renews its stable token about then. */
  refreshAheadMs?: number;
  /** How long `get()` trusts what it last read. Default 10 s; a rejected token is re-read at once anyway. */
  memoMs?: number;
}

/** WeChat refused to issue a token (errcode), or could not be reached. */
export class WechatTokenError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly errcode?: number,
  ) {
    super(message);
  }
}

// A token that is about to expire but was fetched moments ago is the newest WeChat has: another
// fetch is not tried for this long. WeChat also allows a forced refresh only every 30 s.
const REFETCH_AFTER_MS = 30_000;

export function createWechatTokenSource(opts: WechatTokenOptions): WechatTokenSource {
  const { store, settings } = opts;
  const now = opts.now ?? (() => new Date());
  const refreshAheadMs = opts.refreshAheadMs ?? 5 * 60_000;
  const memoMs = opts.memoMs ?? 10_000;
  // A token is fetched every two hours or so: undici's global dispatcher, not a pool of its own.
  const http = { timeoutMs: opts.timeoutMs };
  let memo: (StoredToken & { readAt: number }) | null = null;
  let inflight: Promise<string> | null = null;
  let lastForcedAt = -Infinity;

  const remember = (t: StoredToken) => {
    memo = { ...t, readAt: now().getTime() };
    return t.token;
  };

  // Fresh: well before expiry; or still valid and fetched so recently that fetching again is pointless.
  function fresh(t: StoredToken | null): t is StoredToken {
    if (!t) return false;
    const at = now().getTime();
    const left = t.expiresAt.getTime() - at;
    return left > refreshAheadMs || (left > 0 && at - t.refreshedAt.getTime() < REFETCH_AFTER_MS);
  }

  async function fetchStableToken(force: boolean): Promise<StoredToken> {
    const asked = now();
    let reply;
    try {
      reply = await wechatRequest(http, `${settings.apiUrl}/cgi-bin/stable_token`, {
        grant_type: 'client_credential',
        appid: settings.appId,
        secret: settings.appSecret,
        force_refresh: force,
      });
    } catch (err) {
      if (err instanceof WechatTransportError) throw new WechatTokenError(err.code, `stable_token: ${err.message}`);
      throw err;
    }
    const { access_token: token, expires_in: expiresIn } = reply.json;
    if (reply.errcode !== 0 || typeof token !== 'string' || typeof expiresIn !== 'number') {
      throw new WechatTokenError(String(reply.errcode), `stable_token: ${reply.errcode} ${reply.errmsg}`, reply.errcode);
    }
    // Counted from when we asked, so a slow answer errs on the early side.
    return { token, expiresAt: new Date(asked.getTime() + expiresIn * 1000), refreshedAt: asked };
  }

  function lockedRefresh(force: boolean, rejected: string | undefined): Promise<string> {
    return store.whileLocked(async (locked) => {
      const cached = await locked.read();
      if (force) {
        const replaced = cached && rejected !== undefined && cached.token !== rejected;
        const tooSoon = cached && cached.expiresAt > now() && now().getTime() - lastForcedAt < REFETCH_AFTER_MS;
        if (replaced || tooSoon) return remember(cached);
      } else if (fresh(cached)) {
        return remember(cached);
      }
      const fetched = await fetchStableToken(force);
      if (force) lastForcedAt = fetched.refreshedAt.getTime();
      await locked.save(fetched);
      return remember(fetched);
    });
  }

  const source: WechatTokenSource = {
    async get() {
      if (memo && now().getTime() - memo.readAt < memoMs && fresh(memo)) return memo.token;
      return source.current();
    },
    async current() {
      const cached = await store.read();
      if (fresh(cached)) return remember(cached);
      return source.refresh(false);
    },
    async refresh(force = false, rejected) {
      // One refresh at a time in this process too: the lock would serialise them anyway, but each
      // waiter would hold a pooled connection while it waits.
      if (inflight) {
        const token = await inflight.catch(() => null);
        // Take theirs, unless it is the very token this caller must see replaced.
        if (token !== null && !(force && (rejected === undefined || token === rejected))) return token;
      }
      const run = lockedRefresh(force, rejected);
      inflight = run;
      try {
        return await run;
      } finally {
        if (inflight === run) inflight = null;
      }
    },
  };
  return source;
}

// CHANNELS.md errcode table, "token: re-read / refresh, retry once": invalid credential, invalid
// access token, access token expired.
const TOKEN_ERRCODES = new Set([40001, 40014, 42001]);
export const isTokenError = (errcode: number) => TOKEN_ERRCODES.has(errcode);

/**
 * Calls WeChat with the access token. When WeChat rejects the token: re-read the shared cache
 * (another process may have refreshed it) and retry once, then force a refresh and retry once
 * more. A re-read that finds the same token skips straight to the refresh: sending the rejected
 * token again could only fail again. Token failures throw WechatTokenError.
 */
export async function withAccessToken(tokens: WechatTokenSource, call: (token: string) => Promise<WechatReply>): Promise<WechatReply> {
  const first = await tokens.get();
  let reply = await call(first);
  if (!isTokenError(reply.errcode)) return reply;
  let rejected = first;
  const reread = await tokens.current();
  if (reread !== first) {
    reply = await call(reread);
    if (!isTokenError(reply.errcode)) return reply;
    rejected = reread;
  }
  const renewed = await tokens.refresh(true, rejected);
  // Refreshed moments ago and still rejected: nothing newer to try now; the caller retries later.
  if (renewed === rejected) return reply;
  return call(renewed);
}
