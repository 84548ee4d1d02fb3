// `pnpm tsx bench/p1-bench.ts [--enterprises 50000] [--runs 2]`: P1 alone (fan-out rows/s ÷ plain
// INSERT … SELECT), on a fresh city, for measuring a fan-out change without the whole `pnpm bench`.
import { parseConfig } from '../packages/core/src';
import { startFakeTwilio } from '@policy-push/testkit';
import { createBenchDb } from './bench-db';
import { dispatcherEnv } from './dispatch-bench';
import { fanOutRun } from './fanout-bench';
import { flag, generateCity } from './generate';

async function main() {
  const enterprises = Number(flag('enterprises', '50000'));
  const runs = Number(flag('runs', '2'));
  const b = await createBenchDb({ poolSize: 4 });
  const fake = await startFakeTwilio();
  try {
    const city = await generateCity(b.sql, enterprises);
    console.log(`[p1] ${city.contacts} contacts, ${city.subscriptions} subscriptions`);
    const chunkSize = parseConfig(dispatcherEnv(b, fake)).dispatcher.fanoutChunkSize;
    for (let i = 0; i < runs; i++) {
      const r = await fanOutRun(b, city, chunkSize, i, Number(flag('fanout-budget', '30')));
      const rate = r.rows / r.fanOutSeconds;
      console.log(
        `[p1] run ${i + 1}: ${r.rows} rows in ${r.fanOutSeconds.toFixed(2)} s (${rate.toFixed(0)}/s${r.complete ? '' : ', cut by the budget'}); plain insert ${r.baselineRowsPerSecond.toFixed(0)}/s; P1 ${(rate / r.baselineRowsPerSecond).toFixed(3)}; re-publish ${r.republishSeconds.toFixed(2)} s, ${r.republishNewRows} new`,
      );
    }
  } finally {
    await fake.close();
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
