// P9, P11 and the push half of P10: the service as it runs — one API process and dispatcher
// processes (their own entry points) on the bench database, every channel configured against
// the testkit's zero-latency fakes (Twilio over HTTP, WeChat over HTTP, a real SMTP server).
// A broad policy is published through the API; while its push is sending, an urgent policy for
// one district is published; the bulk push is then followed to its end. Then the delivery-log
// export streams a policy of at least 100,000 deliveries (issue 5), its memory sampled.
import { request } from 'node:http';
import { freePort, startProviderFakes } from '@policy-push/testkit';
import type { BenchDb } from './bench-db';
import { dispatcherEnv } from './dispatch-bench';
import type { GeneratedCity } from './generate';
import { apiEnv, sampleRss, type ServiceProcess, startService, untilListening, waitFor } from './processes';

const ADMIN_KEY = 'pp_benche2eadminkey0123456789abcdef';

export interface EndToEndRun {
  /** policies.publish_at of the urgent policy → sent_at of its first delivery, from the database clock. */
  urgentFirstSendSeconds: number;
  /** Deliveries of the bulk push a provider accepted (sent or delivered), and the time from publish to the last. */
  bulkAccepted: number;
  bulkSeconds: number;
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

const countOf = async (b: BenchDb, query: string, params: unknown[]) =>
  (await b.sql.unsafe<{ n: number }[]>(query, params as never[]))[0].n;

async function post(port: number, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Empties what a push writes, so each run starts from the same subscribers. */
async function resetPushes(b: BenchDb) {
  // A department sends WeChat only through its own template (CHANNELS.md).
  await b.sql.unsafe(`update departments set wechat_template = '{"templateId": "tmpl-policy", "fields": [{"key": "thing1", "type": "thing"},
    {"key": "thing2", "type": "thing"}, {"key": "time3", "type": "time"}]}'::jsonb`);
  await b.sql.unsafe(`truncate deliveries, delivery_attempts, delivery_events, delivery_opens, pushes, policy_addresses,
    address_daily_sends, rate_windows, channel_pauses, reach_dirty, reach_enterprises, reach_failures, reach_rollup cascade`);
  await b.sql.unsafe('vacuum analyze deliveries');
}

export async function endToEndRun(b: BenchDb, city: GeneratedCity, dispatchers: number, run: number): Promise<EndToEndRun> {
  await resetPushes(b);
  const fakes = await startProviderFakes();
  const port = await freePort();
  const env = dispatcherEnv(b, fakes.twilio, {
    ...fakes.env,
    ...apiEnv(b.url, port, ADMIN_KEY),
    // A whole city subscribes: the per-recipient cap and the department caps are for mistakes, not for this.
    RECIPIENT_DAILY_CAP: '1000',
    DEPARTMENT_DAILY_CAP_SMS: '0',
    DEPARTMENT_DAILY_CAP_WECHAT: '0',
    DEPARTMENT_DAILY_CAP_EMAIL: '0',
  });
  const api = startService('services/api/src/server.ts', env);
  const procs: ServiceProcess[] = Array.from({ length: dispatchers }, () => startService('services/dispatcher/src/main.ts', env));
  const dispRss = sampleRss(() => procs.map((p) => p.pid));
  const apiRss = sampleRss(() => [api.pid]);
  try {
    await untilListening(port);
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
    // The bulk push is done when it is fanned out and none of its deliveries waits or is in flight.
    await waitFor(
      async () =>
        (await countOf(
          b,
          `select ((select count(*) from pushes where policy_id = $1 and status <> 'fanned_out')
                + (select count(*) from deliveries where policy_id = $1 and status in ('pending', 'sending')))::int as n`,
          [bulkId],
        )) === 0,
      3_600_000,
      'the bulk push to finish',
      200,
    );
    const [done] = await b.sql.unsafe<{ n: number; s: number }[]>(
      `select count(*) filter (where d.status in ('sent', 'delivered'))::int as n,
         extract(epoch from max(d.sent_at) - p.publish_at)::float8 as s
       from deliveries d join policies p on p.id = d.policy_id where d.policy_id = $1 group by p.publish_at`,
      [bulkId],
    );
    return {
      urgentFirstSendSeconds: u.s,
      bulkAccepted: done.n,
      bulkSeconds: done.s,
      dispatcherRssMiB: dispRss.stop(),
      apiRssMiB: apiRss.stop(),
    };
  } catch (err) {
    console.error(api.output());
    for (const p of procs) console.error(p.output());
    throw err;
  } finally {
    dispRss.stop();
    apiRss.stop();
    await Promise.all([api.stop(), ...procs.map((p) => p.stop())]);
    await fakes.close();
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
  const api = startService('services/api/src/server.ts', apiEnv(b.url, port, ADMIN_KEY));
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
        { host: '127.0.0.1', port, path: `/v1/deliveries/export?policyId=${policyId}`, headers: { authorization: `Bearer ${ADMIN_KEY}` } },
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
