// GET /metrics: Prometheus text exposition (issue 5, "Health and metrics"). No API key, like
// /healthz: Prometheus scrapes without one. It shows counts and ids, never addresses or content,
// but it does reveal volumes and policy ids, so expose it to the ops network only: publish the
// API through a proxy that does not forward /metrics, and let Prometheus scrape the pods directly.
import { providerNames } from '@policy-push/channels';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';

export default async function metricsRoutes(app: AppInstance) {
  const { config } = app.deps;
  const providers = providerNames(config);

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics: queues, deliveries, pushes, provider health, HTTP, process',
        response: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (_req, reply) => {
      await app.metrics.refreshFromDatabase(app.deps.db.db, { settings: config.dispatcher, providers, now: new Date() });
      return reply
        .type(app.metrics.registry.contentType)
        .header('cache-control', 'no-store')
        .send(await app.metrics.render());
    },
  );
}
