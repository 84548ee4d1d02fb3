// Signing in to /ops with an API key (issue 5, "The console"). The key itself is never stored in
// the browser: the sign-in form trades it for a session (a row of ops_sessions) whose signed id is
// held in an HttpOnly, SameSite=Strict cookie (Secure when the request came over https). The row
// keeps the key's secret hash as it was at sign-in and every page re-reads the key, so revoking or
// rotating the key ends its sessions at once; signing out deletes the row.
//
// CSRF: each session has its own token, an HMAC of the session cookie, put in a hidden field of
// every form and checked on every POST. The sign-in form, which has no session yet, uses a
// double-submit nonce: a random value in a short-lived cookie and in the form.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { signToken, verifyToken, OPS_SESSION_PURPOSE, OPS_CSRF_PURPOSE } from '@policy-push/core';
import { and, apiKeys, eq, gt, isNull, lt, opsSessions, type Queryable, sql } from '@policy-push/db';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'pp_ops_session';
export const LOGIN_COOKIE = 'pp_ops_login';
const SESSION_HOURS = 8;

/**
 * What each role may open in the console (the API's rules, plugins/authorize.ts, in page terms).
 * Enterprise keys do not sign in: an enterprise uses the API or its preferences page.
 */
export const CONSOLE_PAGES = {
  dashboard: ['admin', 'ops'],
  deliveries: ['admin', 'ops'],
  outbox: ['admin', 'ops'],
  compose: ['admin', 'publisher'],
  policy: ['admin', 'ops', 'publisher'],
  enterprises: ['admin', 'ops'],
  // The list of policies (a publisher's: its departments'), and what the policy page's actions
  // post: the writes POST/PATCH /v1/policies/{id}… allow, i.e. not ops.
  policies: ['admin', 'ops', 'publisher'],
  policyActions: ['admin', 'publisher'],
} as const satisfies Record<string, readonly string[]>;
export type ConsolePage = keyof typeof CONSOLE_PAGES;

export const mayOpen = (role: string, p: ConsolePage) => (CONSOLE_PAGES[p] as readonly string[]).includes(role);

const POLICY_ACTION = /^\/ops\/policies\/[^/]+\/(amend|revoke|cancel|push)(\/|$)/;

/** Which console page a path is, for CONSOLE_PAGES; undefined for what every signed-in key may use (signing out, scripts). */
export function pageOf(path: string): ConsolePage | undefined {
  if (path === '/ops') return 'dashboard';
  if (path.startsWith('/ops/deliveries')) return 'deliveries';
  if (path.startsWith('/ops/outbox')) return 'outbox';
  if (path.startsWith('/ops/compose')) return 'compose';
  if (POLICY_ACTION.test(path)) return 'policyActions';
  if (path.startsWith('/ops/policies/')) return 'policy';
  if (path === '/ops/policies') return 'policies';
  if (path.startsWith('/ops/enterprises')) return 'enterprises';
  return undefined;
}

/**
 * Whether a role may open a link (a path, with or without its query): the same rules the console's
 * onRequest check applies, so a page never shows a link that would answer 403.
 */
export function mayGet(role: string, href: string): boolean {
  const page = pageOf(href.split(/[?#]/)[0]);
  return !page || mayOpen(role, page);
}

export interface OpsUser {
  keyId: number;
  keyName: string;
  role: string;
  /** live | test: a test key's publishes go to the sandbox only. */
  mode: string;
  /** A publisher's departments. */
  departmentIds: number[];
  /** The session cookie's value, which the CSRF token is derived from. */
  session: string;
  /** The ops_sessions row the cookie names. */
  sessionId: string;
}

/**
 * A new session for the key whose secret hashes to `keySecretHash`, and its cookie value. The id
 * is random, so every sign-in is a new session with its own CSRF token. Sessions past their end
 * are deleted here: sign-ins are rare, and nothing else needs them.
 */
export async function newSession(db: Queryable, secret: string, keyId: number, keySecretHash: string, now = new Date()): Promise<string> {
  const id = randomBytes(18).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_HOURS * 3_600_000);
  await db.delete(opsSessions).where(lt(opsSessions.expiresAt, sql`now()`));
  await db.insert(opsSessions).values({ id, apiKeyId: keyId, keySecretHash, expiresAt });
  return signToken(secret, OPS_SESSION_PURPOSE, id, expiresAt);
}

/** The signed-in key, or null: no cookie, a forged or expired one, one signed out, or a key revoked or rotated since. */
export async function sessionUser(db: Queryable, secret: string, cookie: string | undefined, now = new Date()): Promise<OpsUser | null> {
  if (!cookie) return null;
  const sessionId = verifyToken(secret, OPS_SESSION_PURPOSE, cookie, now);
  if (!sessionId) return null;
  const [key] = await db
    .select({ id: apiKeys.id, name: apiKeys.name, role: apiKeys.role, mode: apiKeys.mode, departmentIds: apiKeys.departmentIds })
    .from(opsSessions)
    .innerJoin(apiKeys, and(eq(apiKeys.id, opsSessions.apiKeyId), eq(apiKeys.secretHash, opsSessions.keySecretHash)))
    .where(and(eq(opsSessions.id, sessionId), gt(opsSessions.expiresAt, now), isNull(apiKeys.revokedAt)));
  if (!key || key.role === 'enterprise') return null;
  return { keyId: key.id, keyName: key.name, role: key.role, mode: key.mode, departmentIds: key.departmentIds, session: cookie, sessionId };
}

/** Signing out: the session ends here, whatever the browser does with its cookie. */
export async function endSession(db: Queryable, sessionId: string): Promise<void> {
  await db.delete(opsSessions).where(eq(opsSessions.id, sessionId));
}

export const csrfToken = (secret: string, session: string) =>
  createHmac('sha256', secret).update(`${OPS_CSRF_PURPOSE}|${session}`).digest('base64url');

/** Constant-time comparison of two tokens; false when either is missing. */
export function sameToken(given: unknown, expected: string | undefined): boolean {
  if (typeof given !== 'string' || !expected) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const loginNonce = () => randomBytes(18).toString('base64url');

/** HttpOnly and SameSite=Strict always; Secure when the browser reached us over https. */
export function cookieOptions(req: FastifyRequest, maxAgeSeconds: number) {
  return { path: '/ops', httpOnly: true, sameSite: 'strict' as const, secure: req.protocol === 'https', maxAge: maxAgeSeconds };
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string) {
  reply.setCookie(SESSION_COOKIE, token, cookieOptions(req, SESSION_HOURS * 3600));
}
