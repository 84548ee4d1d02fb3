// `pnpm archive [--json]`: archives what is due now and purges the old archive, as the dispatcher's
// hourly job does (packages/db archive-queries.ts), until nothing is left — for an operator who
// wants it done now, or a deployment without a dispatcher running. Reads the configuration as the
// server does (RETENTION_DAYS, ARCHIVE_RETENTION_DAYS, ARCHIVE_BATCH_SIZE; DATABASE_URL or the
// embedded database under DATA_DIR: stop `pnpm start` first). Safe next to running dispatchers:
// the archiver's lock lets one work at a time. Exit code 0 when done, 2 when another archiver held
// the lock, 1 on a bad configuration.
import { createDb, migrate, runArchive } from '@policy-push/db';
import { commandDb, type Output, readConfig, runAsScript } from './cli';

export async function archiveCli(args: string[], env: Record<string, string | undefined>, out: Output, err: Output): Promise<number> {
  const unknown = args.filter((a) => a !== '--json');
  if (unknown.length) {
    err.write(`unknown argument ${unknown[0]}\nusage: pnpm archive [--json]\n`);
    return 1;
  }
  const config = readConfig(env, err);
  if (!config) return 1;
  const dbConfig = commandDb(config, 'archive');
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

runAsScript(import.meta.url, () => archiveCli(process.argv.slice(2), process.env, process.stdout, process.stderr));
