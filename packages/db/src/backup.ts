// Backup and restore of the embedded database (PGlite's data directory) as one gzipped tar file,
// with PGlite's own dumpDataDir / loadDataDir. Both claim the data directory's lock first, so
// they refuse while `pnpm start` (or anything else) has it open. Postgres is backed up with
// pg_dump / pg_restore instead (docs/CITY.md, "Backups").
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { lockDataDir } from './create-db';

/** A refusal the command line shows as it is (exit code 1), as opposed to a crash. */
export class BackupError extends Error {}

const LOCK_FILE = '.policy-push.lock';

/** Writes the whole data directory to `file` (gzipped tar). Refuses to replace an existing file unless `force`. */
export async function backupDataDir(dataDir: string, file: string, opts: { force?: boolean } = {}): Promise<{ bytes: number }> {
  if (!existsSync(join(dataDir, 'PG_VERSION'))) throw new BackupError(`there is no embedded database in ${dataDir}`);
  if (existsSync(file) && !opts.force) throw new BackupError(`${file} already exists; pass --force to replace it`);
  const release = claim(dataDir);
  try {
    const { PGlite } = await loadPglite();
    const pg = new PGlite(dataDir);
    await pg.waitReady;
    let dump: Blob;
    try {
      dump = await pg.dumpDataDir('gzip');
    } finally {
      await pg.close();
    }
    const bytes = Buffer.from(await dump.arrayBuffer());
    // Written aside and renamed, so an interrupted backup never leaves a truncated file under the real name.
    const partial = `${file}.partial`;
    writeFileSync(partial, bytes);
    renameSync(partial, file);
    return { bytes: bytes.length };
  } finally {
    release();
  }
}

/**
 * Restores a backup into `dataDir`. Refuses when the directory already holds a database unless
 * `force`; then the old directory is kept beside it (returned as `replacedDir`) rather than
 * deleted. The backup is unpacked and opened in a staging directory first, so a bad file
 * changes nothing.
 */
export async function restoreDataDir(dataDir: string, file: string, opts: { force?: boolean } = {}): Promise<{ replacedDir?: string }> {
  if (!existsSync(file)) throw new BackupError(`no such file: ${file}`);
  const occupied = existsSync(dataDir) && readdirSync(dataDir).some((name) => name !== LOCK_FILE);
  if (occupied && !opts.force) throw new BackupError(`${dataDir} already holds a database; pass --force to replace it`);
  const release = claim(dataDir);
  const staging = `${dataDir}.restoring`;
  try {
    rmSync(staging, { recursive: true, force: true });
    await unpackAndCheck(staging, new Blob([readFileSync(file)]));
    // The dumped directory carried the lock of the process that made the backup.
    rmSync(join(staging, LOCK_FILE), { force: true });
    let replacedDir: string | undefined;
    if (occupied) {
      replacedDir = `${dataDir}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(dataDir, replacedDir);
      rmSync(join(replacedDir, LOCK_FILE), { force: true });
    } else {
      rmSync(dataDir, { recursive: true, force: true });
    }
    renameSync(staging, dataDir);
    return { replacedDir };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  } finally {
    release();
  }
}

async function unpackAndCheck(dir: string, dump: Blob): Promise<void> {
  const { PGlite } = await loadPglite();
  let pg: PGlite;
  try {
    pg = new PGlite(dir, { loadDataDir: dump });
    await pg.waitReady;
  } catch (e) {
    throw new BackupError(`the file is not a readable backup of the embedded database (${(e as Error).message})`);
  }
  try {
    const { rows } = await pg.query<{ t: string | null }>(`select to_regclass('drizzle.__drizzle_migrations')::text as t`);
    if (!rows[0].t) throw new BackupError('the file holds a database, but not one of this service (no migrations recorded)');
  } finally {
    await pg.close();
  }
}

// Loaded when a backup or restore runs: these functions share a module with the service's (create-db.ts).
const loadPglite = () => import('@electric-sql/pglite');

function claim(dataDir: string): () => void {
  try {
    return lockDataDir(dataDir);
  } catch (e) {
    throw new BackupError(`${(e as Error).message}; stop the service first`);
  }
}
