// P9, P11 and the push half of P10: the service as it runs in production — one API process and
// dispatcher processes (their own entry points) on the bench database, every channel configured
// against the testkit's zero-latency fakes (Twilio over HTTP, WeChat over HTTP, a real SMTP
// server). The processes are started once, on an empty outbox, before the history is written
// (bench/history-bench.ts), and kept for every push: their connections, and the plans cached on
// them, are as old as a deployment's. Each push publishes a broad policy through the API; while it
// is sending, an urgent policy for one district; the bulk push is then followed to its end.
// Nothing is emptied between pushes: each adds its deliveries to the history of the next.
// For each push: deliveries/s, and CPU ms per delivery of every process (bench/cpu.ts: the API,
// each dispatcher, the database's backends; the fakes, in the bench process, are not counted),
// beside the raw-HTTP ceiling to the same fakes (undici Pool, no SDK, no database).
// Then the delivery-log export streams a policy of at least 100,000 deliveries (issue 5), its
// memory sampled.
import { request } from 'node:http';
import { freePort, type ProviderFakes, startProviderFakes } from '@policy-push/testkit';
import type { BenchDb } from './bench-db';
import { type CpuReport, startCpuMeter } from './cpu';
import { dispatcherEnv, rawUndiciRate, twilioRequest, wechatRequest } from './dispatch-bench';
import type { GeneratedCity } from './generate';
import { apiEnv, BENCH_ADMIN_KEY, sampleRss, type ServiceProcess, startService, untilListening, waitFor } from './processes';

export interface EndToEndRun {
  /** Rows in deliveries when the push began. */
  history: number;
  /** policies.publish_at of the urgent policy → sent_at of its first delivery, from the database clock. */
  urgentFirstSendSeconds: number;
  /** Deliveries of the bulk push a provider accepted (sent or delivered), and the time from publish to the last. */
  bulkAccepted: number;
  bulkSeconds: number;
  /** Deliveries of both policies accepted: what the CPU is divided by. */
  accepted: number;
  /** CPU from the bulk publish to the end of both pushes. */
  cpu: CpuReport;
  /**
   * Checkpoints the cluster began during the push (every database's WAL counts towards
   * max_wal_size), and WAL written per accepted delivery: after a checkpoint each page's first
   * change writes the whole page to the WAL, which the backends pay for.
   */
  checkpoints: number;
  walBytesPerDelivery: number;
  /** Rows this database's sequential scans read during the push, by table (the bench's own polling included). */
  seqScanRows: Record<string, number>;
  /** Raw undici POSTs/s to the same fakes, after the push (DISPATCH_CONCURRENCY in flight). */
  ceilingPerSecond: { sms: number; wechat: number };
  dispatcherRssMiB: number[];
  apiRssMiB: number[];
}

export interface ExportRun {
  rows: number;
  firstByteSeconds: number;
  seconds: number;
  /** API resident memory before the export (idle) and the most while it streamed. */
  idleRssMiB: number;
  maxRssMiB: number;
}

async function walState(b: BenchDb): Promise<{ checkpoints: number; bytes: number; seqScanRows: Record<string, number> }> {
  const [r] = await b.sql.unsafe<{ checkpoints: string; bytes: string }[]>(
    `select (checkpoints_timed + checkpoints_req)::text as checkpoints, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text as bytes
     from pg_stat_bgwriter`,
  );
  // Statistics are sent by each backend at the end of a transaction, at most once a second.
  await b.sql.unsafe('select pg_stat_clear_snapshot()');
  const tables = await b.sql.unsafe<{ relname: string; rows: string }[]>(
    `select relname, coalesce(seq_tup_read, 0)::text as rows from pg_stat_user_tables`,
  );
  return {
    checkpoints: Number(r.checkpoints),
    bytes: Number(r.bytes),
    seqScanRows: Object.fromEntries(tables.map((t) => [t.relname, Number(t.rows)])),
  };
}

const countOf = async (b: BenchDb, query: string, params: unknown[]) =>
  (await b.sql.unsafe<{ n: number }[]>(query, params as never[]))[0].n;

async function post(port: number, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The API and dispatcher processes of the pushes, and the fakes they send to. */
export interface PushServices {
  fakes: ProviderFakes;
  port: number;
  api: ServiceProcess;
  dispatchers: ServiceProcess[];
  stop(): Promise<void>;
}

/**
 * Starts the API and `dispatchers` dispatcher processes on `b`, whose outbox must be empty, and
 * waits until every dispatcher has connected (and so claimed, on the empty outbox, at least once).
 */
export async function startPushServices(b: BenchDb, dispatchers: number): Promise<PushServices> {
  const [{ n }] = await b.sql.unsafe<{ n: number }[]>('select count(*)::int as n from deliveries');
  if (n > 0) throw new Error(`the push services must start on an empty outbox; deliveries holds ${n} rows`);
  // A department sends WeChat only through its own template (CHANNELS.md).
  await b.sql.unsafe(`update departments set wechat_template = '{"templateId": "tmpl-policy", "fields": [{"key": "thing1", "type": "thing"},
    {"key": "thing2", "type": "thing"}, {"key": "time3", "type": "time"}]}'::jsonb`);
  const fakes = await startProviderFakes();
  const port = await freePort();
  const env = dispatcherEnv(b, fakes.twilio, {
    ...fakes.env,
    ...apiEnv(b.url, port),
    // A whole city subscribes: the per-recipient cap and the department caps are for mistakes, not for this.
    RECIPIENT_DAILY_CAP: '1000',
    DEPARTMENT_DAILY_CAP_SMS: '0',
    DEPARTMENT_DAILY_CAP_WECHAT: '0',
    DEPARTMENT_DAILY_CAP_EMAIL: '0',
  });
  const api = startService('services/api/src/server.ts', env);
  const procs = Array.from({ length: dispatchers }, () => startService('services/dispatcher/src/main.ts', env));
  const stop = async () => {
    await Promise.all([api.stop(), ...procs.map((p) => p.stop())]);
    await fakes.close();
  };
  try {
    await untilListening(port);
    await waitFor(
      async () =>
        (await countOf(
          b,
          `select count(distinct client_port)::int as n from pg_stat_activity where datname = $1 and application_name = 'policy-push-dispatcher'`,
          [b.name],
        )) >= dispatchers,
      60_000,
      'the dispatchers to connect',
      200,
    );
    // A few claim loops on the empty outbox.
    await new Promise((r) => setTimeout(r, 2000));
  } catch (err) {
    console.error(api.output());
    for (const p of procs) console.error(p.output());
    await stop();
    throw err;
  }
  return { fakes, port, api, dispatchers: procs, stop };
}

export async function endToEndRun(
  b: BenchDb,
  city: GeneratedCity,
  s: PushServices,
  run: number,
  ceilingConcurrency: number,
): Promise<EndToEndRun> {
  const { port, api, dispatchers: procs } = s;
  const dispRss = sampleRss(() => procs.map((p) => p.pid));
  const apiRss = sampleRss(() => [api.pid]);
  // The harness's own count must not be read as the push's sequential scan: a backend reports its
  // statistics at most once a second, so without the forced flush this one landed inside the
  // measured window (the first push's "deliveries" row of seqScanRows).
  const history = await b.sql.begin(async (tx) => {
    const [{ n }] = await tx.unsafe<{ n: number }[]>('select count(*)::int as n from deliveries');
    await tx.unsafe('select pg_stat_force_next_flush()');
    return n;
  });
  const walBefore = await walState(b);
  const cpu = startCpuMeter(b.sql, b.name, {
    api: api.pid,
    ...Object.fromEntries(procs.map((p, i) => [`dispatcher ${i + 1}`, p.pid])),
  });
  try {
    const common = {
      departmentId: String(city.departmentIds[0]),
      summary: '对吸纳就业的企业给予补贴。',
      url: 'https://policy.example.gov.cn/bench',
      categoryIds: city.parentCategoryIds.map(String),
      confirmLargeAudience: true,
    };
    const bulk = await post(port, '/v1/policies', {
      ...common,
      docNumber: `BENCH-E2E-${run}-${Date.now()}`,
      title: '关于稳就业的若干措施',
    });
    if (bulk.status !== 202) throw new Error(`publishing the bulk policy: ${bulk.status} ${JSON.stringify(bulk.json)}`);
    const bulkId = Number((bulk.json.policy as { id: string }).id);
    // The urgent policy is published once the bulk push is sending.
    await waitFor(
      async () =>
        (await countOf(b, `select count(*)::int as n from deliveries where policy_id = $1 and status in ('sent', 'delivered')`, [
          bulkId,
        ])) >= 500,
      600_000,
      'the bulk push to be sending',
      50,
    );
    const urgent = await post(port, '/v1/policies', {
      ...common,
      docNumber: `BENCH-URGENT-${run}-${Date.now()}`,
      title: '关于台风“山竹”的紧急通知',
      priority: 'urgent',
      audience: { rule: { districts: { any: ['440103'] } } },
    });
    if (urgent.status !== 202) throw new Error(`publishing the urgent policy: ${urgent.status} ${JSON.stringify(urgent.json)}`);
    const urgentId = Number((urgent.json.policy as { id: string }).id);
    await waitFor(
      async () =>
        (await countOf(b, `select count(*)::int as n from deliveries where policy_id = $1 and sent_at is not null`, [urgentId])) > 0,
      60_000,
      'the first urgent send',
      20,
    );
    const [u] = await b.sql.unsafe<{ s: number }[]>(
      `select extract(epoch from (select min(sent_at) from deliveries where policy_id = $1) - publish_at)::float8 as s from policies where id = $1`,
      [urgentId],
    );
    // The pushes are done when they are fanned out and none of their deliveries waits or is in flight.
    // Asked through the partial indexes of pending and sending rows, stopping at the first: a count
    // read every row of the push five times a second (25–30 ms of Postgres CPU each, taken from
    // the processes being measured).
    await waitFor(
      async () =>
        (await countOf(
          b,
          `select (exists (select from pushes where policy_id = any($1::bigint[]) and status <> 'fanned_out')
                or exists (select from deliveries where status = 'pending' and policy_id = any($1::bigint[]))
                or exists (select from deliveries where status = 'sending' and policy_id = any($1::bigint[])))::int as n`,
          [[bulkId, urgentId]],
        )) === 0,
      3_600_000,
      'the pushes to finish',
      200,
    );
    const report = await cpu.stop();
    const walAfter = await walState(b);
    const [done] = await b.sql.unsafe<{ n: number; s: number }[]>(
      `select count(*) filter (where d.status in ('sent', 'delivered'))::int as n,
         extract(epoch from max(d.sent_at) - p.publish_at)::float8 as s
       from deliveries d join policies p on p.id = d.policy_id where d.policy_id = $1 group by p.publish_at`,
      [bulkId],
    );
    const accepted = await countOf(
      b,
      `select count(*)::int as n from deliveries where policy_id = any($1::bigint[]) and status in ('sent', 'delivered')`,
      [[bulkId, urgentId]],
    );
    // The ceiling on the same fakes, once the push is over (so that neither slows the other).
    const m = Math.min(accepted, 5000);
    const app = { appId: s.fakes.env.WECHAT_APP_ID, appSecret: s.fakes.env.WECHAT_APP_SECRET };
    const ceilingPerSecond = {
      sms: await rawUndiciRate(s.fakes.twilio.url, twilioRequest(s.fakes.twilio), m, ceilingConcurrency),
      wechat: await rawUndiciRate(s.fakes.wechat.url, await wechatRequest(s.fakes.wechat, app), m, ceilingConcurrency),
    };
    return {
      history,
      urgentFirstSendSeconds: u.s,
      bulkAccepted: done.n,
      bulkSeconds: done.s,
      accepted,
      cpu: report,
      checkpoints: walAfter.checkpoints - walBefore.checkpoints,
      walBytesPerDelivery: (walAfter.bytes - walBefore.bytes) / accepted,
      seqScanRows: Object.fromEntries(
        Object.entries(walAfter.seqScanRows)
          .map(([table, rows]) => [table, rows - (walBefore.seqScanRows[table] ?? 0)] as const)
          .filter(([, rows]) => rows > 0),
      ),
      ceilingPerSecond,
      dispatcherRssMiB: dispRss.stop(),
      apiRssMiB: apiRss.stop(),
    };
  } catch (err) {
    console.error(api.output());
    for (const p of procs) console.error(p.output());
    throw err;
  } finally {
    await cpu.stop().catch(() => undefined);
    dispRss.stop();
    apiRss.stop();
  }
}

/** `rows` delivered deliveries of one policy, written directly: what the export reads. */
async function exportFixture(b: BenchDb, city: GeneratedCity, rows: number): Promise<number> {
  const [p] = await b.sql.unsafe<{ id: string }[]>(
    `insert into policies (department_id, doc_number, title, summary, url, category_ids, status)
     values ($1, $2, '关于稳就业的若干措施', '对吸纳就业的企业给予补贴。', 'https://policy.example.gov.cn/bench', $3::bigint[], 'published')
     returning id`,
    [city.departmentIds[0], `BENCH-EXPORT-${Date.now()}`, city.parentCategoryIds],
  );
  await b.sql.unsafe(
    `insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority, attempts,
       provider_message_id, sent_at, finished_at)
     select $1, 1, c.enterprise_id, c.id, ch, 'policy', 'delivered', 1, 1, 'SM' || md5(c.id || ch), now(), now()
     from contacts c cross join unnest(array['sms', 'email', 'wechat']) ch
     order by c.id, ch limit $2`,
    [p.id, rows],
  );
  // What autovacuum does within a minute of a bulk load (deliveries are analysed at 1% changed
  // rows, migration 0011); the export is measured, not the planner's view of a table it has not
  // looked at since the rows arrived a second ago.
  await b.sql.unsafe('analyze deliveries');
  return Number(p.id);
}

/** GET /v1/deliveries/export for one policy of `rows` deliveries: rows received, time to first byte, API memory. */
export async function exportRun(b: BenchDb, city: GeneratedCity, rows: number): Promise<ExportRun> {
  const policyId = await exportFixture(b, city, rows);
  const port = await freePort();
  const api = startService('services/api/src/server.ts', apiEnv(b.url, port));
  try {
    await untilListening(port);
    await new Promise((r) => setTimeout(r, 2000));
    const idle = sampleRss(() => [api.pid], 100);
    await new Promise((r) => setTimeout(r, 1000));
    const idleSamples = idle.stop();
    const rss = sampleRss(() => [api.pid], 50);
    const t0 = performance.now();
    // A slow reader (node's default high-water mark, lines counted as they come) like a browser saving a file.
    const { lines, firstByte } = await new Promise<{ lines: number; firstByte: number }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: `/v1/deliveries/export?policyId=${policyId}`,
          headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` },
        },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`export answered ${res.statusCode}`));
          let first = 0;
          let newlines = 0;
          res.on('data', (chunk: Buffer) => {
            if (!first) first = performance.now();
            for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
          });
          res.on('end', () => resolve({ lines: newlines, firstByte: first }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
    const seconds = (performance.now() - t0) / 1000;
    const samples = rss.stop();
    return {
      rows: lines - 1, // the header
      firstByteSeconds: (firstByte - t0) / 1000,
      seconds,
      idleRssMiB: Math.max(...idleSamples),
      maxRssMiB: Math.max(...samples, ...idleSamples),
    };
  } catch (err) {
    console.error(api.output());
    throw err;
  } finally {
    await api.stop();
  }
}
