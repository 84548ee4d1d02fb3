import { type Config, createLogger, generateCreditCode, type Logger, parseConfig } from '@policy-push/core';
import { rowsOf, signingSecret, sql } from '@policy-push/db';
import { createAdapters, startDispatcher } from '@policy-push/dispatcher';
import { expect } from 'vitest';
import { createTestDb, type TestDb } from '@policy-push/testkit';
import { buildApp } from '../src/app';
import type { AppInstance } from '../src/app-instance';
import { csrfToken } from '../src/routes/ops/ops-session';
import { createApiKey } from '../src/services/api-keys';

export interface TestApp {
  app: AppInstance;
  t: TestDb;
  /** Headers carrying an admin key. */
  auth: { authorization: string };
  close(): Promise<void>;
}

const UNLIMITED = {
  RATE_LIMIT_PER_KEY: '1000000',
  RATE_LIMIT_FAILED_SIGN_INS_PER_IP: '1000000',
  RATE_LIMIT_LINKS_PER_IP: '1000000',
  RATE_LIMIT_WEBHOOKS_PER_IP: '1000000',
};

/** An app on a database of its own, with an admin key; close() drops both. */
export async function buildTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const t = await createTestDb();
  // Quiet hours off unless a test turns them on: tests must not depend on the time of day.
  // Rate limits out of the way too (one key and one address make every request of a test file);
  // rate-limits.test.ts sets its own.
  const config = parseConfig({ LOG_LEVEL: 'silent', QUIET_HOURS: '00:00-00:00', ...UNLIMITED, ...env });
  const logger = createLogger({ level: config.logLevel });
  const app = await buildApp({ config, db: t, logger, signingSecret: await signingSecret(t.db, config.signingSecret) });
  const { key } = await createApiKey(t.db, { name: 'test admin', role: 'admin' });
  return {
    app,
    t,
    auth: { authorization: `Bearer ${key}` },
    async close() {
      await app.close();
      await t.drop();
    },
  };
}

/** Headers carrying a new key of this role and scope (buildTestApp's own key is an admin's). */
export async function keyHeaders(h: TestApp, input: Omit<Parameters<typeof createApiKey>[1], 'name'> & { name?: string }) {
  const { key } = await createApiKey(h.t.db, { name: `test ${input.role}`, ...input });
  return { authorization: `Bearer ${key}` };
}

/** Row counts of every table, to prove a rejected request wrote nothing. */
export async function tableCounts(t: TestDb): Promise<Record<string, number>> {
  const tables = rowsOf<{ table_name: string }>(
    await t.db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`),
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [row] = rowsOf<{ n: number }>(await t.db.execute(sql.raw(`select count(*)::int as n from "${table_name}"`)));
    counts[table_name] = row.n;
  }
  return counts;
}

/** POST/GET through inject with the admin key, answering parsed JSON and failing loudly on surprise. */
export async function call<T = any>(
  h: TestApp,
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  url: string,
  payload?: unknown,
  expected?: number,
): Promise<T> {
  const res = await h.app.inject({ method, url, headers: h.auth, payload: payload as object });
  if (expected !== undefined && res.statusCode !== expected) throw new Error(`${method} ${url} → ${res.statusCode}: ${res.body}`);
  return (res.body ? res.json() : undefined) as T;
}

let creditSeed = 1;
/** A small world through the API: a department, a category, and enterprises that subscribe to it. */
export async function seedWorld(h: TestApp, contacts: { phone?: string; email?: string; wechatOpenid?: string; channels?: string[] }[]) {
  const n = creditSeed++;
  const department = await call(
    h,
    'POST',
    '/v1/departments',
    { code: `dept-${n}`, nameZh: '测试局', nameEn: 'Test Bureau', smsSignature: '广州测试' },
    201,
  );
  const category = await call(h, 'POST', '/v1/categories', { code: `cat-${n}`, nameZh: '测试类', nameEn: 'Test' }, 201);
  const enterprises = [];
  for (const [i, c] of contacts.entries()) {
    let seed = n * 1000 + i;
    const creditCode = generateCreditCode(() => (seed = (seed * 16807) % 2147483647) / 2147483647);
    const enterprise = await call(
      h,
      'POST',
      '/v1/enterprises',
      { creditCode, name: `企业${n}-${i}`, industry: { section: 'C' }, district: '440106', size: 'small', tags: [] },
      201,
    );
    const contact = await call(h, 'POST', `/v1/enterprises/${enterprise.id}/contacts`, c, 201);
    await call(h, 'POST', '/v1/subscriptions', { enterpriseId: enterprise.id, categoryIds: [category.id] }, 201);
    enterprises.push({ enterprise, contact });
  }
  return { department, category, enterprises };
}

export const policyBody = (departmentId: string, categoryId: string, extra: Record<string, unknown> = {}) => ({
  departmentId,
  docNumber: `DOC-${Math.random().toString(36).slice(2, 10)}`,
  title: '广州市支持中小企业共渡难关十五条措施',
  summary: '减免租金、延期缴纳社保、加大金融支持，帮助中小企业渡过难关。',
  url: 'https://policy.example.gov.cn/2020/004',
  categoryIds: [categoryId],
  ...extra,
});

/** Sends a request that must be refused with this status and field, and proves it wrote nothing. */
export async function expectRefused(
  h: TestApp,
  method: 'POST' | 'PATCH' | 'PUT',
  url: string,
  payload: object,
  status: number,
  code: string,
  path: string,
) {
  const before = await tableCounts(h.t);
  const res = await h.app.inject({ method, url, headers: h.auth, payload });
  expect(res.statusCode, res.body).toBe(status);
  if (status !== 400) expect(res.json().error.code).toBe(code);
  expect(res.json().error.fields).toContainEqual({ path, code });
  expect(await tableCounts(h.t)).toEqual(before);
}

/**
 * A dispatcher for an app under test, on its database and signing key: with `config` (by default
 * the app's own) and the adapters it configures — the real providers where it names them, the
 * sandbox elsewhere and for test keys. stop() stops it and closes its adapters (flushing the
 * sandbox log).
 */
export async function startTestDispatcher(
  h: TestApp,
  config: Config = h.app.deps.config,
  logger: Logger = createLogger({ level: 'silent' }),
) {
  const adapters = createAdapters(config, h.t.db, logger, { receiptDelayMs: 5 });
  const dispatcher = await startDispatcher({
    config,
    db: h.t,
    logger,
    adapters: adapters.byChannel,
    testAdapters: adapters.sandbox,
    withJobs: false,
    signingSecret: h.app.deps.signingSecret,
  });
  return {
    dispatcher,
    adapters,
    async stop() {
      await dispatcher.stop();
      await adapters.close();
    },
  };
}

/** startTestDispatcher on the sandbox channels only, quiet hours off and a short poll; `env` adds settings. */
export const startSandboxDispatcher = (h: TestApp, env: Record<string, string> = {}) =>
  startTestDispatcher(h, parseConfig({ LOG_LEVEL: 'silent', QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20', ...env }));

/**
 * Signs in to the ops console with `key` as a browser does (the login page's nonce, then the form).
 * Answers the sign-in response, and when it succeeded the session cookie and its forms' CSRF token.
 */
export async function opsSignIn(h: TestApp, key: string, headers: Record<string, string> = {}, remoteAddress?: string) {
  const page = await h.app.inject({ method: 'GET', url: '/ops/login', headers, remoteAddress });
  const nonce = page.cookies.find((c) => c.name === 'pp_ops_login')!.value;
  const res = await h.app.inject({
    method: 'POST',
    url: '/ops/login',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers, cookie: `pp_ops_login=${nonce}` },
    payload: new URLSearchParams({ key, _csrf: nonce }).toString(),
  });
  const session = res.cookies.find((c) => c.name === 'pp_ops_session');
  return {
    res,
    session,
    cookie: `pp_ops_session=${session?.value}`,
    csrf: session ? csrfToken(h.app.deps.signingSecret, session.value) : '',
  };
}

/** The audit rows whose subject is this contact, oldest first: who acted (actor, key) and what. */
export async function contactAudit(t: TestDb, contactId: number | string) {
  return rowsOf<{ actor: string; api_key_id: string | null; action: string }>(
    await t.db.execute(
      sql`select actor, api_key_id::text, action from audit_log where subject_type = 'contact' and subject_id = ${String(contactId)} order by id`,
    ),
  );
}
