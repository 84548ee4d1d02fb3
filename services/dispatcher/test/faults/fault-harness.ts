// What every fault scenario shares: a database of its own on real Postgres with `n` SMS
// subscribers (each contact its own number, so the fake's request log read by `To` is a log per
// delivery), one published policy, the fake Twilio behind a switchable proxy, dispatcher child
// processes (services/dispatcher/src/main.ts), and the books checked at the end.
import { rowsOf } from '@policy-push/db';
import { createTestDb, type FakeTwilio, freePort, seedPolicy, seedSubscribers, startFakeTwilio, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { type ServiceProcess, startService, waitFor } from '../../../../bench/processes';
import { type FaultProxy, startFaultProxy } from './fault-proxy';

/** FAULTS_SCALE=small (CI): fewer deliveries and shorter outages, the same checks. */
export const SMALL_SCALE = process.env.FAULTS_SCALE === 'small';
export const scaled = (full: number, small: number) => (SMALL_SCALE ? small : full);

export const SIGNING_SECRET = 'fault-signing-secret-0123456789abcdef';
// Statuses a delivery rests in once our side is done with it (sent waits only for a receipt).
export const SETTLED = ['sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'suppressed'];

export interface Scenario {
  t: TestDb;
  /** The seeded department and category, for publishing more policies to the same subscribers. */
  seed: { departmentId: number; categoryId: number };
  /** The dispatchers' environment. */
  env: Record<string, string>;
  fake: FakeTwilio;
  proxy: FaultProxy;
  dispatchers: ServiceProcess[];
  startDispatcher(): ServiceProcess;
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/**
 * "A minute" compressed to seconds through the settings: short leases swept every second, fast
 * retries, a short breaker cooldown and provider timeout, attempts enough to outlast the outage.
 */
export function faultEnv(t: TestDb, proxyUrl: string, fake: FakeTwilio, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: t.config.url!,
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_FROM: '+15005550006',
    TWILIO_API_URL: proxyUrl,
    SMS_SEGMENTS_PER_SECOND: '100000',
    QUIET_HOURS: '00:00-00:00',
    RECIPIENT_DAILY_CAP: '0',
    SIGNING_SECRET,
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: 'http://127.0.0.1:9',
    DISPATCH_BATCH_SIZE: '50',
    DISPATCH_POLL_MS: '100',
    // Shorter than a minute, but longer than a batch takes: a lease that expires while its batch is
    // still sending hands the batch to another dispatcher, which sends it again (seen with 2 s).
    DISPATCH_LEASE_SECONDS: '10',
    SWEEP_CRON: '* * * * * *',
    RETRY_BASE_MS: '200',
    RETRY_CAP_MS: '1000',
    BREAKER_COOLDOWN_MS: '500',
    PROVIDER_TIMEOUT_MS: '300',
    MAX_ATTEMPTS: '50',
    ...extra,
  };
}

export async function startScenario(
  n: number,
  extraEnv: (s: { fake: FakeTwilio }) => Record<string, string> = () => ({}),
): Promise<Scenario> {
  const t = await createTestDb();
  const s = await seedSubscribers(t.db, n);
  // Distinct, valid-looking numbers (fictional +1 202 555 01xx style, widened): one per contact.
  await t.db.execute(sql`update contacts set phone = '+1202' || lpad(id::text, 7, '0'), channels = '{sms}'`);
  const fake = await startFakeTwilio();
  const proxy = await startFaultProxy(fake.url);
  const env = faultEnv(t, proxy.url, fake, extraEnv({ fake }));
  const dispatchers: ServiceProcess[] = [];
  await seedPolicy(t.db, s);
  return {
    t,
    seed: s,
    env,
    fake,
    proxy,
    dispatchers,
    startDispatcher() {
      const p = startService('services/dispatcher/src/main.ts', env);
      dispatchers.push(p);
      return p;
    },
    async counts() {
      const rows = rowsOf<{ status: string; n: number }>(
        await t.db.execute(sql`select status, count(*)::int as n from deliveries group by status order by status`),
      );
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
    async close() {
      await Promise.all(dispatchers.map((d) => d.stop()));
      await proxy.close();
      await fake.close();
      await t.drop();
    },
  };
}

export async function waitSettled(s: Scenario, n: number, timeoutMs: number, settled = SETTLED): Promise<void> {
  try {
    await waitFor(
      async () => {
        const c = await s.counts();
        const total = Object.values(c).reduce((a, b) => a + b, 0);
        return total === n && Object.entries(c).every(([status, k]) => settled.includes(status) || k === 0);
      },
      timeoutMs,
      `${n} deliveries to settle`,
      200,
    );
  } catch (err) {
    console.error('counts', await s.counts());
    for (const d of s.dispatchers) console.error(d.output().slice(-3000));
    throw err;
  }
}

export interface Books {
  deliveries: number;
  byStatus: Record<string, number>;
  /** Sent deliveries whose provider id the fake never created: must be none. */
  unknownProviderIds: number;
  /** Deliveries the fake created more than one message for (see smsKey). */
  acceptedTwice: number;
  /**
   * Deliveries with an attempt whose answer was lost: it timed out (TIMEOUT), or its connection
   * dropped after the request went out (NETWORK_ERROR other than a refused connection). The one way
   * the adapter can send twice without a crash: such a create may have been accepted (CHANNELS.md).
   */
  answerLost: number;
  /** Deliveries accepted twice with no such attempt to explain it: must be none. */
  unexplainedTwice: number;
  /** Provider requests in all, and messages created. */
  requests: number;
  created: number;
}

/** The books at the end: statuses, provider ids all real, and how many the provider accepted twice. */
export async function checkBooks(s: Scenario): Promise<Books> {
  const rows = rowsOf<{ provider_message_id: string | null; status: string }>(
    await s.t.db.execute(sql`select provider_message_id, status from deliveries`),
  );
  const lost = rowsOf<{ delivery_id: number }>(
    await s.t.db.execute(
      sql`select distinct delivery_id from delivery_attempts
          where provider_code = 'TIMEOUT'
             or (provider_code = 'NETWORK_ERROR' and coalesce(response->>'error', '') <> 'ECONNREFUSED')`,
    ),
  );
  const answerLost = new Set(lost.map((r) => `delivery ${r.delivery_id}`));
  const byTo = new Map<string, number>();
  for (const r of s.fake.messages) if (r.sid) byTo.set(smsKey(r.form), (byTo.get(smsKey(r.form)) ?? 0) + 1);
  const twice = [...byTo].filter(([, k]) => k > 1).map(([key]) => key);
  const books: Books = {
    deliveries: rows.length,
    byStatus: await s.counts(),
    unknownProviderIds: rows.filter((r) => r.provider_message_id !== null && !s.fake.created.has(r.provider_message_id)).length,
    acceptedTwice: twice.length,
    answerLost: answerLost.size,
    unexplainedTwice: twice.filter((key) => !answerLost.has(key)).length,
    requests: s.fake.messages.length,
    created: s.fake.created.size,
  };
  console.log('books:', JSON.stringify(books));
  return books;
}

/**
 * Which delivery an SMS was for: its open link carries the delivery id in base 36
 * (/r/<id36>.<expiry>.<mac>, packages/core links.ts); the number where a body has no link.
 */
export function smsKey(form: Record<string, string>): string {
  const id = /\/r\/([0-9a-z]+)\./.exec(form.Body ?? '')?.[1];
  return id ? `delivery ${parseInt(id, 36)}` : `to ${form.To}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const ADMIN_KEY = 'pp_faultsuiteadminkey0123456789abc';

export interface ApiProcess {
  url: string;
  proc: ServiceProcess;
  /** A request with the admin key; answers the status and the parsed body (null on a network error). */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

/** The API as its own process (services/api/src/server.ts) on a free port, ready when /readyz is. */
export async function startApi(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  const proc = startService('services/api/src/server.ts', {
    ...env,
    HOST: '127.0.0.1',
    PORT: String(port),
    ADMIN_API_KEY: ADMIN_KEY,
    DEMO_DATA: '0',
    RATE_LIMIT_PER_KEY: '1000000',
  });
  const url = `http://127.0.0.1:${port}`;
  const api: ApiProcess = {
    url,
    proc,
    async request(method, path, body) {
      try {
        const res = await fetch(url + path, {
          method,
          headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      } catch (err) {
        return { status: 0, body: { error: String(err) } };
      }
    },
  };
  try {
    await waitFor(async () => (await fetch(url + '/readyz').catch(() => null))?.status === 200, 60_000, 'the API to be ready', 200);
  } catch (err) {
    console.error(proc.output());
    await proc.stop();
    throw err;
  }
  return api;
}
