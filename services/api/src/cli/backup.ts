// `pnpm backup <file> [--force]` and `pnpm restore <file> [--force]`: the embedded database
// (PGlite under DATA_DIR) to and from one gzipped tar file. Stop `pnpm start` first; both refuse
// while the data directory is in use. A restore refuses to replace an existing database unless
// --force, and then keeps the old directory beside the new one. With DATABASE_URL set, Postgres
// is backed up with pg_dump instead (docs/CITY.md, "Backups"). Exit code 0 done, 1 refused.
import { resolve } from 'node:path';
import { BackupError, backupDataDir, restoreDataDir } from '@policy-push/db';
import { type Output, readConfig, runAsScript } from './cli';

export async function backupCli(
  mode: 'backup' | 'restore',
  args: string[],
  env: Record<string, string | undefined>,
  out: Output,
  err: Output,
): Promise<number> {
  const force = args.includes('--force');
  const files = args.filter((a) => a !== '--force');
  if (files.length !== 1 || files[0].startsWith('-')) {
    err.write(`usage: pnpm ${mode} <file> [--force]\n`);
    return 1;
  }
  const config = readConfig(env, err);
  if (!config) return 1;
  if (config.databaseUrl) {
    err.write(
      `DATABASE_URL is set: this command is for the embedded database. For PostgreSQL use ${
        mode === 'backup' ? 'pg_dump -Fc' : 'pg_restore into a fresh database'
      } (docs/CITY.md, "Backups").\n`,
    );
    return 1;
  }
  const dataDir = resolve(config.dataDir, 'pglite');
  const file = resolve(files[0]);
  try {
    if (mode === 'backup') {
      const { bytes } = await backupDataDir(dataDir, file, { force });
      out.write(`backed up ${dataDir} to ${file} (${(bytes / 1024 / 1024).toFixed(1)} MiB)\n`);
    } else {
      const { replacedDir } = await restoreDataDir(dataDir, file, { force });
      out.write(`restored ${file} into ${dataDir}\n`);
      if (replacedDir) out.write(`the database it replaced is kept in ${replacedDir}; delete it when no longer needed\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof BackupError) {
      err.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

runAsScript(import.meta.url, async () => {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'backup' || mode === 'restore') return backupCli(mode, args, process.env, process.stdout, process.stderr);
  console.error('usage: backup.ts backup|restore <file> [--force]');
  return 1;
});
