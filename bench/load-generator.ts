// A small, bounded HTTP load generator: `connections` keep-alive connections to 127.0.0.1, each
// sending its next request when the last one is answered, until `requests` are done or
// `seconds` have passed. Answers latencies (ms) and the non-2xx count.
import { Agent, request } from 'node:http';

export interface LoadResult {
  latencies: number[];
  errors: number;
  seconds: number;
}

export async function load(opts: {
  port: number;
  path: string;
  headers?: Record<string, string>;
  connections: number;
  requests: number;
  seconds: number;
}): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = request({ host: '127.0.0.1', port: opts.port, path: opts.path, headers: opts.headers, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - t0);
          if ((res.statusCode ?? 0) >= 300) errors++;
          resolve();
        });
      });
      req.on('error', () => (errors++, resolve()));
      req.end();
    });
  async function connection() {
    while (issued < opts.requests && performance.now() < deadline) {
      issued++;
      await one();
    }
  }
  await Promise.all(Array.from({ length: opts.connections }, connection));
  agent.destroy();
  return { latencies, errors, seconds: (performance.now() - started) / 1000 };
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const median = (values: number[]) => percentile(values, 50);
