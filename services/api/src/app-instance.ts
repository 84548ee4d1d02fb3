// The app's type and what buildApp decorates it with, in a module of their own: the route files
// need the type, and app.ts imports the route files.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config, Logger } from '@policy-push/core';
import type { Db } from '@policy-push/db';
import type { Metrics } from '@policy-push/metrics';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { FailedAttempts } from './plugins/rate-limits';
import type { VerifiedKeys } from './services/api-keys';

export interface AppDeps {
  config: Config;
  db: Db;
  logger: Logger;
  /** Key for signed links (unsubscribe, WeChat binding). */
  signingSecret: string;
  /** The process's metrics registry; one of its own when absent. Embedded mode shares it with the dispatcher. */
  metrics?: Metrics;
  /** Milliseconds since the epoch; tests pass their own to move time without sleeping. */
  clock?: () => number;
}

export type AppInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
    metrics: Metrics;
    verifiedKeys: VerifiedKeys;
    /** Failed sign-ins per client address, shared by /v1 and /ops/login. */
    failedAttempts: FailedAttempts;
  }
}
