// The outbox's history, and P12: what it costs PostgreSQL to claim and ack a row when the outbox
// holds a million finished deliveries, on connections opened while it was empty.
//
// Production never starts empty twice: `deliveries` holds what earlier pushes left behind, and the
// dispatchers' connections (and the plans cached on them) were made long before most of it
// existed. addHistory writes such rows for every measure of the suite that needs a starting
// point, instead of emptying the outbox.
//
// P12 uses the service's own claim and ack (claimDeliveries, ackDeliveries), two loops as two
// dispatchers would, with no provider in between (as P7, bench/idle-bench.ts): the CPU of those
// two connections' backends (/proc/<pid>/stat) per row claimed and acked, with HISTORY rows of
// history ÷ with 10,000, on the same connections, opened and first used on an empty outbox; and
// the sequential scans of `deliveries` meanwhile (pg_stat_user_tables.seq_scan before and after).
// No ANALYZE between growing the outbox and measuring: the statistics are what they are when
// autovacuum has not caught up (on this cluster autovacuum is off; the run says which).
//
//   pnpm tsx bench/history-bench.ts [--scale small|city] [--history 200000] [--rows 4000] [--budget 45]
//
// `pnpm bench` runs it on a database of its own (it needs an empty outbox to start from).
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseConfig } from '../packages/core/src';
import { ackDeliveries, claimDeliveries, createDb, type Db } from '../packages/db/src';
import { type BenchDb, clientOf, createBenchDb, type PgClient } from './bench-db';
import { startCpuMeter } from './cpu';
import { flag, type GeneratedCity, generateCity } from './generate';
import { accepted } from './idle-bench';

export const P12_SETTINGS = {
  small: { history: 200_000, rows: 4_000, budgetSeconds: 45 },
  city: { history: 1_000_000, rows: 20_000, budgetSeconds: 120 },
} as const;
const BASE_HISTORY = 10_000;
const LOOPS = 2;
const APP = 'bench-p12';
const PER_STATEMENT = 100_000;

/**
 * `rows` finished deliveries (delivered, one attempt, a day old) of new policies, one policy per
 * 100,000 rows or per contacts × 3 channels: the outbox after earlier pushes. Written with the
 * triggers off (session_replication_role = replica, as a restore does): the reach bookkeeping
 * counted these long ago, and the rows come from existing contacts. Answers the rows written.
 */
export async function addHistory(b: BenchDb, city: GeneratedCity, rows: number): Promise<number> {
  let written = 0;
  for (let i = 0; written < rows; i++) {
    const contacts = Math.min(Math.ceil((rows - written) / 3), Math.ceil(PER_STATEMENT / 3), city.contacts);
    written += await b.sql.begin(async (tx) => {
      await tx.unsafe('set local session_replication_role = replica');
      const [p] = await tx.unsafe<{ id: string }[]>(
        `insert into policies (department_id, doc_number, title, summary, url, category_ids, status)
         values ($1, $2, '往期政策', '往期推送。', 'https://policy.example.gov.cn/history', $3::bigint[], 'published') returning id`,
        [city.departmentIds[i % city.departmentIds.length], `BENCH-HISTORY-${Date.now()}-${i}`, city.parentCategoryIds],
      );
      const [{ n }] = await tx.unsafe<{ n: number }[]>(
        `with ins as (
           insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority, attempts,
             provider_message_id, sent_at, finished_at, created_at, updated_at)
           select $1::bigint, 1, c.enterprise_id, c.id, ch, 'policy', 'delivered', 1, 1, 'H' || $1::bigint || '-' || c.id || ch,
             now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'
           from contacts c cross join unnest(array['sms', 'email', 'wechat']) ch where c.id <= $2::bigint
           returning 1)
         select count(*)::int as n from ins`,
        [p.id, contacts],
      );
      return n;
    });
  }
  return written;
}

/**
 * Ends what a measure left pending, in flight or held for a digest (P7's unclaimed rows, a
 * fan-out's pushes), as if sent, so that it stays as history and no later measure (or digest job)
 * sends it. Triggers off, as addHistory.
 */
export async function settleHistory(b: BenchDb): Promise<void> {
  await b.sql.begin(async (tx) => {
    await tx.unsafe('set local session_replication_role = replica');
    await tx.unsafe(`update deliveries set status = 'sent', sent_at = coalesce(sent_at, now()), finished_at = now(), locked_until = null
      where status in ('pending', 'sending', 'held')`);
    await tx.unsafe(`update pushes set status = 'fanned_out' where status <> 'fanned_out'`);
  });
}

/** `rows` pending deliveries of a new policy (contacts × 3 channels), written as a fan-out writes them (triggers on). */
async function addPending(b: BenchDb, city: GeneratedCity, rows: number, tag: string): Promise<void> {
  const [p] = await b.sql.unsafe<{ id: string }[]>(
    `insert into policies (department_id, doc_number, title, summary, url, category_ids)
     values ($1, $2, '出站箱基准', '基准测试。', 'https://policy.example.gov.cn/p12', $3::bigint[]) returning id`,
    [city.departmentIds[0], `BENCH-P12-${tag}-${Date.now()}`, city.parentCategoryIds],
  );
  await b.sql.unsafe(
    `insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority)
     select $1, 1, c.enterprise_id, c.id, ch, 'policy', 'pending', 1
     from contacts c cross join unnest(array['sms', 'email', 'wechat']) ch order by c.id, ch limit $2`,
    [p.id, rows],
  );
}

/** Claim → ack in LOOPS loops until nothing is pending or the budget is spent: rows done. */
async function claimAndAck(db: Db, batch: number, budgetSeconds: number): Promise<number> {
  let done = 0;
  const until = performance.now() + budgetSeconds * 1000;
  await Promise.all(
    Array.from({ length: LOOPS }, async (_, i) => {
      while (performance.now() < until) {
        const claimed = await claimDeliveries(db.db, { limit: batch, leaseSeconds: 300 });
        if (!claimed.length) return;
        await ackDeliveries(db.db, claimed.map(accepted), `p12-${i}`);
        done += claimed.length;
      }
    }),
  );
  return done;
}

/**
 * seq_scan of `deliveries`, once the backends have reported: a backend sends its counts when it
 * goes idle at most once a second, so wait a second and make every connection go idle again.
 */
async function seqScans(b: BenchDb, pool: PgClient): Promise<number> {
  await sleep(1100);
  await Promise.all([
    ...Array.from({ length: LOOPS * 2 }, () => pool.unsafe('select pg_sleep(0.05)')),
    b.sql.unsafe('select pg_sleep(0.05)'),
  ]);
  await sleep(200);
  await b.sql.unsafe('select pg_stat_clear_snapshot()');
  const [r] = await b.sql.unsafe<{ n: string }[]>(`select seq_scan::text as n from pg_stat_user_tables where relname = 'deliveries'`);
  return Number(r.n);
}

export interface P12Measure {
  /** Rows in deliveries before the pending ones were added. */
  history: number;
  rows: number;
  seconds: number;
  /** CPU of the two connections' backends over the claims and acks. */
  backendMs: number;
  perRowMs: number;
  seqScans: number;
}

export interface P12Run {
  base: P12Measure;
  big: P12Measure;
  ratio: number;
  seqScans: number;
  autovacuum: string;
}

async function measure(b: BenchDb, city: GeneratedCity, pool: Db, batch: number, rows: number, budgetSeconds: number) {
  const [{ n: history }] = await b.sql.unsafe<{ n: number }[]>('select count(*)::int as n from deliveries');
  await addPending(b, city, rows, String(history));
  const before = await seqScans(b, clientOf(pool));
  const cpu = startCpuMeter(b.sql, b.name, {});
  const done = await claimAndAck(pool, batch, budgetSeconds);
  const report = await cpu.stop();
  const after = await seqScans(b, clientOf(pool));
  // What the budget left pending stays as history, not as work for the next measure.
  await settleHistory(b);
  const backendMs = report.ms[`postgres: ${APP}`] ?? 0;
  return { history, rows: done, seconds: report.seconds, backendMs, perRowMs: backendMs / Math.max(done, 1), seqScans: after - before };
}

/**
 * One P12 run on `b`, whose outbox must be empty: the connections are opened and used (claim,
 * ack, the triggers' plans) on it, then the outbox grows to 10,000 rows of history, is measured,
 * grows to `history` rows, is measured again on the same connections.
 */
export async function p12Run(
  b: BenchDb,
  city: GeneratedCity,
  o: { batch: number; history: number; rows: number; budgetSeconds: number; log?: (s: string) => void },
): Promise<P12Run> {
  const [{ n }] = await b.sql.unsafe<{ n: number }[]>('select count(*)::int as n from deliveries');
  if (n > 0) throw new Error(`P12 needs an empty outbox to open its connections on; deliveries holds ${n} rows`);
  const [{ autovacuum }] = await b.sql.unsafe<{ autovacuum: string }[]>(`select current_setting('autovacuum') as autovacuum`);
  const pool = await createDb({ url: b.url, poolSize: LOOPS, applicationName: APP });
  try {
    // Each connection claims and acks on the empty outbox (batches of 10, so that both get some).
    await addPending(b, city, LOOPS * 20, 'warm');
    await claimAndAck(pool, 10, 60);
    await addHistory(b, city, BASE_HISTORY);
    const base = await measure(b, city, pool, o.batch, o.rows, o.budgetSeconds);
    o.log?.(
      `P12 at ${base.history} rows: ${base.rows} claimed and acked, ${base.perRowMs.toFixed(3)} ms backend CPU per row, ${base.seqScans} seq scans`,
    );
    const [{ n: now }] = await b.sql.unsafe<{ n: number }[]>('select count(*)::int as n from deliveries');
    await addHistory(b, city, o.history - now);
    const big = await measure(b, city, pool, o.batch, o.rows, o.budgetSeconds);
    o.log?.(
      `P12 at ${big.history} rows: ${big.rows} claimed and acked, ${big.perRowMs.toFixed(3)} ms backend CPU per row, ${big.seqScans} seq scans`,
    );
    return { base, big, ratio: big.perRowMs / base.perRowMs, seqScans: base.seqScans + big.seqScans, autovacuum };
  } finally {
    await pool.close();
  }
}

/** The P12 row of the suite's table. */
export function p12Row(runs: P12Run[]) {
  const ratios = runs.map((r) => r.ratio).sort((a, b) => a - b);
  const ratio = ratios[Math.floor(ratios.length / 2)];
  const scans = Math.max(...runs.map((r) => r.seqScans));
  const r = runs[0];
  return {
    id: 'P12',
    measure: `PostgreSQL CPU per claimed and acked row, ${r.big.history} ÷ ${r.base.history} rows of history, connections opened on an empty outbox (${r.base.perRowMs.toFixed(3)} → ${r.big.perRowMs.toFixed(3)} ms; autovacuum ${r.autovacuum}); seq scans of deliveries by the claims and acks`,
    target: '≤ 1.5; 0 scans',
    measured: `${ratio.toFixed(2)}; ${scans}`,
    pass: ratio <= 1.5 && scans === 0,
  };
}

/** P12 alone: a city of its own, the run, the row. */
async function main() {
  const scale = (flag('scale', 'small') ?? 'small') as keyof typeof P12_SETTINGS;
  const s = P12_SETTINGS[scale];
  const batch = parseConfig({ QUIET_HOURS: '00:00-00:00' }).dispatcher.claimBatchSize;
  const b = await createBenchDb({ id: flag('id') });
  try {
    const city = await generateCity(b.sql, Number(flag('enterprises', '5000')));
    const run = await p12Run(b, city, {
      batch,
      history: Number(flag('history', String(s.history))),
      rows: Number(flag('rows', String(s.rows))),
      budgetSeconds: Number(flag('budget', String(s.budgetSeconds))),
      log: (x) => console.log(`[bench] ${x}`),
    });
    const row = p12Row([run]);
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
