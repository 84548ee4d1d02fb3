// The dispatcher as its own process, against Postgres (PGlite is one process: use `pnpm start`).
import { ConfigError, createLogger, parseConfig, safeError } from '@policy-push/core';
import { createDb, migrate, signingSecret, sql } from '@policy-push/db';
import { createAdapters } from './adapters';
import { startDispatcher } from './dispatcher';
import { startHeartbeat } from './heartbeat';
import { createMetrics } from '@policy-push/metrics';
import { serveMetrics } from './metrics-server';

async function main() {
  const config = parseConfig(process.env);
  const logger = createLogger({ level: config.logLevel, pretty: config.logPretty, name: 'dispatcher' });
  if (!config.databaseUrl)
    throw new ConfigError('DATABASE_URL', 'the dispatcher alone needs Postgres; `pnpm start` runs the embedded mode');
  const dbConfig = { url: config.databaseUrl, poolSize: config.dbPoolSize, applicationName: 'policy-push-dispatcher' };
  await migrate(dbConfig);
  const db = await createDb(dbConfig);
  const adapters = createAdapters(config, db.db, logger);
  const metrics = createMetrics({ databaseSeries: false });
  const dispatcher = await startDispatcher({
    config,
    db,
    logger,
    adapters: adapters.byChannel,
    testAdapters: adapters.sandbox,
    signingSecret: await signingSecret(db.db, config.signingSecret),
    metrics,
  });
  const { metricsPort } = config.dispatcher;
  const metricsServer = metricsPort ? await serveMetrics(metrics, { port: metricsPort, host: config.host }) : undefined;
  const heartbeatFile = config.dispatcher.heartbeatFile;
  const heartbeat = heartbeatFile ? startHeartbeat(heartbeatFile, () => db.db.execute(sql`select 1`)) : undefined;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new claims, finishing what is held');
    heartbeat?.stop();
    await metricsServer?.close();
    await dispatcher.stop();
    await adapters.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : safeError(err));
  process.exit(1);
});
