import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TrustProxy } from '@policy-push/core';
import { createMetrics } from '@policy-push/metrics';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AppDeps, AppInstance } from './app-instance';
import { requireApiKey } from './plugins/auth';
import { authorize } from './plugins/authorize';
import { errorHandler } from './plugins/error-handler';
import { httpMetrics } from './plugins/http-metrics';
import { FailedAttempts, rateLimits } from './plugins/rate-limits';
import { routerErrors } from './plugins/router-errors';
import { requestLogger } from './plugins/request-logger';
import { refuseUnsafeText } from './plugins/text-guard';
import { strictValidation } from './plugins/validation';
import healthRoutes from './routes/health/health-routes';
import { publicRoutes, v1Routes } from './routes';
import { VerifiedKeys } from './services/api-keys';

// Per-request info logs halve a simple route's throughput: requests are logged at debug.
class DebugRequestLogs extends LogController {
  incomingRequest(request: FastifyRequest) {
    request.log.debug({ req: request }, 'incoming request');
  }
  requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    request.log.debug({ res: reply, responseTime: reply.elapsedTime, err: error ?? undefined }, 'request completed');
  }
}

/**
 * TRUST_PROXY as Fastify takes it. A hop count is a function: Fastify 5 turns a number into "trust
 * nobody". The hops are trusted whatever their address, X-Forwarded-Proto included: the setting
 * says every request comes through that many proxies.
 */
function trustProxyOption(trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (!trust) return false;
  if ('hops' in trust) return (_address, hop) => hop < trust.hops;
  return trust.addresses;
}

/** The body limit of the JSON routes (README "Limits"); routes that take files set their own. */
export const JSON_BODY_LIMIT = 1024 * 1024;

/** The whole HTTP app, ready for `inject()` in tests or `listen()` in server.ts. */
export async function buildApp(deps: AppDeps): Promise<AppInstance> {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the app's type the plain one.
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new DebugRequestLogs(),
    childLoggerFactory: requestLogger,
    bodyLimit: JSON_BODY_LIMIT,
    // Signed tokens travel in paths (/u/…, /p/…): allow more than the default 100 characters.
    routerOptions: { maxParamLength: 512 },
    frameworkErrors: routerErrors,
    trustProxy: trustProxyOption(deps.config.trustProxy),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('deps', deps);
  app.decorate('metrics', deps.metrics ?? createMetrics());
  app.decorate('verifiedKeys', new VerifiedKeys(deps.config.apiKeyCacheSeconds * 1000, deps.clock));
  app.decorate('failedAttempts', new FailedAttempts(deps.config.limits.failedSignInsPerIp));
  httpMetrics(app, app.metrics);
  strictValidation(app);
  refuseUnsafeText(app);
  // The API speaks JSON; anything else is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  errorHandler(app);
  const limiters = await rateLimits(app, deps.config.limits);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Policy Push API', version: '1.0.0', description: 'Targeted policy push: publish, match, deliver, prove reach.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes);
  // Webhooks and signed links: no API key; each checks its own signature.
  await app.register(async (open) => {
    open.addHook('onRequest', limiters.perAddress);
    await publicRoutes(open as AppInstance);
  });
  await app.register(
    async (v1) => {
      requireApiKey(v1, deps.db.db, app.verifiedKeys, app.failedAttempts);
      v1.addHook('onRequest', limiters.perKey);
      authorize(v1, deps.db.db);
      await v1Routes(v1 as AppInstance);
    },
    { prefix: '/v1' },
  );
  return app;
}
