// A session idle in a transaction for a minute during a push — an operator's psql left open after
// `select … for update`: it holds row locks on some pending deliveries and an xid (so vacuum cannot
// clean behind it). Claims skip the locked rows (SKIP LOCKED), so every other delivery goes out
// while the session idles; the locked ones go once it ends; the books balance.
import { rowsOf } from '@policy-push/db';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../../bench/processes';
import { checkBooks, type Scenario, SMALL_SCALE, scaled, startScenario, waitSettled } from './fault-harness';
import { testDatabaseUrl, withAdmin } from '@policy-push/testkit';

const N = scaled(1500, 600);
const LOCKED = 20;
// "A minute"; CI's small scale idles for 10 s (the same mechanism, a shorter wait).
const IDLE_MS = scaled(60_000, 10_000);

describe.skipIf(!testDatabaseUrl())('fault: a session idle in transaction during a push', () => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
  });

  it(`the push goes on around it (idle ${IDLE_MS / 1000} s${SMALL_SCALE ? ', small scale' : ''}); nothing lost`, async () => {
    // The provider timeout out of the way: this scenario is about the database.
    s = await startScenario(N, () => ({ PROVIDER_TIMEOUT_MS: '5000' }));
    const scenario = s;
    scenario.fake.setBehaviour({ latencyMs: 5 });

    // Our own pools end such a session after a minute; this one is not ours (no timeout set).
    const [ours] = rowsOf<{ v: string }>(
      await scenario.t.db.execute(sql`select current_setting('idle_in_transaction_session_timeout') as v`),
    );
    expect(ours.v).toBe('1min');

    scenario.startDispatcher();
    scenario.startDispatcher();
    await waitFor(async () => ((await scenario.counts()).sent ?? 0) >= N * 0.1, 120_000, '10% sent', 50);

    let locked: number[] = [];
    let idleStarted = 0;
    let lockTaken!: () => void;
    const lockIsTaken = new Promise<void>((r) => (lockTaken = r));
    // A connection of its own, not one of our pools (withAdmin: one postgres.js connection).
    const session = withAdmin(scenario.t.config.url!, (other) =>
      other.begin(async (tx) => {
        const rows = await tx<{ id: string }[]>`
        select id from deliveries where status = 'pending' order by id desc limit ${LOCKED} for update`;
        locked = rows.map((r) => Number(r.id));
        await tx`select txid_current()`;
        idleStarted = Date.now();
        lockTaken();
        await new Promise((r) => setTimeout(r, IDLE_MS));
      }),
    );
    await Promise.race([lockIsTaken, session]);
    expect(locked).toHaveLength(LOCKED);

    // Everything not locked is sent while the session still idles.
    await waitFor(
      async () => ((await scenario.counts()).sent ?? 0) >= N - LOCKED,
      IDLE_MS - 1_000,
      'the unlocked deliveries to be sent',
      100,
    );
    const aroundIt = { seconds: (Date.now() - idleStarted) / 1000, counts: await scenario.counts() };
    console.log('while idle:', JSON.stringify(aroundIt));
    const [stillPending] = rowsOf<{ n: number }>(
      await scenario.t.db.execute(
        sql`select count(*)::int as n from deliveries where status = 'pending' and id = any(${`{${locked.join(',')}}`}::bigint[])`,
      ),
    );
    expect(stillPending.n).toBe(LOCKED);

    await session;
    await waitSettled(scenario, N, 60_000);
    const books = await checkBooks(scenario);
    expect(books.byStatus).toEqual({ sent: N });
    expect(books.unknownProviderIds).toBe(0);
    expect(books.acceptedTwice).toBe(0);
  });
});
