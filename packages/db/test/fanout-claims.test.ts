// One address, one message when a fan-out chunk races another claim on the same address (issue
// 13): the chunk decides merged-or-claimant inside its INSERT, from the claim's RETURNING, so a
// claim committed by another transaction after the chunk's snapshot still decides. Postgres only:
// it needs two connections.
import { createTestDb, seedPolicy, seedSubscribers, type TestDb, testDatabaseUrl } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fanOutNextChunk, rowsOf } from '../src';

describe.skipIf(!testDatabaseUrl())('fan-out claims racing another transaction (Postgres)', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  it('a chunk that meets a claim committed after its snapshot merges into that claimant', async () => {
    const s = await seedSubscribers(t.db, 3);
    // Three enterprises' contacts share one phone: one message between them.
    await t.db.execute(sql`update contacts set phone = '+12025550100', channels = '{sms}'`);
    const { policy } = await seedPolicy(t.db, s);
    const other = postgres(t.config.url!, { max: 1, onnotice: () => {} });
    try {
      let rival = 0;
      let chunk: Promise<unknown> | undefined;
      await other.begin(async (tx) => {
        // Another writer (a fallback, an update notice) claims the address first and holds its transaction open.
        const [d] = await tx`
          insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status)
          select ${policy.id}, 1, enterprise_id, id, 'sms', 'update', 'pending' from contacts order by id limit 1
          returning id`;
        rival = Number(d.id);
        await tx`
          insert into policy_addresses (policy_id, policy_version, kind, channel, address_hash, delivery_id)
          values (${policy.id}, 1, 'policy', 'sms', md5('+12025550100')::uuid, ${rival})`;
        chunk = fanOutNextChunk(t.db, 100);
        // The chunk waits on the uncommitted claim; then the rival commits.
        await vi.waitFor(async () => {
          const [w] = await tx`
            select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
          expect(w.n).toBe(1);
        }, 20_000);
      });
      await chunk;
      const rows = rowsOf<{ kind: string; status: string; duplicate_of: string | null }>(
        await t.db.execute(sql`select kind, status, duplicate_of from deliveries where policy_id = ${policy.id} order by id`),
      );
      expect(rows).toHaveLength(4);
      expect(rows.filter((r) => r.kind === 'policy').map((r) => [r.status, Number(r.duplicate_of)])).toEqual(
        Array(3).fill(['merged', rival]),
      );
      const claims = rowsOf<{ delivery_id: string }>(
        await t.db.execute(sql`select delivery_id from policy_addresses where policy_id = ${policy.id}`),
      );
      expect(claims.map((c) => Number(c.delivery_id))).toEqual([rival]);
    } finally {
      await other.end();
    }
  });
});
