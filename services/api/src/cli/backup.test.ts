// Backup and restore, both ways the docs give: `pnpm backup` / `pnpm restore` for the embedded
// database (always, it is PGlite whatever the test database), and pg_dump -Fc / pg_restore for
// Postgres (with TEST_DATABASE_URL, using this machine's binaries). Each seeds subscribers, a
// policy and its fanned-out deliveries, backs up, wipes or starts fresh, restores, and compares
// every table (row count and a checksum of all its rows) and every sequence.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDb, type Database, type DbConfig, fanOutNextChunk, migrate, rowsOf, sql } from '@policy-push/db';
import {
  createTestDb,
  seedPolicy,
  seedSubscribers,
  type TestDb,
  testDatabaseUrl,
  testRunId,
  withAdmin,
  withDatabase,
} from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupCli } from './backup';

const run = promisify(execFile);
const sink = () => {
  const lines: string[] = [];
  return { lines, text: () => lines.join('\n'), write: (s: string) => lines.push(...s.split('\n').filter(Boolean)) };
};

/** Seeds a small world with deliveries: every table the backup must carry has rows. */
async function seedWorld(db: Database): Promise<void> {
  const world = await seedSubscribers(db, 120);
  await seedPolicy(db, world);
  while (await fanOutNextChunk(db, 50));
}

/** Every table's row count and a checksum of its rows, and every sequence's position. */
async function snapshot(db: Database): Promise<Record<string, string>> {
  const tables = rowsOf<{ s: string; t: string }>(
    await db.execute(sql`select table_schema as s, table_name as t from information_schema.tables
      where table_schema in ('public', 'drizzle') and table_type = 'BASE TABLE' order by 1, 2`),
  );
  const out: Record<string, string> = {};
  for (const { s, t } of tables) {
    const name = `"${s}"."${t}"`;
    const [row] = rowsOf<{ n: number; h: string }>(
      await db.execute(
        sql.raw(`select count(*)::int as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from ${name} x`),
      ),
    );
    out[name] = `${row.n} ${row.h}`;
  }
  const sequences = rowsOf<{ s: string; q: string }>(
    await db.execute(sql`select sequence_schema as s, sequence_name as q from information_schema.sequences order by 1, 2`),
  );
  for (const { s, q } of sequences) {
    const [row] = rowsOf<{ v: string; c: boolean }>(
      await db.execute(sql.raw(`select last_value::text as v, is_called as c from "${s}"."${q}"`)),
    );
    out[`sequence ${s}.${q}`] = `${row.v} ${row.c}`;
  }
  return out;
}

async function withPglite<T>(dataDir: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const config: DbConfig = { dataDir };
  const handle = await createDb(config);
  try {
    await migrate(config, handle);
    return await fn(handle.db);
  } finally {
    await handle.close();
  }
}

const rowCount = (snap: Record<string, string>, table: string) => Number(snap[`"public"."${table}"`].split(' ')[0]);

describe('pnpm backup / pnpm restore (embedded database)', () => {
  let dir: string;
  let env: Record<string, string>;
  let dataDir: string;
  let file: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'backup-cli-'));
    env = { DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent' };
    dataDir = join(dir, 'data', 'pglite');
    file = join(dir, 'policy-push.tar.gz');
    before = await withPglite(dataDir, async (db) => {
      await seedWorld(db);
      return snapshot(db);
    });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('seeded rows in the tables that matter', () => {
    expect(rowCount(before, 'enterprises')).toBe(120);
    expect(rowCount(before, 'deliveries')).toBe(120);
    expect(rowCount(before, 'policies')).toBe(1);
  });

  it('backs up the data directory to one file, and will not overwrite it without --force', async () => {
    const out = sink();
    const err = sink();
    expect(await backupCli('backup', [file], env, out, err)).toBe(0);
    expect(out.text()).toContain('backed up');
    expect(existsSync(file)).toBe(true);
    expect(existsSync(`${file}.partial`)).toBe(false);

    const again = sink();
    expect(await backupCli('backup', [file], env, sink(), again)).toBe(1);
    expect(again.text()).toContain('already exists');
  });

  it('refuses to back up or restore while a running process holds the data directory', async () => {
    // The lock a running `pnpm start` leaves: its pid, alive (here the test runner's parent).
    const lock = join(dataDir, '.policy-push.lock');
    writeFileSync(lock, String(process.ppid));
    try {
      const err = sink();
      expect(await backupCli('backup', [join(dir, 'other.tar.gz')], env, sink(), err)).toBe(1);
      expect(err.text()).toMatch(/in use by process .*stop the service first/);
      const err2 = sink();
      expect(await backupCli('restore', [file, '--force'], env, sink(), err2)).toBe(1);
      expect(err2.text()).toContain('stop the service first');
      expect(existsSync(join(dir, 'other.tar.gz'))).toBe(false);
    } finally {
      rmSync(lock, { force: true });
    }
  });

  it('refuses to restore over a database without --force, and changes nothing', async () => {
    await withPglite(dataDir, (db) => db.execute(sql`delete from deliveries`));
    const err = sink();
    expect(await backupCli('restore', [file], env, sink(), err)).toBe(1);
    expect(err.text()).toContain('already holds a database; pass --force');
    const now = await withPglite(dataDir, snapshot);
    expect(rowCount(now, 'deliveries')).toBe(0);
  }, 120_000);

  it('with --force restores every row and sequence, and keeps the replaced directory', async () => {
    const out = sink();
    expect(await backupCli('restore', [file, '--force'], env, out, sink())).toBe(0);
    expect(out.text()).toContain('is kept in');
    expect(readdirSync(join(dir, 'data')).filter((n) => n.startsWith('pglite.replaced-'))).toHaveLength(1);
    await withPglite(dataDir, async (db) => {
      expect(await snapshot(db)).toEqual(before);
      // Sequences came along: a new row takes the next id, not one already used.
      await db.execute(sql`insert into categories (code, name_zh, name_en) values ('after-restore', '恢复后', 'After restore')`);
    });
  }, 120_000);

  it('restores into an empty data directory on another machine', async () => {
    const fresh = { DATA_DIR: join(dir, 'fresh'), LOG_LEVEL: 'silent' };
    expect(await backupCli('restore', [file], fresh, sink(), sink())).toBe(0);
    expect(await withPglite(join(dir, 'fresh', 'pglite'), snapshot)).toEqual(before);
  }, 120_000);

  it('refuses a file that is not a backup, leaving the database as it was', async () => {
    const junk = join(dir, 'junk.tar.gz');
    writeFileSync(junk, 'not a tar file');
    const err = sink();
    expect(await backupCli('restore', [junk], { DATA_DIR: join(dir, 'junk-target'), LOG_LEVEL: 'silent' }, sink(), err)).toBe(1);
    expect(err.text()).toContain('not a readable backup');
    expect(existsSync(join(dir, 'junk-target', 'pglite.restoring'))).toBe(false);
    expect(existsSync(join(dir, 'junk-target', 'pglite', 'PG_VERSION'))).toBe(false);
  }, 120_000);

  it('points to pg_dump when DATABASE_URL is set, and names its usage', async () => {
    const err = sink();
    expect(await backupCli('backup', [file], { DATABASE_URL: 'postgres://x@127.0.0.1/db' }, sink(), err)).toBe(1);
    expect(err.text()).toContain('pg_dump -Fc');
    const usage = sink();
    expect(await backupCli('restore', [], env, sink(), usage)).toBe(1);
    expect(usage.text()).toContain('usage: pnpm restore <file> [--force]');
  });
});

describe.skipIf(!testDatabaseUrl())('pg_dump -Fc / pg_restore (PostgreSQL, as docs/CITY.md says)', () => {
  let t: TestDb;
  let dir: string;
  let file: string;
  let before: Record<string, string>;
  const fresh = `policy_push_test_${testRunId()}_restore_${process.pid}`;
  const freshUrl = () => withDatabase(testDatabaseUrl()!, fresh);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pg-backup-'));
    file = join(dir, 'policy_push.dump');
    t = await createTestDb();
    await seedWorld(t.db);
    before = await snapshot(t.db);
  }, 120_000);
  afterAll(async () => {
    await t?.drop();
    await withAdmin(testDatabaseUrl()!, (admin) => admin.unsafe(`drop database if exists ${fresh} with (force)`));
    rmSync(dir, { recursive: true, force: true });
  });

  it('dumps with pg_dump -Fc and restores into a fresh database, every row and sequence alike', async () => {
    await run('pg_dump', ['-Fc', '--no-owner', '-f', file, '--dbname', t.config.url!]);
    await withAdmin(testDatabaseUrl()!, async (admin) => {
      await admin.unsafe(`drop database if exists ${fresh} with (force)`);
      await admin.unsafe(`create database ${fresh}`);
    });
    await run('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', freshUrl(), file]);
    const restored = await createDb({ url: freshUrl(), poolSize: 1 });
    try {
      expect(await snapshot(restored.db)).toEqual(before);
      expect(rowCount(before, 'deliveries')).toBe(120);
      await restored.db.execute(sql`insert into categories (code, name_zh, name_en) values ('after-restore', '恢复后', 'After restore')`);
    } finally {
      await restored.close();
    }
  }, 120_000);

  it('restores over the damaged original with pg_restore --clean --if-exists', async () => {
    await t.db.execute(sql`delete from deliveries`);
    await t.db.execute(sql`update enterprises set name = 'damaged'`);
    await t.close();
    await run('pg_restore', [
      '--clean',
      '--if-exists',
      '--no-owner',
      '--exit-on-error',
      '--single-transaction',
      '--dbname',
      t.config.url!,
      file,
    ]);
    const again = await createDb({ url: t.config.url!, poolSize: 1 });
    try {
      expect(await snapshot(again.db)).toEqual(before);
    } finally {
      await again.close();
    }
  }, 120_000);
});
