// P1–P3: the fan-out as the dispatcher runs it (fanOutNextChunk in a loop, one transaction per
// chunk), against its baselines measured on the same database in the same run. Each run fans out
// a new policy into the outbox as the measures before left it (their history, and the earlier
// runs'); what it wrote is then settled as history, so that no later measure sends it.
import { fanOutNextChunk, loadMatchTarget, previewAudience } from '../packages/db/src';
import type { BenchDb } from './bench-db';
import type { GeneratedCity } from './generate';
import { settleHistory } from './history-bench';

export interface FanOutRun {
  /** Rows inserted in the chunks measured; all of the push's when complete. */
  rows: number;
  /** Rows the whole push makes (the audience selection's count). */
  totalRows: number;
  chunks: number;
  complete: boolean;
  fanOutSeconds: number;
  /** fanOutSeconds, scaled to all rows when the budget cut the fan-out short. */
  projectedFanOutSeconds: number;
  selectionSeconds: number;
  baselineRowsPerSecond: number;
  republishSeconds: number;
  republishNewRows: number;
}

const secondsSince = (t0: number) => (performance.now() - t0) / 1000;

/** A broad policy (all five parent topics, no audience rule: every subscriber of them) and its push. */
export async function insertBroadPolicy(b: BenchDb, city: GeneratedCity, doc: string): Promise<{ policyId: number; pushId: number }> {
  const [p] = await b.sql.unsafe<{ id: string }[]>(
    `insert into policies (department_id, doc_number, title, summary, url, category_ids)
     values ($1, $2, '关于稳就业的若干措施', '对吸纳就业的企业给予补贴。', 'https://policy.example.gov.cn/bench', $3::bigint[]) returning id`,
    [city.departmentIds[0], doc, city.parentCategoryIds],
  );
  const [push] = await b.sql.unsafe<{ id: string }[]>(
    `insert into pushes (policy_id, policy_version, status) values ($1, 1, 'fanning_out') returning id`,
    [p.id],
  );
  return { policyId: Number(p.id), pushId: Number(push.id) };
}

/**
 * Runs the push's fan-out, chunk by chunk as the dispatcher does, to the end or until the time
 * budget is spent (checked between chunks, at least one chunk) or `maxChunks` are done.
 */
async function fanOut(
  b: BenchDb,
  chunkSize: number,
  budgetSeconds: number,
  maxChunks = Infinity,
): Promise<{ rows: number; chunks: number; complete: boolean }> {
  const t0 = performance.now();
  let rows = 0;
  let chunks = 0;
  while (chunks < maxChunks && (chunks === 0 || secondsSince(t0) < budgetSeconds)) {
    const chunk = await fanOutNextChunk(b.db.db, chunkSize);
    if (!chunk || chunk.done) return { rows, chunks, complete: true };
    rows += chunk.inserted;
    chunks++;
  }
  return { rows, chunks, complete: false };
}

export async function fanOutRun(
  b: BenchDb,
  city: GeneratedCity,
  chunkSize: number,
  run: number,
  budgetSeconds: number,
): Promise<FanOutRun> {
  // Pushes of earlier runs (cut short by the budget) must not be picked up by this run's fan-out.
  await b.sql.unsafe(`update pushes set status = 'fanned_out'`);
  const { policyId, pushId } = await insertBroadPolicy(b, city, `BENCH-FANOUT-${run}`);
  await b.sql.unsafe('vacuum analyze deliveries');

  let t0 = performance.now();
  const first = await fanOut(b, chunkSize, budgetSeconds);
  const rows = first.rows;
  const fanOutSeconds = secondsSince(t0);

  // P2: the audience selection alone — the same matching SQL, counted, writing nothing.
  const target = await loadMatchTarget(b.db.db, {
    departmentId: city.departmentIds[0],
    categoryIds: city.parentCategoryIds,
    targetGroupIds: [],
    audienceRule: null,
    priority: 'normal',
  });
  t0 = performance.now();
  const preview = await previewAudience(b.db.db, target, 0);
  const selectionSeconds = secondsSince(t0);

  // P3: publishing the same version again: every row conflicts.
  await b.sql.unsafe(`update pushes set status = 'fanning_out', checkpoint = 0 where id = $1`, [pushId]);
  t0 = performance.now();
  // The same chunks as the first pass, so the two times compare like for like.
  const republishNewRows = (await fanOut(b, chunkSize, Infinity, first.chunks)).rows;
  const republishSeconds = secondsSince(t0);
  await b.sql.unsafe(`update pushes set status = 'fanned_out' where id = $1`, [pushId]);

  // P1 baseline: plain INSERT … SELECT generate_series of the same number of rows into a copy of
  // deliveries with the same indexes, defaults and identity.
  await b.sql.unsafe('drop table if exists bench_deliveries');
  await b.sql.unsafe('create table bench_deliveries (like deliveries including all)');
  t0 = performance.now();
  await b.sql.unsafe(
    `insert into bench_deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority, matched_category_ids)
     select $1, 1, g / 2 + 1, g, 'sms', 'policy', 'pending', 1, array[1]::bigint[] from generate_series(1, $2::int) g`,
    [policyId, rows],
  );
  const baselineRowsPerSecond = rows / secondsSince(t0);
  await b.sql.unsafe('drop table bench_deliveries');
  await settleHistory(b);
  return {
    rows,
    totalRows: preview.deliveries,
    chunks: first.chunks,
    complete: first.complete,
    fanOutSeconds,
    projectedFanOutSeconds: first.complete ? fanOutSeconds : (fanOutSeconds * preview.deliveries) / Math.max(rows, 1),
    selectionSeconds,
    baselineRowsPerSecond,
    republishSeconds,
    republishNewRows,
  };
}
