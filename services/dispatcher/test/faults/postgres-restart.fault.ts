// PostgreSQL stopped mid-push and started again: while it is down the API answers 503
// `database_unavailable` (a publish refused whole) and the dispatchers back off; afterwards the
// API and the dispatchers reconnect on their own (postgres.js opens new connections; the loops
// survive the errors), a policy published after the restart is pushed too, and the books balance.
// Duplicates are counted: a batch whose sends went out while the database was down is acked once
// it is back (ackWithRetry), so only an ack lost past its lease could send a batch twice.
import { rowsOf } from '@policy-push/db';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../../bench/processes';
import { type ApiProcess, checkBooks, type Scenario, scaled, sleep, startApi, startScenario, waitSettled } from './fault-harness';
import { canControlPostgres, ensurePostgresRunning, startPostgres, stopPostgres } from './pg-cluster';

const N = scaled(1500, 600);
const BATCH = 50;
const DOWN_MS = scaled(8_000, 3_000);

const policyBody = (seed: { departmentId: number; categoryId: number }) => ({
  departmentId: String(seed.departmentId),
  docNumber: `RESTART-${Date.now()}`,
  title: '重启之后发布的政策',
  summary: '数据库重启之后发布，照常推送。',
  url: 'https://policy.example.gov.cn/restart',
  categoryIds: [String(seed.categoryId)],
});

describe.skipIf(!canControlPostgres())('fault: PostgreSQL stopped and started mid-push', () => {
  let s: Scenario | undefined;
  let api: ApiProcess | undefined;
  afterEach(async () => {
    // Whatever happened, the server is left running for everyone else.
    await ensurePostgresRunning();
    await api?.proc.stop();
    await s?.close();
  });

  it('API answers 503 while down; everything reconnects; nothing lost', async () => {
    // The provider timeout out of the way (a busy 2-core machine answers late): this scenario is about the database.
    s = await startScenario(N, () => ({ PROVIDER_TIMEOUT_MS: '5000' }));
    const scenario = s;
    scenario.fake.setBehaviour({ latencyMs: 5 });
    api = await startApi(scenario.env);
    scenario.startDispatcher();
    scenario.startDispatcher();
    await waitFor(async () => ((await scenario.counts()).sent ?? 0) >= N * 0.3, 120_000, '30% sent', 50);

    await stopPostgres();
    let whileDown: { read: number; publish: { status: number; body: unknown } };
    try {
      const read = await api.request('GET', '/v1/policies');
      const publish = await api.request('POST', '/v1/policies', policyBody(scenario.seed));
      whileDown = { read: read.status, publish };
      await sleep(DOWN_MS);
    } finally {
      await startPostgres();
    }
    console.log('while down:', JSON.stringify(whileDown));
    expect(whileDown.read).toBe(503);
    expect(whileDown.publish).toEqual({
      status: 503,
      body: { error: { code: 'database_unavailable', message: expect.any(String), fields: [] } },
    });

    // The API's pool reconnects by itself: the same process publishes as soon as the server is back.
    await waitFor(async () => (await api!.request('GET', '/readyz')).status === 200, 30_000, 'the API to be ready again', 200);
    const after = await api.request('POST', '/v1/policies', policyBody(scenario.seed));
    expect(after.status, JSON.stringify(after.body)).toBe(202);

    await waitSettled(scenario, 2 * N, 120_000);
    const books = await checkBooks(scenario);
    expect(books.deliveries).toBe(2 * N);
    expect(books.byStatus).toEqual({ sent: 2 * N });
    expect(books.unknownProviderIds).toBe(0);
    // Only the policy published after the restart, and the seeded one: the refused publish left nothing.
    const [policies] = rowsOf<{ n: number }>(await scenario.t.db.execute(sql`select count(*)::int as n from policies`));
    expect(policies.n).toBe(2);
    // At most the batches the two dispatchers held when the server went away.
    expect(books.acceptedTwice).toBeLessThanOrEqual(2 * BATCH);
    // Every dispatcher listens for NOTIFY again: its listener re-subscribes with a backoff of up to
    // 5 s and gives up on an attempt after 5 s (create-db.ts), so a push that settles quickly after
    // the restart may finish first; a few attempts' worth of time is allowed.
    const listening = async () =>
      rowsOf<{ n: number }>(
        await scenario.t.db.execute(
          sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'policy-push-dispatcher' and query ilike 'listen %'`,
        ),
      )[0].n;
    await waitFor(async () => (await listening()) === 2, 30_000, 'both dispatchers to listen again', 200);
    for (const d of scenario.dispatchers) expect(d.child.exitCode).toBeNull();
    // Warned, without any contact's number in the log.
    const logs = scenario.dispatchers.map((d) => d.output()).join('\n');
    expect(logs).toMatch(/database unavailable/);
    expect(logs).not.toMatch(/\+1202\d{7}/);
  });
});
