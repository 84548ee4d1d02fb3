// Stalled pushes and unhealthy providers, found by the health check with an injected clock: the
// fixtures are made now, and the check is asked about a moment minutes later.
import { Writable } from 'node:stream';
import { createLogger, parseConfig } from '@policy-push/core';
import { fanOutNextChunk, rowsOf, sql } from '@policy-push/db';
import { createTestDb, seedPolicy, seedSubscribers, type TestDb } from '@policy-push/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkHealth, PROVIDER_MIN_SENDS } from '@policy-push/metrics';
import { healthCheck } from '../src/jobs/health-check';

const settings = parseConfig({}).dispatcher; // STALLED_PUSH_MINUTES 10, PROVIDER_FAILURE_RATE 0.2
const providers = { wechat: 'sandbox', sms: 'sandbox', email: 'sandbox' } as const;
const minutesLater = (m: number) => new Date(Date.now() + m * 60_000);

async function fanOutAll(t: TestDb) {
  while (await fanOutNextChunk(t.db, 100)) {}
}

/** `n` attempts on the newest deliveries of a channel, the first `failures` of them refused with `code`. */
async function attempts(t: TestDb, channel: string, n: number, failures: number, code = 'SANDBOX_TEMPORARY') {
  await t.db.execute(sql`
    insert into delivery_attempts (delivery_id, attempt, outcome, provider_code, latency_ms, worker)
    select d.id, 1, case when g <= ${failures} then 'retryable' else 'accepted' end,
      case when g <= ${failures} then ${code} end, 12, 'test'
    from generate_series(1, ${n}) g
    cross join lateral (select id from deliveries where channel = ${channel} order by id desc limit 1) d`);
}

describe('health check', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  it('reports a push whose due deliveries have not moved for STALLED_PUSH_MINUTES, and not before', async () => {
    const s = await seedSubscribers(t.db, 12);
    const { push } = await seedPolicy(t.db, s);
    await fanOutAll(t);

    expect((await checkHealth(t.db, settings, providers, minutesLater(9))).stalledPushes).toEqual([]);
    const later = await checkHealth(t.db, settings, providers, minutesLater(11));
    expect(later.stalledPushes).toEqual([expect.objectContaining({ pushId: push.id, stage: 'sending', waiting: 12 })]);

    // One delivery moving (sent at 10½ minutes) is progress: the push is no longer stalled.
    await t.db.execute(sql`
      update deliveries set status = 'sent', sent_at = now(), updated_at = now() + interval '630 seconds'
      where id = (select min(id) from deliveries)`);
    expect((await checkHealth(t.db, settings, providers, minutesLater(11))).stalledPushes).toEqual([]);
  });

  it('does not call work deferred to later (quiet hours, retries, pauses) a stall', async () => {
    const s = await seedSubscribers(t.db, 5);
    await seedPolicy(t.db, s);
    await fanOutAll(t);
    await t.db.execute(sql`update deliveries set next_attempt_at = now() + interval '8 hours'`);
    expect((await checkHealth(t.db, settings, providers, minutesLater(60))).stalledPushes).toEqual([]);
  });

  it('reports a fan-out that has not started or moved', async () => {
    const s = await seedSubscribers(t.db, 3);
    const { push } = await seedPolicy(t.db, s); // no dispatcher: the push stays scheduled
    expect((await checkHealth(t.db, settings, providers, minutesLater(5))).stalledPushes).toEqual([]);
    expect((await checkHealth(t.db, settings, providers, minutesLater(10.5))).stalledPushes).toEqual([
      expect.objectContaining({ pushId: push.id, stage: 'fan-out' }),
    ]);
  });

  it('flags a provider failing more than PROVIDER_FAILURE_RATE of its last 100 sends, from every replica’s attempts', async () => {
    const s = await seedSubscribers(t.db, 3);
    await seedPolicy(t.db, s);
    await fanOutAll(t);
    // Older history that the last-100 window must not see: all failures.
    await attempts(t, 'email', 50, 50);
    // The last 100: 21 failures, just over 20%.
    await attempts(t, 'email', 79, 0);
    await attempts(t, 'email', 21, 21, 'SANDBOX_PERMANENT');
    const report = await checkHealth(t.db, settings, providers, new Date());
    expect(report.providers).toEqual([
      expect.objectContaining({
        channel: 'email',
        provider: 'sandbox',
        sends: 100,
        failures: 21,
        rate: 0.21,
        unhealthy: true,
        codes: { SANDBOX_PERMANENT: 21 },
      }),
    ]);
    // At exactly the threshold it is not "past" it.
    const relaxed = await checkHealth(t.db, { ...settings, providerFailureRate: 0.21 }, providers, new Date());
    expect(relaxed.providers[0].unhealthy).toBe(false);
  });

  it('does not judge a provider on a handful of sends', async () => {
    const s = await seedSubscribers(t.db, 2);
    await seedPolicy(t.db, s);
    await fanOutAll(t);
    await attempts(t, 'email', PROVIDER_MIN_SENDS - 1, PROVIDER_MIN_SENDS - 1);
    const [email] = (await checkHealth(t.db, settings, providers, new Date())).providers;
    expect(email).toMatchObject({ rate: 1, unhealthy: false });
  });

  it('logs each stalled push and unhealthy provider at warn', async () => {
    const s = await seedSubscribers(t.db, 4);
    const { push } = await seedPolicy(t.db, s);
    await fanOutAll(t);
    await attempts(t, 'email', 40, 40, 'SANDBOX_TEMPORARY');
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = createLogger({ level: 'info' }, sink);
    await healthCheck.run({ db: t.db, logger, settings, providers }, minutesLater(11));
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({ msg: 'push stalled: work is waiting and nothing moved', pushId: push.id, stage: 'sending' }),
      expect.objectContaining({
        msg: 'provider unhealthy: failure rate over the threshold',
        channel: 'email',
        provider: 'sandbox',
        rate: 1,
      }),
    ]);
    const [row] = rowsOf<{ n: number }>(await t.db.execute(sql`select count(*)::int as n from deliveries where status = 'pending'`));
    expect(row.n).toBe(4); // the check only reads
  });
});
