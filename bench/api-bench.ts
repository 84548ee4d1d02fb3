// P8 and the API half of P10: the API as its own process (services/api/src/server.ts) on the
// bench database; 100 keep-alive connections from this process; a database-backed route
// (GET /v1/enterprises/:id, with the API-key check, which reads the database too) against the
// hello-world route of the same server (GET /healthz).
import { freePort } from '@policy-push/testkit';
import type { BenchDb } from './bench-db';
import { load, percentile } from './load-generator';
import { apiEnv, BENCH_ADMIN_KEY, sampleRss, startService, untilListening } from './processes';

export interface ApiRun {
  helloP99: number;
  dbP99: number;
  helloRps: number;
  dbRps: number;
  errors: number;
  rssMiB: number[];
}

export async function apiRuns(b: BenchDb, runs: number, opts: { requests: number; seconds: number }): Promise<ApiRun[]> {
  const port = await freePort();
  const api = startService('services/api/src/server.ts', {
    ...apiEnv(b.url, port),
    // The limiter still runs on every request (it is part of the route's cost) but never refuses:
    // P8 measures latency, and one key makes every request here.
    RATE_LIMIT_PER_KEY: '1000000',
  });
  const out: ApiRun[] = [];
  try {
    await untilListening(port);
    const base = { port, connections: 100, ...opts };
    // Warm up both routes (JIT, the pool's connections).
    await load({ ...base, path: '/healthz', requests: 2000, seconds: 5 });
    const auth = { authorization: `Bearer ${BENCH_ADMIN_KEY}` };
    await load({ ...base, path: '/v1/enterprises/1', headers: auth, requests: 2000, seconds: 5 });
    for (let i = 0; i < runs; i++) {
      const rss = sampleRss(() => [api.pid]);
      const hello = await load({ ...base, path: '/healthz' });
      const db = await load({ ...base, path: `/v1/enterprises/${1 + i}`, headers: auth });
      out.push({
        helloP99: percentile(hello.latencies, 99),
        dbP99: percentile(db.latencies, 99),
        helloRps: hello.latencies.length / hello.seconds,
        dbRps: db.latencies.length / db.seconds,
        errors: hello.errors + db.errors,
        rssMiB: rss.stop(),
      });
    }
  } catch (err) {
    console.error(api.output());
    throw err;
  } finally {
    await api.stop();
  }
  return out;
}
