// What every /ops response carries: helmet's security headers with the console's own
// Content-Security-Policy, and no caching.
import helmet from '@fastify/helmet';
import type { AppInstance } from '../../app-instance';

export async function registerOpsHeaders(app: AppInstance): Promise<void> {
  await app.register(helmet, {
    // Nothing on these pages comes from elsewhere: scripts only from here and never inline (the
    // live numbers and charts, issue 14), styles inline, forms post here.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        connectSrc: ["'self'"],
        styleSrc: ["'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  });
  app.addHook('onSend', async (_req, reply) => {
    // Operational data: never kept by a cache.
    reply.header('cache-control', 'no-store');
  });
}
