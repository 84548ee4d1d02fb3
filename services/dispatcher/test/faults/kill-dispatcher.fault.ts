// kill -9 of a dispatcher mid-push, three times, each time a new one started in its place: the
// killed one's claims come back when their lease expires (swept every second), nothing is lost,
// and the deliveries the provider accepted twice are counted — bounded by what the killed
// processes held in flight (a claimed batch each), since Twilio has no idempotency key.
import { testDatabaseUrl } from '@policy-push/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../../bench/processes';
import { checkBooks, type Scenario, startScenario, waitSettled, scaled } from './fault-harness';

const N = scaled(1500, 600);
const BATCH = 50;

describe.skipIf(!testDatabaseUrl())('fault: dispatcher killed with SIGKILL mid-push', () => {
  let s: Scenario;
  afterEach(() => s?.close());

  it('loses nothing, and duplicates stay within the batches the killed processes held', async () => {
    // The provider timeout out of the way: on a busy machine a 300 ms timeout loses answers of
    // creates that were accepted, and those duplicates are the provider-down scenario's subject.
    s = await startScenario(N, () => ({ PROVIDER_TIMEOUT_MS: '5000' }));
    // A little provider latency, so the push lasts long enough to be killed in the middle of.
    s.fake.setBehaviour({ latencyMs: 5 });
    s.startDispatcher();
    s.startDispatcher();
    const sent = async () => (await s.counts()).sent ?? 0;
    let kills = 0;
    for (const share of [0.15, 0.35, 0.55]) {
      await waitFor(async () => (await sent()) >= N * share, 120_000, `${share * 100}% sent`, 50);
      const victim = s.dispatchers.filter((d) => d.child.exitCode === null && d.child.signalCode === null)[0];
      await victim.kill9();
      kills++;
      s.startDispatcher();
    }
    await waitSettled(s, N, 120_000);
    const books = await checkBooks(s);
    expect(books.deliveries).toBe(N);
    expect(books.byStatus).toEqual({ sent: N });
    expect(books.unknownProviderIds).toBe(0);
    // Every contact got its message; at most the killed processes' in-flight batches twice.
    expect(new Set(s.fake.messages.filter((m) => m.sid).map((m) => m.form.To)).size).toBe(N);
    expect(books.acceptedTwice).toBeLessThanOrEqual(kills * BATCH);
  });
});
