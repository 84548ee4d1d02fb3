// How statements reach the server: prepared once per connection and planned for each execution's
// own values (create-db.ts), and hot reads built once per database (prepared-query.ts).
import { createTestDb, type TestDb, testDatabaseUrl } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db, decodeRows, getEnterprise, insertEnterprise, toNumber, toText } from '../src';

const enterprise = (creditCode: string) => ({
  creditCode,
  name: `企业 ${creditCode}`,
  industrySection: 'C',
  district: 'tianhe',
  size: 'small',
});

describe('hot reads built once', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('reads on the database and inside a transaction, each seeing its own rows', async () => {
    const committed = await insertEnterprise(t.db, enterprise('91440101MA5CAAAA01'));
    expect((await getEnterprise(t.db, committed.id))?.creditCode).toBe('91440101MA5CAAAA01');
    expect((await getEnterprise(t.db, committed.id))?.name).toBe('企业 91440101MA5CAAAA01');
    // Inside a transaction the read runs on the transaction: it sees the uncommitted row, which
    // another connection would not (and PGlite, one connection, would wait for ever).
    let createdId = 0;
    let inside: string | undefined;
    await t.db
      .transaction(async (tx) => {
        createdId = (await insertEnterprise(tx, enterprise('91440101MA5CAAAA02'))).id;
        inside = (await getEnterprise(tx, createdId))?.creditCode;
        tx.rollback();
      })
      .catch(() => {});
    expect(inside).toBe('91440101MA5CAAAA02');
    expect(await getEnterprise(t.db, createdId)).toBeUndefined();
  });
});

describe.skipIf(!testDatabaseUrl())('statements on Postgres', () => {
  let t: TestDb;
  let one: Db;
  beforeAll(async () => {
    t = await createTestDb();
    one = await createDb({ url: t.config.url, poolSize: 1, applicationName: 'statements-test' });
  });
  afterAll(async () => {
    await one?.close();
    await t?.drop();
  });

  it('prepares each statement once per connection, outside and inside transactions, and plans every execution', async () => {
    const { id } = await insertEnterprise(t.db, enterprise('91440101MA5CAAAA03'));
    // Past five executions Postgres may switch a prepared statement to a generic plan, made
    // without the values; plans made that way on an empty outbox scan it (outbox-plans.test.ts).
    for (let i = 0; i < 8; i++) await getEnterprise(one.db, id);
    await one.db.transaction(async (tx) => {
      await tx.execute(sql`select ${id}::bigint as "inTransaction"`);
    });
    const prepared = decodeRows(
      await one.db.execute(sql`select statement, generic_plans, custom_plans from pg_prepared_statements`),
      (r) => ({ statement: toText(r.statement), genericPlans: toNumber(r.generic_plans), customPlans: toNumber(r.custom_plans) }),
    );
    const read = prepared.filter((p) => p.statement.includes('from "enterprises"'));
    expect(read).toHaveLength(1);
    expect(read[0]).toMatchObject({ genericPlans: 0, customPlans: 8 });
    expect(prepared.some((p) => p.statement.includes('"inTransaction"'))).toBe(true);
  });
});
