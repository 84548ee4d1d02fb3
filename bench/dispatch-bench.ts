// P4–P6 and the dispatcher half of P10: SMS through the real Twilio adapter (the twilio SDK over
// HTTP) to the testkit's fake Twilio on 127.0.0.1, zero latency. Each run sends the same M
// pending SMS deliveries, reset between runs; every contact has its own number, so the fake's
// request log read by `To` counts the deliveries a provider accepted more than once.
import { createTwilioSmsAdapter, renderOutbound } from '../packages/channels/src';
import { type Config, createLogger, parseConfig } from '../packages/core/src';
import { claimDeliveries } from '../packages/db/src';
import { createAdapters } from '../services/dispatcher/src/adapters';
import { startDispatcher } from '../services/dispatcher/src/dispatcher';
import { mapLimit } from '../services/dispatcher/src/map-limit';
import type { FakeTwilio } from '@policy-push/testkit';
import type { BenchDb } from './bench-db';
import type { GeneratedCity } from './generate';
import { sampleRss, type ServiceProcess, startService, waitFor } from './processes';

export const SIGNING_SECRET = 'bench-signing-secret-0123456789abcdef';
const TITLE = '关于稳就业的若干措施';
const SUMMARY = '对吸纳就业的企业给予补贴。';

/** The environment a dispatcher gets: the fake Twilio, quiet hours off, the allowance out of the way. */
export function dispatcherEnv(b: BenchDb, fake: FakeTwilio, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: b.url,
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_FROM: '+15005550006',
    TWILIO_API_URL: fake.url,
    // The fakes have no allowance: the benchmark measures our side (PERFORMANCE.md).
    SMS_SEGMENTS_PER_SECOND: '100000',
    WECHAT_PER_SECOND: '100000',
    SMTP_PER_SECOND: '100000',
    // Deliveries must go now whatever the hour in Beijing.
    QUIET_HOURS: '00:00-00:00',
    SIGNING_SECRET,
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: 'http://127.0.0.1:9',
    ...extra,
  };
}

/** M pending SMS deliveries of one published policy, one per contact with a phone. */
export async function prepareSms(b: BenchDb, city: GeneratedCity, m: number): Promise<number> {
  await b.sql.unsafe('truncate deliveries, delivery_attempts, delivery_events, pushes cascade');
  const [p] = await b.sql.unsafe<{ id: string }[]>(
    `insert into policies (department_id, doc_number, title, summary, url, category_ids)
     values ($1, $2, $3, $4, 'https://policy.example.gov.cn/bench', $5::bigint[]) returning id`,
    [city.departmentIds[0], `BENCH-SMS-${Date.now()}`, TITLE, SUMMARY, city.parentCategoryIds],
  );
  const [{ n }] = await b.sql.unsafe<{ n: number }[]>(
    `with ins as (
       insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority)
       select $1, 1, enterprise_id, id, 'sms', 'policy', 'pending', 1 from contacts where phone is not null order by id limit $2
       returning 1)
     select count(*)::int as n from ins`,
    [p.id, m],
  );
  return n;
}

export async function resetSms(b: BenchDb): Promise<void> {
  await b.sql.unsafe(`update deliveries set status = 'pending', attempts = 0, provider_message_id = null, locked_until = null,
    next_attempt_at = now(), sent_at = null, finished_at = null, error_code = null`);
  await b.sql.unsafe('truncate delivery_attempts, delivery_events, address_daily_sends, rate_windows, channel_pauses');
  await b.sql.unsafe('vacuum analyze deliveries');
}

export const countSent = async (b: BenchDb): Promise<number> =>
  (await b.sql.unsafe<{ n: number }[]>(`select count(*)::int as n from deliveries where status = 'sent'`))[0].n;

/** Deliveries (by To number) the fake created more than one message for, among requests from `from` on. */
export function acceptedTwice(fake: FakeTwilio, from: number): number {
  const byTo = new Map<string, number>();
  for (const r of fake.messages.slice(from)) if (r.sid) byTo.set(r.form.To, (byTo.get(r.form.To) ?? 0) + 1);
  return [...byTo.values()].filter((n) => n > 1).length;
}

const config = (b: BenchDb, fake: FakeTwilio): Config => parseConfig(dispatcherEnv(b, fake));

function render(deliveryId: number, to: string) {
  return renderOutbound({
    deliveryId: String(deliveryId),
    channel: 'sms',
    to,
    locale: 'zh-Hans',
    kind: 'policy',
    policy: {
      title: TITLE,
      summary: SUMMARY,
      titleEn: null,
      summaryEn: null,
      url: 'https://policy.example.gov.cn/bench',
      docNumber: 'BENCH',
      publishedAt: new Date(),
      urgent: false,
    },
    department: { nameZh: '广州市发展改革委', nameEn: 'GZ DRC', smsSignature: '广州政务', wechatTemplate: null },
    links: { policy: 'https://policy.example.gov.cn/bench', unsubscribe: 'http://127.0.0.1:9/u/x' },
    smsSegmentBudget: 2,
  });
}

const adapterFor = (c: Config) =>
  createTwilioSmsAdapter({ settings: c.providers.twilio!, timeoutMs: c.providers.timeoutMs, statusCallbackUrl: 'http://127.0.0.1:9/s' });

/** The dispatcher in this process (its loops, batch sizes and adapters as configured): msgs/s. */
export async function dispatcherRate(b: BenchDb, fake: FakeTwilio, m: number): Promise<number> {
  await resetSms(b);
  const c = config(b, fake);
  const logger = createLogger({ level: 'warn' });
  const adapters = createAdapters(c, b.db.db, logger);
  const t0 = performance.now();
  const d = await startDispatcher({
    config: c,
    db: b.db,
    logger,
    adapters: adapters.byChannel,
    signingSecret: SIGNING_SECRET,
    withJobs: false,
  });
  await waitFor(async () => (await countSent(b)) >= m, 600_000, 'the dispatcher to send everything', 50);
  const seconds = (performance.now() - t0) / 1000;
  await d.stop();
  await adapters.close();
  return m / seconds;
}

/** The naive loop: claim one, read its contact, send, insert the attempt, update — for `seconds`. */
export async function naiveRate(b: BenchDb, fake: FakeTwilio, seconds: number): Promise<number> {
  await resetSms(b);
  const adapter = adapterFor(config(b, fake));
  let sent = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const [d] = await claimDeliveries(b.db.db, { limit: 1, leaseSeconds: 60 });
    if (!d) break;
    const [c] = await b.sql.unsafe<{ phone: string }[]>('select phone from contacts where id = $1', [d.contactId]);
    const started = performance.now();
    const r = await adapter.send(render(d.id, c.phone));
    await b.sql.unsafe(
      `insert into delivery_attempts (delivery_id, attempt, outcome, provider_message_id, latency_ms, worker) values ($1, $2, $3, $4, $5, 'naive')`,
      [d.id, d.attempts, r.outcome, r.outcome === 'accepted' ? r.providerMessageId : null, Math.round(performance.now() - started)],
    );
    await b.sql.unsafe(
      `update deliveries set status = 'sent', provider_message_id = $2, sent_at = now(), locked_until = null where id = $1`,
      [d.id, r.outcome === 'accepted' ? r.providerMessageId : null],
    );
    sent++;
  }
  await adapter.close?.();
  return sent / ((performance.now() - t0) / 1000);
}

/** The HTTP-only ceiling: the same adapter and fake, `concurrency` in flight, no database. */
export async function httpCeilingRate(b: BenchDb, fake: FakeTwilio, m: number, concurrency: number): Promise<number> {
  const adapter = adapterFor(config(b, fake));
  const messages = Array.from({ length: m }, (_, i) => render(i + 1, `+8613${String(900_000_000 + i)}`));
  const t0 = performance.now();
  await mapLimit(messages, concurrency, (msg) => adapter.send(msg));
  const rate = m / ((performance.now() - t0) / 1000);
  await adapter.close?.();
  return rate;
}

export interface ProcessesRun {
  rate: number;
  acceptedTwice: number;
  rssMiB: number[];
}

/** `n` dispatcher processes (services/dispatcher/src/main.ts) sending the same M deliveries. */
export async function processesRate(b: BenchDb, fake: FakeTwilio, m: number, n: number): Promise<ProcessesRun> {
  await resetSms(b);
  const from = fake.messages.length;
  const env = dispatcherEnv(b, fake);
  const procs: ServiceProcess[] = Array.from({ length: n }, () => startService('services/dispatcher/src/main.ts', env));
  const rss = sampleRss(() => procs.map((p) => p.pid));
  // Timed from the first send seen to the last: start-up (loading tsx, the migration check) is
  // the same for 1 and 3 processes and would otherwise dominate a small M.
  let t0 = 0;
  let t1 = 0;
  try {
    await waitFor(
      async () => {
        const sent = await countSent(b);
        if (sent > 0 && !t0) t0 = performance.now();
        return sent >= m;
      },
      600_000,
      `${n} dispatcher(s) to send everything`,
      20,
    );
    t1 = performance.now();
  } catch (err) {
    for (const p of procs) console.error(p.output());
    throw err;
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
  // The first send seen counts as the start: m - 1 more were sent in the window.
  const rate = (m - 1) / ((t1 - t0) / 1000);
  return { rate, acceptedTwice: acceptedTwice(fake, from), rssMiB: rss.stop() };
}
