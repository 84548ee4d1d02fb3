// `pnpm tsx bench/p1-bench.ts [--enterprises 50000] [--runs 2]`: P1 alone (fan-out rows/s ÷ plain
// INSERT … SELECT of as many rows into a copy of deliveries), on a fresh city, for measuring a
// fan-out change without the whole `pnpm bench`. Beside wall time, the Postgres backend's CPU
// (one connection, so one backend does all of it), which a busy machine distorts far less.
import { parseConfig } from '../packages/core/src';
import { fanOutNextChunk } from '../packages/db/src';
import { createBenchDb } from './bench-db';
import { cpuMs } from './cpu';
import { insertBroadPolicy } from './fanout-bench';
import { flag, generateCity } from './generate';
import { settleHistory } from './history-bench';

async function main() {
  const enterprises = Number(flag('enterprises', '50000'));
  const runs = Number(flag('runs', '2'));
  const b = await createBenchDb({ poolSize: 1 });
  try {
    const city = await generateCity(b.sql, enterprises);
    console.log(`[p1] ${city.contacts} contacts, ${city.subscriptions} subscriptions`);
    const chunkSize = parseConfig({}).dispatcher.fanoutChunkSize;
    const [{ pid }] = await b.sql.unsafe<{ pid: number }[]>('select pg_backend_pid() as pid');
    const cpu = () => cpuMs(pid) ?? NaN;
    for (let i = 0; i < runs; i++) {
      await b.sql.unsafe(`update pushes set status = 'fanned_out'`);
      const { policyId } = await insertBroadPolicy(b, city, `BENCH-P1-${i}`);
      await b.sql.unsafe('vacuum analyze deliveries');
      let rows = 0;
      let c0 = cpu();
      let t0 = performance.now();
      for (;;) {
        const chunk = await fanOutNextChunk(b.db.db, chunkSize);
        if (!chunk || chunk.done) break;
        rows += chunk.inserted;
      }
      const fanSeconds = (performance.now() - t0) / 1000;
      const fanCpu = cpu() - c0;
      await b.sql.unsafe('drop table if exists bench_deliveries');
      await b.sql.unsafe('create table bench_deliveries (like deliveries including all)');
      c0 = cpu();
      t0 = performance.now();
      await b.sql.unsafe(
        `insert into bench_deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority, matched_category_ids)
         select $1, 1, g / 2 + 1, g, 'sms', 'policy', 'pending', 1, array[1]::bigint[] from generate_series(1, $2::int) g`,
        [policyId, rows],
      );
      const baseSeconds = (performance.now() - t0) / 1000;
      const baseCpu = cpu() - c0;
      await b.sql.unsafe('drop table bench_deliveries');
      await settleHistory(b);
      console.log(
        `[p1] run ${i + 1}: ${rows} rows; fan-out ${fanSeconds.toFixed(2)} s, ${fanCpu} ms backend CPU; plain insert ${baseSeconds.toFixed(2)} s, ${baseCpu} ms CPU; P1 by wall time ${(baseSeconds / fanSeconds).toFixed(3)}, by CPU ${(baseCpu / fanCpu).toFixed(3)}`,
      );
    }
  } finally {
    await b.drop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
