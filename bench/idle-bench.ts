// P7: claim throughput while another connection idles in a transaction ÷ normal. The claim and
// the ack are the service's own (claimDeliveries, ackDeliveries), two loops at a time as two
// dispatchers would, with no provider in between: this measures what a long transaction does to
// the database side. The idle session holds an xid and a repeatable-read snapshot, so nothing
// claimed and acked meanwhile can be vacuumed or marked dead in the pending index: every claim
// walks past the rows claimed before it.
//
//   pnpm tsx bench/idle-bench.ts [--scale small|city] [--runs 1]   (P7 alone, on a city of its own)
//
// `pnpm bench` runs it as part of the suite. The city scale idles for the 60 s of PERFORMANCE.md;
// the small scale for 10 s (less time for dead rows to pile up: a gentler test), and says so.
import { pathToFileURL } from 'node:url';
import { parseConfig } from '../packages/core/src';
import { ackDeliveries, claimDeliveries, createDb, type SendOutcome } from '../packages/db/src';
import { type BenchDb, clientOf, createBenchDb } from './bench-db';
import { flag, type GeneratedCity, generateCity } from './generate';
import { median } from './load-generator';

export const IDLE_SECONDS = { small: 10, city: 60 } as const;
const LOOPS = 2;

export interface IdleRun {
  normalPerSecond: number;
  idlePerSecond: number;
  ratio: number;
  seconds: number;
  /** Whether the normal run used up the pending deliveries before the time was up. */
  ranOut: boolean;
}

/** P7's deliveries: their policies and how many. */
export interface PendingSet {
  policyIds: number[];
  rows: number;
}

/**
 * Enough pending deliveries that neither run runs out: one per contact per policy, `policies` new
 * policies, added to whatever the outbox already holds.
 */
export async function preparePending(b: BenchDb, city: GeneratedCity, rows: number): Promise<PendingSet> {
  const policyIds: number[] = [];
  const [{ contacts }] = await b.sql.unsafe<{ contacts: number }[]>(
    `select count(*)::int as contacts from contacts where phone is not null`,
  );
  const policies = Math.max(1, Math.ceil(rows / contacts));
  for (let i = 0; i < policies; i++) {
    const [p] = await b.sql.unsafe<{ id: string }[]>(
      `insert into policies (department_id, doc_number, title, summary, url, category_ids)
       values ($1, $2, '闲置事务基准', '基准测试。', 'https://policy.example.gov.cn/p7', $3::bigint[]) returning id`,
      [city.departmentIds[0], `BENCH-P7-${Date.now()}-${i}`, city.parentCategoryIds],
    );
    policyIds.push(Number(p.id));
    await b.sql.unsafe(
      `insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority)
       select $1, 1, enterprise_id, id, 'sms', 'policy', 'pending', 1 from contacts where phone is not null order by id limit $2`,
      [p.id, rows - i * contacts],
    );
  }
  const [{ n }] = await b.sql.unsafe<{ n: number }[]>(`select count(*)::int as n from deliveries where policy_id = any($1::bigint[])`, [
    policyIds,
  ]);
  return { policyIds, rows: n };
}

async function reset(b: BenchDb, set: PendingSet): Promise<void> {
  const mine = 'select id from deliveries where policy_id = any($1::bigint[])';
  await b.sql.unsafe(`delete from delivery_attempts where delivery_id in (${mine})`, [set.policyIds]);
  await b.sql.unsafe(`delete from delivery_events where delivery_id in (${mine})`, [set.policyIds]);
  await b.sql.unsafe(
    `update deliveries set status = 'pending', attempts = 0, provider_message_id = null, locked_until = null,
       next_attempt_at = now(), sent_at = null, finished_at = null, error_code = null where policy_id = any($1::bigint[])`,
    [set.policyIds],
  );
  await b.sql.unsafe('vacuum analyze deliveries');
}

/** The outcome of a send the provider took, for the real ack without a provider. */
export const accepted = (d: { id: number; attempts: number }): SendOutcome => ({
  id: d.id,
  attempt: d.attempts,
  status: 'sent',
  providerMessageId: `SM${d.id}`,
  errorCode: null,
  retryInMs: 0,
  attemptRecord: { outcome: 'accepted', provider: 'bench', providerCode: null, error: null, latencyMs: 0, response: null },
});

/** Claim → ack in LOOPS loops for `seconds` (or until nothing is left): deliveries per second. */
async function claimRate(b: BenchDb, batch: number, seconds: number): Promise<{ rate: number; ranOut: boolean }> {
  let done = 0;
  let ranOut = false;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: LOOPS }, async (_, i) => {
      while (performance.now() < until) {
        const claimed = await claimDeliveries(b.db.db, { limit: batch, leaseSeconds: 300 });
        if (!claimed.length) return void (ranOut = true);
        await ackDeliveries(b.db.db, claimed.map(accepted), `p7-${i}`);
        done += claimed.length;
      }
    }),
  );
  return { rate: done / ((performance.now() - t0) / 1000), ranOut };
}

/** One P7 run: the normal rate, then the rate with a session idle in a transaction for `seconds`. */
export async function idleTransactionRun(b: BenchDb, set: PendingSet, batch: number, seconds: number): Promise<IdleRun> {
  await reset(b, set);
  const normal = await claimRate(b, batch, seconds);
  await reset(b, set);
  // A session that is not one of our pools: no idle_in_transaction_session_timeout of ours ends it early.
  const other = await createDb({ url: b.url, poolSize: 1, applicationName: 'bench-idle-session' });
  const idle = clientOf(other);
  try {
    await idle.unsafe('set idle_in_transaction_session_timeout = 0');
    await idle.unsafe('begin isolation level repeatable read');
    await idle.unsafe('select txid_current(), count(*) from deliveries where id < 0');
    const withIdle = await claimRate(b, batch, seconds);
    await idle.unsafe('rollback');
    return {
      normalPerSecond: normal.rate,
      idlePerSecond: withIdle.rate,
      ratio: withIdle.rate / normal.rate,
      seconds,
      ranOut: normal.ranOut || withIdle.ranOut,
    };
  } finally {
    await other.close();
  }
}

/** The P7 row of the suite's table. */
export function p7Row(runs: IdleRun[], scale: string) {
  const ratio = median(runs.map((r) => r.ratio));
  const seconds = runs[0]?.seconds ?? 0;
  const shorter = seconds < 60 ? ` (${scale} scale: idle ${seconds} s, not 60)` : '';
  return {
    id: 'P7',
    measure: `claims with a session idle in transaction ${seconds} s ÷ normal${shorter}`,
    target: '≥ 0.5',
    measured: ratio.toFixed(2),
    pass: ratio >= 0.5,
  };
}

/** P7 alone: a city of its own, the runs, the row. */
async function main() {
  const scale = (flag('scale', 'small') ?? 'small') as keyof typeof IDLE_SECONDS;
  const seconds = Number(flag('seconds', String(IDLE_SECONDS[scale])));
  const runs = Number(flag('runs', '1'));
  const enterprises = Number(flag('enterprises', scale === 'city' ? '300000' : '20000'));
  const batch = parseConfig({ QUIET_HOURS: '00:00-00:00' }).dispatcher.claimBatchSize;
  const b = await createBenchDb({ id: flag('id') });
  try {
    const city = await generateCity(b.sql, enterprises);
    const set = await preparePending(b, city, Number(flag('rows', scale === 'city' ? '2000000' : '400000')));
    console.log(`[bench] P7: ${set.rows} pending deliveries, batch ${batch}, ${LOOPS} loops, ${seconds} s per measure`);
    const results: IdleRun[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await idleTransactionRun(b, set, batch, seconds);
      results.push(r);
      console.log(
        `[bench] P7 run ${i + 1}: normal ${r.normalPerSecond.toFixed(0)}/s, idle transaction open ${r.idlePerSecond.toFixed(0)}/s, ratio ${r.ratio.toFixed(2)}${r.ranOut ? ' (ran out of pending deliveries)' : ''}`,
      );
    }
    const row = p7Row(results, scale);
    console.log(`| ${row.id} | ${row.measure} | ${row.target} | ${row.measured} | ${row.pass ? 'pass' : 'FAIL'} |`);
  } finally {
    await b.drop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
