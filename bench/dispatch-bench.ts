// P4–P6 and the dispatcher half of P10: SMS through the real Twilio adapter (the twilio SDK over
// HTTP) to the testkit's fake Twilio on 127.0.0.1, zero latency (P6: 50 ms). Each run sends the same M
// pending SMS deliveries of one policy, reset between runs, on an outbox that keeps everything
// else it holds (the history of the measures before); every contact has its own number, so the
// fake's request log read by `To` counts the deliveries a provider accepted more than once.
// P5's ceiling is raw HTTP: undici Pool POSTs of the same requests, no SDK, no database.
import { createTwilioSmsAdapter, renderOutbound } from '../packages/channels/src';
import { type Config, createLogger, parseConfig } from '../packages/core/src';
import { claimDeliveries } from '../packages/db/src';
import { createAdapters } from '../services/dispatcher/src/adapters';
import { startDispatcher } from '../services/dispatcher/src/dispatcher';
import { mapLimit } from '../services/dispatcher/src/map-limit';
import type { FakeTwilio, FakeWechat } from '@policy-push/testkit';
import { Pool } from 'undici';
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
    // A city push sends more WeChat messages than an account's daily quota (100,000 by default);
    // spent, the channel would pause until Beijing midnight and the push never finish.
    WECHAT_DAILY_QUOTA: '100000000',
    SMTP_PER_SECOND: '100000',
    // Deliveries must go now whatever the hour in Beijing.
    QUIET_HOURS: '00:00-00:00',
    SIGNING_SECRET,
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: 'http://127.0.0.1:9',
    ...extra,
  };
}

/** The SMS deliveries the send measures send, reset between runs. */
export interface SmsSet {
  policyId: number;
  m: number;
}

/** M pending SMS deliveries of a new published policy, one per contact with a phone; answers the policy. */
export async function prepareSms(b: BenchDb, city: GeneratedCity, m: number): Promise<SmsSet> {
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
  return { policyId: Number(p.id), m: n };
}

/** The policy's deliveries back to pending, their attempts gone; the sends' daily counters and pauses cleared. */
export async function resetSms(b: BenchDb, policyId: number): Promise<void> {
  await b.sql.unsafe(`delete from delivery_attempts where delivery_id in (select id from deliveries where policy_id = $1)`, [policyId]);
  await b.sql.unsafe(`delete from delivery_events where delivery_id in (select id from deliveries where policy_id = $1)`, [policyId]);
  await b.sql.unsafe(
    `update deliveries set status = 'pending', attempts = 0, provider_message_id = null, locked_until = null,
       next_attempt_at = now(), sent_at = null, finished_at = null, error_code = null where policy_id = $1`,
    [policyId],
  );
  await b.sql.unsafe('truncate address_daily_sends, rate_windows, channel_pauses');
  await b.sql.unsafe('vacuum analyze deliveries');
}

export const countSent = async (b: BenchDb, policyId: number): Promise<number> =>
  (await b.sql.unsafe<{ n: number }[]>(`select count(*)::int as n from deliveries where policy_id = $1 and status = 'sent'`, [policyId]))[0]
    .n;

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
export async function dispatcherRate(b: BenchDb, fake: FakeTwilio, { policyId, m }: SmsSet): Promise<number> {
  await resetSms(b, policyId);
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
  await waitFor(async () => (await countSent(b, policyId)) >= m, 600_000, 'the dispatcher to send everything', 50);
  const seconds = (performance.now() - t0) / 1000;
  await d.stop();
  await adapters.close();
  return m / seconds;
}

/** The naive loop: claim one, read its contact, send, insert the attempt, update — for `seconds`. */
export async function naiveRate(b: BenchDb, fake: FakeTwilio, { policyId }: SmsSet, seconds: number): Promise<number> {
  await resetSms(b, policyId);
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

/** One POST of the raw-HTTP ceiling: its path, headers and body. */
export type RawRequest = (i: number) => { path: string; headers: Record<string, string>; body: string };

/**
 * The raw-HTTP ceiling (PERFORMANCE.md, P5): `m` POSTs through an undici Pool to `origin`,
 * `concurrency` in flight and as many connections, no SDK, no database: requests/s the fake took.
 */
export async function rawUndiciRate(origin: string, request: RawRequest, m: number, concurrency: number): Promise<number> {
  const pool = new Pool(origin, { connections: concurrency });
  let ok = 0;
  const t0 = performance.now();
  try {
    await mapLimit(
      Array.from({ length: m }, (_, i) => i),
      concurrency,
      async (i) => {
        const res = await pool.request({ method: 'POST', ...request(i) });
        await res.body.text();
        if (res.statusCode < 300) ok++;
      },
    );
  } finally {
    await pool.close();
  }
  if (ok < m) throw new Error(`the raw-HTTP ceiling: the fake at ${origin} took ${ok} of ${m} requests`);
  return m / ((performance.now() - t0) / 1000);
}

/** A Messages create as the Twilio adapter sends it: basic auth, a form with To, From, Body, StatusCallback. */
export function twilioRequest(fake: FakeTwilio): RawRequest {
  const headers = {
    authorization: `Basic ${Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
  };
  const msg = render(1, '+8613900000000');
  const text = msg.channel === 'sms' ? msg.content.text : '';
  return (i) => ({
    path: `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`,
    headers,
    body: new URLSearchParams({
      To: `+8613${String(900_000_000 + i)}`,
      From: '+15005550006',
      Body: text,
      StatusCallback: 'http://127.0.0.1:9/s',
    }).toString(),
  });
}

/** A template message as the WeChat adapter sends it, with a token taken once from the fake's stable_token. */
export async function wechatRequest(fake: FakeWechat, app: { appId: string; appSecret: string }): Promise<RawRequest> {
  const res = await fetch(`${fake.url}/cgi-bin/stable_token`, {
    method: 'POST',
    body: JSON.stringify({ grant_type: 'client_credential', appid: app.appId, secret: app.appSecret }),
  });
  const { access_token: token } = (await res.json()) as { access_token: string };
  if (!token) throw new Error('the fake WeChat gave no access token');
  const headers = { 'content-type': 'application/json' };
  return (i) => ({
    path: `/cgi-bin/message/template/send?access_token=${token}`,
    headers,
    body: JSON.stringify({
      touser: `oBench${String(i).padStart(22, '0')}`,
      template_id: 'tmpl-policy',
      url: 'https://policy.example.gov.cn/bench',
      data: { thing1: { value: TITLE }, thing2: { value: SUMMARY }, time3: { value: '2026-12-07 10:00' } },
    }),
  });
}

export interface ProcessesRun {
  rate: number;
  acceptedTwice: number;
  rssMiB: number[];
}

/** `n` dispatcher processes (services/dispatcher/src/main.ts) sending the same M deliveries. */
export async function processesRate(b: BenchDb, fake: FakeTwilio, { policyId, m }: SmsSet, n: number): Promise<ProcessesRun> {
  await resetSms(b, policyId);
  const from = fake.messages.length;
  const env = dispatcherEnv(b, fake);
  const procs: ServiceProcess[] = Array.from({ length: n }, () => startService('services/dispatcher/src/main.ts', env));
  const rss = sampleRss(() => procs.map((p) => p.pid));
  // Timed from the first send seen to the last: start-up (loading tsx, the migration check) is
  // the same for 1 and 2 processes and would otherwise dominate a small M.
  let t0 = 0;
  let t1 = 0;
  try {
    await waitFor(
      async () => {
        const sent = await countSent(b, policyId);
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
