// Starts the API (and, with --with-dispatcher, the dispatcher in the same process).
// `pnpm start`: embedded mode on PGlite under DATA_DIR, sandbox channels, demo data on first run.
// `pnpm start:api`: the API alone, against Postgres (DATABASE_URL).
import { resolve } from 'node:path';
import { type Config, ConfigError, createLogger, type Logger, parseConfig, safeError } from '@policy-push/core';
import { createDb, type Db, type DbConfig, migrate, signingSecret } from '@policy-push/db';
import { createAdapters, startDispatcher } from '@policy-push/dispatcher';
import { createMetrics } from '@policy-push/metrics';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app';
import { demoDataPresent, seedDemoData } from './demo/demo-data';
import { bootstrapAdminKey, countApiKeys, createApiKey } from './services/api-keys';

async function main() {
  const config = parseConfig(process.env);
  const withDispatcher = process.argv.includes('--with-dispatcher');
  const logger = createLogger({ level: config.logLevel, pretty: config.logPretty || process.stdout.isTTY });
  if (!config.databaseUrl && !withDispatcher) {
    throw new ConfigError(
      'DATABASE_URL',
      'the API alone needs Postgres; `pnpm start` runs API and dispatcher together on the embedded database',
    );
  }
  const dbConfig: DbConfig = config.databaseUrl
    ? // Reporting queries (reach, exports, ops) are the API's long ones: a minute at most.
      { url: config.databaseUrl, poolSize: config.dbPoolSize, applicationName: 'policy-push-api', statementTimeoutMs: 60_000 }
    : { dataDir: resolve(config.dataDir, 'pglite') };
  const db = await createDb(dbConfig);
  await migrate(dbConfig, db);
  await prepareData(config, db, logger);

  const secret = await signingSecret(db.db, config.signingSecret);
  // One registry for the process: in embedded mode the dispatcher's sends show on the API's /metrics.
  const metrics = createMetrics();
  const app = await buildApp({ config, db, logger, signingSecret: secret, metrics });
  const adapters = withDispatcher ? createAdapters(config, db.db, logger) : undefined;
  const dispatcher = adapters
    ? await startDispatcher({
        config,
        db,
        logger,
        adapters: adapters.byChannel,
        testAdapters: adapters.sandbox,
        signingSecret: secret,
        metrics,
      })
    : undefined;

  closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
    if (err) logger.error({ err: safeError(err) }, 'stopping after an error');
    else logger.info({ signal }, 'stopping');
    await app.close();
    await dispatcher?.stop();
    await adapters?.close();
    await db.close();
  });

  await app.listen({ host: config.host, port: config.port });
  const base = `http://${config.host}:${config.port}`;
  console.log(
    `Policy Push is running${withDispatcher ? ' (API and dispatcher' : ' (API'}, ${db.driver === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'}).`,
  );
  console.log(`  API:  ${base}/v1`);
  console.log(`  Docs: ${base}/docs  (OpenAPI: ${base}/openapi.json)`);
}

/** Demo data on a fresh embedded database (or when DEMO_DATA=1), and the first admin key. */
async function prepareData(config: Config, db: Db, logger: Logger) {
  const wantDemo = config.demoData === 'yes' || (config.demoData === 'auto' && db.driver === 'pglite');
  if (wantDemo && !(await demoDataPresent(db.db))) {
    const seeded = await seedDemoData(db.db);
    logger.info(seeded, 'demo data loaded');
  }
  if (config.adminApiKey) {
    await bootstrapAdminKey(db.db, config.adminApiKey, logger);
  } else if ((await countApiKeys(db.db)) === 0) {
    const { key } = await createApiKey(db.db, { name: 'first admin', role: 'admin' });
    // Shown once: only its hash is stored.
    console.log(`Created the first admin API key (shown only this once):\n  ${key}\n`);
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : safeError(err));
  process.exit(1);
});
