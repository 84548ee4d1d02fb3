// A standalone dispatcher serves no API, but its provider calls (latency, outcome, error code) and
// circuit breakers are counted in its own process: this serves them to Prometheus at
// GET /metrics on DISPATCHER_METRICS_PORT. The database-backed series (queues, pushes, provider health) are
// the API's /metrics; they are the same whichever process reads them.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '@policy-push/metrics';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function serveMetrics(metrics: Metrics, opts: { port: number; host: string }): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
