// `pnpm archive [--json]`: archives what is due now and purges the old archive, as the dispatcher's
// hourly job does (packages/db archive-queries.ts), until nothing is left — for an operator who
// wants it done now, or a deployment without a dispatcher running. Reads the configuration as the
// server does (RETENTION_DAYS, ARCHIVE_RETENTION_DAYS, ARCHIVE_BATCH_SIZE; DATABASE_URL or the
// embedded database under DATA_DIR: stop `pnpm start` first). Safe next to running dispatchers:
// the archiver's lock lets one work at a time. Exit code 0 when done, 2 when another archiver held
// the lock, 1 on a bad configuration.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseConfig, safeError } from '@policy-push/core';
import { createDb, type DbConfig, migrate, runArchive } from '@policy-push/db';

interface Output {
  write(line: string): unknown;
}

export async function archiveCli(args: string[], env: Record<string, string | undefined>, out: Output, err: Output): Promise<number> {
  const unknown = args.filter((a) => a !== '--json');
  if (unknown.length) {
    err.write(`unknown argument ${unknown[0]}\nusage: pnpm archive [--json]\n`);
    return 1;
  }
  let config;
  try {
    config = parseConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      err.write(`configuration error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const dbConfig: DbConfig = config.databaseUrl
    ? { url: config.databaseUrl, poolSize: 1, applicationName: 'policy-push-archive' }
    : { dataDir: resolve(config.dataDir, 'pglite') };
  const db = await createDb(dbConfig);
  try {
    await migrate(dbConfig, db);
    const started = Date.now();
    const run = await runArchive(db.db, config.dispatcher.retention, { maxBatches: Number.MAX_SAFE_INTEGER });
    const seconds = (Date.now() - started) / 1000;
    if (args.includes('--json')) out.write(`${JSON.stringify({ ...run, seconds })}\n`);
    else {
      out.write(
        `archived ${run.deliveries} deliveries of ${run.policies} finished policies (${run.attempts} attempts, ${run.events} events, ` +
          `${run.opens} opens) and purged ${run.purged} archived deliveries, in ${run.batches} batches, ${seconds.toFixed(1)} s\n`,
      );
    }
    if (run.more) {
      err.write('another archiver is at work (a dispatcher); it carries on from here\n');
      return 2;
    }
    return 0;
  } finally {
    await db.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  archiveCli(process.argv.slice(2), process.env, process.stdout, process.stderr).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(safeError(e));
      process.exitCode = 1;
    },
  );
}
