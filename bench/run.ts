// `pnpm bench [--scale small|city] [--runs 3] [--keep]`: generates a city into a fresh database on
// the local Postgres, measures each PERFORMANCE.md target as a ratio against its baseline from
// the same run (median of the runs), prints the table and writes it into docs/BENCHMARKS.md.
//
// The outbox is emptied once, at the start, never between measures: the push processes start on
// it, history is written (bench/history-bench.ts), and every later measure adds its deliveries to
// what the earlier ones left. P12 needs an empty outbox to open its connections on: it runs on a
// database of its own.
//
// What is tuned lives in one place: the dispatcher settings of packages/core/src/config.ts
// (DISPATCH_BATCH_SIZE, DISPATCH_CONCURRENCY, FANOUT_CHUNK_SIZE, DB_POOL_SIZE…), read here
// through parseConfig with the defaults; the bench changes only what PERFORMANCE.md asks
// (zero-latency fakes with no allowance, quiet hours off) — see dispatcherEnv.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../packages/core/src';
import { startFakeTwilio } from '@policy-push/testkit';
import { apiRuns } from './api-bench';
import { type BenchDb, createBenchDb } from './bench-db';
import { APART, perDelivery } from './cpu';
import { dispatcherEnv, dispatcherRate, naiveRate, prepareSms, processesRate, rawUndiciRate, twilioRequest } from './dispatch-bench';
import { type EndToEndRun, endToEndRun, type ExportRun, exportRun, startPushServices } from './e2e-bench';
import { fanOutRun } from './fanout-bench';
import { addHistory, P12_SETTINGS, p12Row, p12Run, settleHistory } from './history-bench';
import { IDLE_SECONDS, type IdleRun, idleTransactionRun, p7Row, preparePending } from './idle-bench';
import { awarenessSim, awarenessTable } from './awareness-sim';
import { flag, type GeneratedCity, generateCity } from './generate';
import { median } from './load-generator';
import { ROOT } from './processes';

const SCALES = {
  small: {
    enterprises: 50_000,
    history: 100_000,
    sms: 10_000,
    naiveSeconds: 5,
    apiRequests: 20_000,
    apiSeconds: 8,
    p7Rows: 300_000, // claims run at ~20,000/s here: 150,000 ran out before the 10 s were up
    exportRows: 100_000,
  },
  city: {
    enterprises: 3_000_000,
    history: 1_000_000,
    sms: 200_000,
    naiveSeconds: 10,
    apiRequests: 100_000,
    apiSeconds: 20,
    p7Rows: 2_000_000,
    exportRows: 1_000_000,
  },
} as const;

const P6_LATENCY_MS = 50;

interface Row {
  id: string;
  measure: string;
  target: string;
  measured: string;
  pass: boolean | null;
}

// Small ratios keep two significant digits: 0.0012 must not print as 0.00.
const fmt = (x: number, d = 2) => (!Number.isFinite(x) ? 'n/a' : Math.abs(x) < 0.1 && x !== 0 ? x.toPrecision(2) : x.toFixed(d));

/**
 * P9, P11 and P10 during real pushes: API and dispatcher processes, every channel on the fakes,
 * started on the empty outbox and kept for every push; history is written after they start.
 */
async function pushRuns(b: BenchDb, city: GeneratedCity, runs: number, historyRows: number, log: (s: string) => void) {
  const { sendConcurrency } = parseConfig({}).dispatcher;
  const services = await startPushServices(b, 2);
  const e2e: EndToEndRun[] = [];
  try {
    const history = await addHistory(b, city, historyRows);
    log(`${history} rows of history written after the push processes started`);
    for (let i = 0; i < runs; i++) {
      e2e.push(await endToEndRun(b, city, services, i, sendConcurrency));
      const r = e2e[i];
      log(
        `push run ${i + 1} (${r.history} rows of history): urgent first send ${fmt(r.urgentFirstSendSeconds)} s after its publish; bulk push ${r.bulkAccepted} accepted in ${fmt(r.bulkSeconds)} s (${fmt(r.bulkAccepted / r.bulkSeconds, 0)}/s; raw undici to the same fakes: SMS ${fmt(r.ceilingPerSecond.sms, 0)}/s, WeChat ${fmt(r.ceilingPerSecond.wechat, 0)}/s); ${perDelivery(r.cpu, r.accepted)}; ${r.checkpoints} checkpoints, ${fmt(r.walBytesPerDelivery / 1024, 1)} KiB of WAL per delivery; rows read by sequential scans ${JSON.stringify(r.seqScanRows)}; RSS max dispatcher ${fmt(Math.max(...r.dispatcherRssMiB), 0)} MiB, API ${fmt(Math.max(...r.apiRssMiB), 0)} MiB`,
      );
    }
    return { e2e, history };
  } finally {
    await services.stop();
  }
}

async function main() {
  const scaleName = (flag('scale', 'small') as keyof typeof SCALES) ?? 'small';
  const scale = SCALES[scaleName];
  if (!scale) throw new Error('--scale must be small or city');
  const runs = Number(flag('runs', '3'));
  const enterprises = Number(flag('enterprises', String(scale.enterprises)));
  const log = (s: string) => console.log(`[bench] ${s}`);
  // `--only awareness`: the awareness simulation alone (in-process, PGlite), with and without follow-ups.
  if (flag('only') === 'awareness') {
    console.log(awarenessTable(await awarenessSim(Number(flag('enterprises', '400')), Number(flag('seed', '15')))));
    return;
  }
  // `--only pushes`: P9, P10 and P11 alone, on a generated city with the usual history.
  if (flag('only') === 'pushes') {
    const b = await createBenchDb({ poolSize: 10 });
    try {
      const city = await generateCity(b.sql, enterprises);
      await pushRuns(b, city, runs, Number(flag('history', String(scale.history))), log);
    } finally {
      await b.drop();
    }
    return;
  }
  // `--only api`: P8 alone, on a generated city (a few minutes instead of the whole suite).
  if (flag('only') === 'api') {
    const b = await createBenchDb({ poolSize: 10 });
    try {
      await generateCity(b.sql, enterprises);
      const api = await apiRuns(b, runs, { requests: scale.apiRequests, seconds: scale.apiSeconds });
      for (const [i, a] of api.entries())
        log(
          `api run ${i + 1}: hello p99 ${fmt(a.helloP99)} ms (${fmt(a.helloRps, 0)}/s), db route p99 ${fmt(a.dbP99)} ms (${fmt(a.dbRps, 0)}/s), errors ${a.errors}`,
        );
      const p8 = median(api.map((a) => a.dbP99 / a.helloP99));
      log(
        `P8: ${fmt(p8)}; failed requests ${api.reduce((n, a) => n + a.errors, 0)}; API RSS max ${fmt(Math.max(...api.flatMap((a) => a.rssMiB)), 0)} MiB`,
      );
    } finally {
      await b.drop();
    }
    return;
  }

  const b = await createBenchDb({ id: flag('id'), poolSize: 10 });
  const fake = await startFakeTwilio();
  const started = Date.now();
  try {
    log(`generating ${enterprises} enterprises into ${b.name}`);
    const city = await generateCity(b.sql, enterprises);
    log(`${city.contacts} contacts, ${city.subscriptions} subscriptions in ${city.seconds.toFixed(1)} s`);
    const config = parseConfig(dispatcherEnv(b, fake));
    const d = config.dispatcher;

    // P12 on a database of its own: its connections must be opened on an empty outbox.
    const p12Settings = P12_SETTINGS[scaleName];
    const p12Db = await createBenchDb({ poolSize: 4 });
    let p12;
    try {
      const p12City = await generateCity(p12Db.sql, Math.min(enterprises, 5000));
      p12 = await p12Run(p12Db, p12City, { batch: d.claimBatchSize, ...p12Settings, log });
    } finally {
      await p12Db.drop();
    }

    const { e2e, history } = await pushRuns(b, city, runs, Number(flag('history', String(scale.history))), log);
    // What the pushes left held (digests) or in flight stays as history.
    await settleHistory(b);

    const p7Pending = await preparePending(b, city, scale.p7Rows);
    const idle: IdleRun[] = [];
    for (let i = 0; i < runs; i++) {
      idle.push(await idleTransactionRun(b, p7Pending, d.claimBatchSize, IDLE_SECONDS[scaleName]));
      const r = idle[i];
      log(
        `idle-transaction run ${i + 1} (${p7Pending.rows} pending, ${r.seconds} s each): claims ${fmt(r.normalPerSecond, 0)}/s normal, ${fmt(r.idlePerSecond, 0)}/s with a session idle in transaction${r.ranOut ? ' (ran out of pending deliveries)' : ''}`,
      );
    }
    await settleHistory(b);

    const fan = [];
    for (let i = 0; i < runs; i++) {
      fan.push(await fanOutRun(b, city, d.fanoutChunkSize, i, Number(flag('fanout-budget', '30'))));
      const f = fan[i];
      log(
        `fan-out run ${i + 1}: ${f.rows} of ${f.totalRows} rows (${f.chunks} chunks${f.complete ? '' : ', cut by the time budget'}) in ${f.fanOutSeconds.toFixed(2)} s (${fmt(f.rows / f.fanOutSeconds, 0)}/s); baseline ${fmt(f.baselineRowsPerSecond, 0)}/s; selection ${f.selectionSeconds.toFixed(2)} s; re-publish ${f.republishSeconds.toFixed(2)} s, ${f.republishNewRows} new`,
      );
    }

    const sms = await prepareSms(b, city, scale.sms);
    const m = sms.m;
    log(`${m} SMS deliveries for the send measures`);
    const disp: number[] = [];
    const naive: number[] = [];
    const ceiling: number[] = [];
    const one: Awaited<ReturnType<typeof processesRate>>[] = [];
    const two: Awaited<ReturnType<typeof processesRate>>[] = [];
    for (let i = 0; i < runs; i++) {
      disp.push(await dispatcherRate(b, fake, sms));
      naive.push(await naiveRate(b, fake, sms, scale.naiveSeconds));
      ceiling.push(await rawUndiciRate(fake.url, twilioRequest(fake), m, d.sendConcurrency));
      // P6: providers that take 50 ms to answer, as real ones do, so that a process waits on the network, not on a core.
      fake.setBehaviour({ latencyMs: P6_LATENCY_MS });
      one.push(await processesRate(b, fake, sms, 1));
      two.push(await processesRate(b, fake, sms, 2));
      fake.setBehaviour({ latencyMs: 0 });
      log(
        `send run ${i + 1}: dispatcher ${fmt(disp[i], 0)}/s, naive ${fmt(naive[i], 0)}/s, raw undici ceiling ${fmt(ceiling[i], 0)}/s, fake answering after ${P6_LATENCY_MS} ms: 1 process ${fmt(one[i].rate, 0)}/s, 2 processes ${fmt(two[i].rate, 0)}/s (accepted twice: ${one[i].acceptedTwice}/${two[i].acceptedTwice})`,
      );
    }
    await settleHistory(b);

    const api = await apiRuns(b, runs, { requests: scale.apiRequests, seconds: scale.apiSeconds });
    for (const [i, a] of api.entries())
      log(
        `api run ${i + 1}: hello p99 ${fmt(a.helloP99)} ms (${fmt(a.helloRps, 0)}/s), db route p99 ${fmt(a.dbP99)} ms (${fmt(a.dbRps, 0)}/s), errors ${a.errors}`,
      );

    // The delivery-log export's memory (issue 5): one policy of exportRows deliveries, streamed.
    const exp: ExportRun = await exportRun(b, city, scale.exportRows);
    log(
      `export: ${exp.rows} rows in ${fmt(exp.seconds)} s, first byte after ${fmt(exp.firstByteSeconds)} s; API RSS ${fmt(exp.idleRssMiB, 0)} MiB idle, ${fmt(exp.maxRssMiB, 0)} MiB at most`,
    );

    const ratio = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / ys[i]));
    const p1 = ratio(
      fan.map((f) => f.rows / f.fanOutSeconds),
      fan.map((f) => f.baselineRowsPerSecond),
    );
    const p2 = ratio(
      fan.map((f) => f.selectionSeconds),
      fan.map((f) => f.projectedFanOutSeconds),
    );
    const p3 = ratio(
      fan.map((f) => f.republishSeconds),
      fan.map((f) => f.fanOutSeconds),
    );
    const p3New = Math.max(...fan.map((f) => f.republishNewRows));
    const p4 = ratio(disp, naive);
    const p5 = ratio(disp, ceiling);
    const p6 = ratio(
      two.map((r) => r.rate),
      one.map((r) => r.rate),
    );
    const dupes = Math.max(...[...one, ...two].map((r) => r.acceptedTwice));
    const p8 = ratio(
      api.map((a) => a.dbP99),
      api.map((a) => a.helloP99),
    );
    const apiErrors = api.reduce((n, a) => n + a.errors, 0);
    const dispRss = [...one, ...two].flatMap((r) => r.rssMiB).concat(e2e.flatMap((r) => r.dispatcherRssMiB));
    const apiRss = api.flatMap((a) => a.rssMiB).concat(e2e.flatMap((r) => r.apiRssMiB));
    const p9 = median(e2e.map((r) => r.urgentFirstSendSeconds));
    // P11: CPU per delivery of the service's processes and its database backends over each push.
    const p11 = median(e2e.map((r) => r.cpu.totalMs / r.accepted));
    const pushRate = median(e2e.map((r) => r.bulkAccepted / r.bulkSeconds));
    const pushCeiling = median(e2e.map((r) => Math.min(r.ceilingPerSecond.sms, r.ceilingPerSecond.wechat)));
    const cut = fan.some((f) => !f.complete);
    const rows: Row[] = [
      {
        id: 'P1',
        measure: `fan-out rows/s ÷ plain INSERT…SELECT generate_series${cut ? ' (over the chunks done in the time budget)' : ''}`,
        target: '≥ 0.8',
        measured: fmt(p1),
        pass: p1 >= 0.8,
      },
      {
        id: 'P2',
        measure: `audience selection ÷ whole fan-out${cut ? ' (projected from the chunks done)' : ''}`,
        target: '≤ 0.2',
        measured: fmt(p2),
        pass: p2 <= 0.2,
      },
      {
        id: 'P3',
        measure: 're-publish (all conflict) ÷ first fan-out; new rows',
        target: '≤ 0.6; 0',
        measured: `${fmt(p3)}; ${p3New}`,
        pass: p3 <= 0.6 && p3New === 0,
      },
      {
        id: 'P4',
        measure: 'dispatcher msgs/s ÷ naive loop (same fake Twilio over HTTP)',
        target: '≥ 20',
        measured: fmt(p4, 1),
        pass: p4 >= 20,
      },
      {
        id: 'P5',
        measure: 'dispatcher msgs/s ÷ raw HTTP ceiling (undici Pool POSTs to the same fake Twilio, no SDK, no database; SMS only)',
        target: '≥ 0.25',
        measured: fmt(p5),
        pass: p5 >= 0.25,
      },
      {
        id: 'P6',
        measure: `fake Twilio answering after ${P6_LATENCY_MS} ms: 2 dispatcher processes ÷ 1; deliveries accepted twice`,
        target: '≥ 1.8; 0',
        measured: `${fmt(p6)}; ${dupes}`,
        pass: p6 >= 1.8 && dupes === 0,
      },
      p7Row(idle, scaleName),
      {
        id: 'P8',
        measure: 'API p99, DB-backed route ÷ hello-world, 100 connections; failed requests',
        target: '≤ 3; 0',
        measured: `${fmt(p8)}; ${apiErrors}`,
        pass: p8 <= 3 && apiErrors === 0,
      },
      {
        id: 'P9',
        measure: 'urgent publish → its first send, during a bulk push (API and 2 dispatcher processes, all channels)',
        target: '< 1 s',
        measured: `${fmt(p9)} s`,
        pass: p9 < 1,
      },
      {
        id: 'P10',
        measure: `resident memory, max (min) MiB: dispatcher / API, over the send measures, P8 and the pushes`,
        target: '< 256 each, flat',
        measured: `${fmt(Math.max(...dispRss), 0)} (${fmt(Math.min(...dispRss), 0)}) / ${fmt(Math.max(...apiRss), 0)} (${fmt(Math.min(...apiRss), 0)})`,
        pass: Math.max(...dispRss) < 256 && Math.max(...apiRss) < 256,
      },
      {
        id: 'P11',
        measure: `CPU ms per delivery of the API, 2 dispatcher processes and their PostgreSQL backends, all channels, ${e2e[0].accepted} deliveries per push on ${e2e[0].history}+ rows of history (${fmt(pushRate, 0)} deliveries/s; raw undici to the same fakes ${fmt(pushCeiling, 0)}/s)`,
        target: '≤ 0.2 ms',
        measured: `${fmt(p11, 3)} ms`,
        pass: p11 <= 0.2,
      },
      p12Row([p12]),
    ];
    const verdict = (p: boolean | null) => (p === null ? '—' : p ? 'pass' : 'FAIL');
    console.log('\n| id | measure | target | measured | result |\n| --- | --- | --- | --- | --- |');
    for (const r of rows) console.log(`| ${r.id} | ${r.measure} | ${r.target} | ${r.measured} | ${verdict(r.pass)} |`);

    const raw = {
      fanOut: fan,
      dispatcherPerSecond: disp,
      naivePerSecond: naive,
      httpCeilingPerSecond: ceiling,
      oneProcess: one.map((r) => ({ rate: r.rate, acceptedTwice: r.acceptedTwice })),
      twoProcesses: two.map((r) => ({ rate: r.rate, acceptedTwice: r.acceptedTwice })),
      api: api.map(({ rssMiB: _, ...a }) => a),
      idleTransaction: idle,
      pushes: e2e.map(({ dispatcherRssMiB: _d, apiRssMiB: _a, cpu, ...r }) => ({
        ...r,
        cpuSeconds: cpu.seconds,
        cpuMsPerDelivery: Object.fromEntries(Object.entries(cpu.ms).map(([k, v]) => [k, v / r.accepted])),
      })),
      p12,
      export: exp,
    };
    // Each process's CPU per delivery, the median over the pushes.
    const labels = [...new Set(e2e.flatMap((r) => Object.keys(r.cpu.ms)))].sort();
    const cpuLine = labels
      .map((l) => `${l}${APART.includes(l) ? ' (apart)' : ''} ${fmt(median(e2e.map((r) => (r.cpu.ms[l] ?? 0) / r.accepted)), 3)}`)
      .join(', ');
    console.log(`\nCPU ms per delivery (median of the pushes): ${cpuLine}`);
    await writeReport({
      b,
      scaleName,
      enterprises,
      city,
      m,
      history,
      cpuLine,
      runs,
      rows,
      raw,
      config,
      minutes: (Date.now() - started) / 60_000,
      verdict,
    });
  } finally {
    await fake.close();
    if (flag('keep') === 'true') {
      await b.db.close();
      log(`kept ${b.url}`);
    } else await b.drop();
  }
}

async function writeReport(r: {
  b: Awaited<ReturnType<typeof createBenchDb>>;
  scaleName: string;
  enterprises: number;
  city: { contacts: number; subscriptions: number; seconds: number };
  m: number;
  history: number;
  cpuLine: string;
  runs: number;
  rows: Row[];
  raw: unknown;
  config: ReturnType<typeof parseConfig>;
  minutes: number;
  verdict: (p: boolean | null) => string;
}) {
  const show = async (name: string) => (await r.b.sql.unsafe<{ v: string }[]>(`select current_setting('${name}') as v`))[0].v;
  const [{ version }] = await r.b.sql.unsafe<{ version: string }[]>('select version()');
  const pkg = (p: string) => JSON.parse(readFileSync(join(ROOT, p, 'package.json'), 'utf8'));
  const d = r.config.dispatcher;
  const pgSettings = ['shared_buffers', 'work_mem', 'synchronous_commit', 'max_wal_size', 'max_connections', 'autovacuum'];
  const pg = await Promise.all(pgSettings.map(async (s) => `${s}=${await show(s)}`));
  const generated = [
    `Run of ${new Date().toISOString()}: \`pnpm bench --scale ${r.scaleName}\`, ${r.runs} runs, median of the per-run ratios; ${r.minutes.toFixed(1)} minutes in all.`,
    '',
    '| id | measure | target | measured | result |',
    '| --- | --- | --- | --- | --- |',
    ...r.rows.map((x) => `| ${x.id} | ${x.measure} | ${x.target} | ${x.measured} | ${r.verdict(x.pass)} |`),
    '',
    '**Machine**: ' +
      `${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ${version.split(',')[0]}; Node ${process.version}.`,
    '',
    `**Versions**: postgres (postgres.js) ${pkg('packages/db').dependencies.postgres}, drizzle-orm ${pkg('packages/db').dependencies['drizzle-orm']}, twilio ${pkg('packages/channels').dependencies.twilio}.`,
    '',
    `**Data**: ${r.enterprises} enterprises, ${r.city.contacts} contacts, ${r.city.subscriptions} subscriptions, loaded with COPY in ${r.city.seconds.toFixed(1)} s; ${r.history} rows of history (finished deliveries) written after the push processes started, each push adding its own; ${r.m} SMS deliveries for the send measures.`,
    '',
    `**CPU ms per delivery** over the pushes (median; /proc/<pid>/stat; the fakes not counted; "apart" is not in P11's total: the bench's own polling, and the cluster's WAL writer, checkpointer and background writer, which serve every database on it): ${r.cpuLine}.`,
    '',
    `**Settings** (defaults of packages/core/src/config.ts): DISPATCH_BATCH_SIZE=${d.claimBatchSize}, DISPATCH_CONCURRENCY=${d.sendConcurrency}, FANOUT_CHUNK_SIZE=${d.fanoutChunkSize}, DISPATCH_LEASE_SECONDS=${d.leaseSeconds}, DB_POOL_SIZE=${r.config.dbPoolSize}, PROVIDER_TIMEOUT_MS=${r.config.providers.timeoutMs}, RECIPIENT_DAILY_CAP=${d.recipientDailyCap}; bench overrides: SMS_SEGMENTS_PER_SECOND, WECHAT_PER_SECOND and SMTP_PER_SECOND=100000 and WECHAT_DAILY_QUOTA=100000000 (the fakes have no allowance), QUIET_HOURS=00:00-00:00, LOG_LEVEL=warn; for the pushes also RECIPIENT_DAILY_CAP=1000 and DEPARTMENT_DAILY_CAP_*=0. Postgres (untuned, as found): ${pg.join(', ')}.`,
    '',
    '<details><summary>Raw numbers of each run</summary>',
    '',
    '```json',
    JSON.stringify(r.raw, null, 1),
    '```',
    '',
    '</details>',
  ].join('\n');
  const path = join(ROOT, 'docs', 'BENCHMARKS.md');
  const START = '<!-- bench:results:start -->';
  const END = '<!-- bench:results:end -->';
  const current = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${START}\n${END}\n`;
  const next = current.includes(START)
    ? current.slice(0, current.indexOf(START) + START.length) + '\n' + generated + '\n' + current.slice(current.indexOf(END))
    : `${current}\n${START}\n${generated}\n${END}\n`;
  writeFileSync(path, next);
  console.log(`[bench] results written to docs/BENCHMARKS.md`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
