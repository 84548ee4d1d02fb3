// Receipts before the ack, twice, and out of order: the fake Twilio posts `delivered` then `sent`,
// each twice, to our real webhook (the API, in this process) the moment it answers a create —
// before the dispatcher has acked the send. Every delivery must end `delivered`, with one stored
// event per type (the repeats ignored) and none moving backwards to `sent`.
import { createLogger, parseConfig } from '@policy-push/core';
import { rowsOf } from '@policy-push/db';
import { freePort, testDatabaseUrl } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../api/src/app';
import { checkBooks, faultEnv, SIGNING_SECRET, type Scenario, startScenario, waitSettled, scaled } from './fault-harness';

const N = scaled(600, 300);

describe.skipIf(!testDatabaseUrl())('fault: receipts early, twice, out of order', () => {
  let s: Scenario;
  let closeApi: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await closeApi?.();
    await s?.close();
  });

  it('every delivery ends delivered; repeats and late `sent` change nothing', async () => {
    const port = await freePort();
    const publicBaseUrl = `http://127.0.0.1:${port}`;
    // The default provider timeout: this scenario is about receipts, and with 300 ms the fake (in
    // this process, busy posting four callbacks per message) answered too late and creates that
    // had been accepted were retried.
    s = await startScenario(N, () => ({ PUBLIC_BASE_URL: publicBaseUrl, PROVIDER_TIMEOUT_MS: '5000' }));
    // The API checks Twilio's signature against its public URL, with the same auth token.
    const config = parseConfig({ ...faultEnv(s.t, s.proxy.url, s.fake), PUBLIC_BASE_URL: publicBaseUrl, PORT: String(port) });
    const app = await buildApp({ config, db: s.t, logger: createLogger({ level: 'silent' }), signingSecret: SIGNING_SECRET });
    await app.listen({ host: '127.0.0.1', port });
    closeApi = () => app.close();
    s.fake.setBehaviour({ autoStatus: { statuses: ['delivered', 'sent'], duplicate: true } });

    s.startDispatcher();
    s.startDispatcher();
    await waitSettled(s, N, 120_000, ['delivered']);
    await s.fake.settled();
    const books = await checkBooks(s);
    expect(books.byStatus).toEqual({ delivered: N });
    expect(books.acceptedTwice).toBe(0);
    // Four callbacks per message reached us; two events stored per delivery, each linked to it.
    expect(s.fake.callbacks.filter((c) => c.responseStatus >= 300)).toEqual([]);
    const [events] = rowsOf<{ n: number; linked: number; types: number }>(
      await s.t.db.execute(
        sql`select count(*)::int as n, count(delivery_id)::int as linked, count(distinct (provider_message_id, type))::int as types from delivery_events`,
      ),
    );
    expect(events).toEqual({ n: 2 * N, linked: 2 * N, types: 2 * N });
  });
});
