import type { FastifyInstance } from 'fastify';
import type { Metrics } from '@policy-push/metrics';

/**
 * Counts and times every answered request by its route pattern (`/v1/policies/:id`, never the
 * URL: ids and signed tokens would make a series per request). Unrouted requests share one label.
 */
export function httpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (req, reply) => {
    metrics.observeHttp(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
}
