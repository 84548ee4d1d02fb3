import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, expectedMigrationCount, rowsOf, sql } from '@policy-push/db';
import { testDatabaseUrl, testRunId, withAdmin, withDatabase } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCli } from './migrate';

const sink = () => {
  const lines: string[] = [];
  return { text: () => lines.join('\n'), write: (s: string) => lines.push(s) };
};

// The command on an empty database of its own: Postgres (a new, unmigrated database on the test
// server) or the embedded one (an empty DATA_DIR).
describe('pnpm db:migrate', () => {
  let dir: string;
  let env: Record<string, string>;
  const empty = `policy_push_test_${testRunId()}_migrate_${process.pid}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'migrate-cli-'));
    const url = testDatabaseUrl();
    if (url) {
      await withAdmin(url, async (admin) => {
        await admin.unsafe(`drop database if exists ${empty} with (force)`);
        await admin.unsafe(`create database ${empty}`);
      });
      env = { DATABASE_URL: withDatabase(url, empty) };
    } else env = { DATA_DIR: dir };
  });
  afterAll(async () => {
    const url = testDatabaseUrl();
    if (url) await withAdmin(url, (admin) => admin.unsafe(`drop database if exists ${empty} with (force)`));
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies every migration to an empty database, then finds nothing left to do', async () => {
    const n = expectedMigrationCount();
    const first = sink();
    expect(await migrateCli(env, first, sink())).toBe(0);
    expect(first.text()).toContain(`${n} migration(s) applied; the schema is current (${n} of ${n})`);
    const second = sink();
    expect(await migrateCli(env, second, sink())).toBe(0);
    expect(second.text()).toContain(`0 migration(s) applied`);

    const db = await createDb(env.DATABASE_URL ? { url: env.DATABASE_URL, poolSize: 1 } : { dataDir: join(dir, 'pglite') });
    try {
      const [row] = rowsOf<{ n: number }>(await db.db.execute(sql`select count(*)::int as n from deliveries`));
      expect(row.n).toBe(0);
    } finally {
      await db.close();
    }
  }, 120_000);

  it.skipIf(!!testDatabaseUrl())('refuses while a running service holds the embedded data directory', async () => {
    const lock = join(dir, 'pglite', '.policy-push.lock');
    writeFileSync(lock, String(process.ppid));
    try {
      const err = sink();
      expect(await migrateCli(env, sink(), err)).toBe(1);
      expect(err.text()).toContain('is in use by process');
    } finally {
      rmSync(lock, { force: true });
    }
  });

  it('names a bad setting and exits 1', async () => {
    const err = sink();
    expect(await migrateCli({ DATABASE_URL: 'mysql://x' }, sink(), err)).toBe(1);
    expect(err.text()).toContain('configuration error: DATABASE_URL');
  });
});
