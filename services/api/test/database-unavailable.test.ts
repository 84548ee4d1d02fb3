// The database unable to take requests — read-only (a standby, a full disk remounted read-only),
// or refusing connections — is a 503 with the JSON error shape and code `database_unavailable`,
// never a 500, and a refused write leaves nothing behind. The fault suite does the same with the
// real server stopped (services/dispatcher/test/faults/database-unavailable.fault.ts).
import { createLogger, parseConfig } from '@policy-push/core';
import { createDb, type Db, sql } from '@policy-push/db';
import { freePort } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import type { AppInstance } from '../src/app-instance';
import { buildTestApp, call, policyBody, seedWorld, tableCounts, type TestApp } from './helpers';

const config = () => parseConfig({ LOG_LEVEL: 'silent', QUIET_HOURS: '00:00-00:00', RATE_LIMIT_PER_KEY: '1000000' });
const appOn = (db: Db) => buildApp({ config: config(), db, logger: createLogger({ level: 'silent' }), signingSecret: 'x'.repeat(32) });

function expectUnavailable(res: { statusCode: number; json(): any; headers: Record<string, unknown> }) {
  expect(res.statusCode).toBe(503);
  expect(res.json()).toEqual({ error: { code: 'database_unavailable', message: expect.any(String), fields: [] } });
  expect(res.headers['retry-after']).toBe('5');
}

describe('a read-only database', () => {
  let h: TestApp;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  let readOnly: { app: AppInstance; close(): Promise<void> };

  beforeAll(async () => {
    h = await buildTestApp();
    world = await seedWorld(h, [{ email: 'ro@example.com' }]);
    readOnly = await readOnlyApp(h);
  });
  afterAll(async () => {
    await readOnly?.close();
    await h?.close();
  });

  /**
   * An app whose connections are all read-only. Postgres: the database's default, which only new
   * connections take (a second pool, after the ALTER). PGlite is one session: set it there.
   */
  async function readOnlyApp(h: TestApp) {
    if (h.t.driver === 'pglite') {
      await h.t.db.execute(sql`set default_transaction_read_only = on`);
      return { app: h.app, close: () => h.t.db.execute(sql`set default_transaction_read_only = off`).then(() => {}) };
    }
    const [{ name }] = (await h.t.db.execute(sql`select current_database() as name`)) as unknown as { name: string }[];
    await h.t.db.execute(sql.raw(`alter database "${name}" set default_transaction_read_only = on`));
    const db = await createDb(h.t.config);
    const app = await appOn(db);
    return {
      app,
      async close() {
        await app.close();
        await db.close();
        await h.t.db.execute(sql.raw(`alter database "${name}" reset default_transaction_read_only`));
      },
    };
  }

  it('refuses a publish with 503 database_unavailable and writes nothing', async () => {
    const before = await tableCounts(h.t);
    const res = await readOnly.app.inject({
      method: 'POST',
      url: '/v1/policies',
      headers: h.auth,
      payload: policyBody(world.department.id, world.category.id),
    });
    expectUnavailable(res);
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('refuses creating a department the same way', async () => {
    const res = await readOnly.app.inject({
      method: 'POST',
      url: '/v1/departments',
      headers: h.auth,
      payload: { code: 'ro-dept', nameZh: '只读局', nameEn: 'Read-only', smsSignature: '广州测试' },
    });
    expectUnavailable(res);
  });

  it('works again once the database is writable', async () => {
    await readOnly.close();
    readOnly = { app: h.app, close: async () => {} };
    await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
  });
});

describe('a database that refuses connections', () => {
  let app: AppInstance;
  let db: Db;
  beforeAll(async () => {
    // Nothing listens on this port: every query fails with ECONNREFUSED.
    db = await createDb({ url: `postgres://postgres@127.0.0.1:${await freePort()}/nothing`, poolSize: 1 });
    app = await appOn(db);
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('answers API routes with 503 and /readyz with unavailable', async () => {
    expectUnavailable(await app.inject({ url: '/v1/departments', headers: { authorization: `Bearer pp_${'a'.repeat(30)}` } }));
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().reason).toBe('database unreachable');
  });
});
