import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { generateCreditCode } from '@policy-push/core';
import { contacts, enterprises, eq } from '@policy-push/db';
import { createTestDb, type TestDb, testDatabaseUrl } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importEnterprisesCli } from './import-enterprises';

const root = resolve(import.meta.dirname, '../../../..');
let seed = 777;
const creditCode = () => generateCreditCode(() => (seed = (seed * 16807) % 2147483647) / 2147483647);

/** Collects what the command writes. */
const sink = () => {
  const lines: string[] = [];
  return { lines, write: (s: string) => lines.push(...s.split('\n').filter(Boolean)) };
};

describe('pnpm import:enterprises', () => {
  let dir: string;
  // Postgres: the command gets a test database of its own by DATABASE_URL. PGlite: it opens the
  // embedded database under DATA_DIR itself, as it would beside a stopped `pnpm start`.
  let t: TestDb | undefined;
  let env: Record<string, string>;
  const [good, alsoGood] = [creditCode(), creditCode()];
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'import-cli-'));
    if (testDatabaseUrl()) {
      t = await createTestDb();
      env = { DATABASE_URL: t.config.url!, LOG_LEVEL: 'silent' };
    } else env = { DATA_DIR: dir, LOG_LEVEL: 'silent' };
    file = join(dir, 'enterprises.csv');
    writeFileSync(
      file,
      [
        'credit_code,name,industry_section,district,size,contact_name,phone',
        `${good},命令行公司,C,440106,small,赵六,13800138000`,
        `${alsoGood},"逗号, 公司",F,440103,micro,,`,
        `${creditCode()},坏规模,C,440106,giant,,`,
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await t?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports a file in-process, reporting rows as CSV, then updates on a second run', async () => {
    const out = sink();
    const err = sink();
    expect(await importEnterprisesCli([file], env, out, err)).toBe(2);
    expect(out.lines).toEqual([
      'row,credit_code,status,errors',
      `2,${good},created,`,
      `3,${alsoGood},created,`,
      expect.stringMatching(/^4,[0-9A-Z]{18},failed,size:unknown_size$/),
    ]);
    expect(err.lines).toEqual(['created 2, updated 0, failed 1; contacts created 1, updated 0']);

    const again = sink();
    expect(await importEnterprisesCli([file, '--json'], env, again, sink())).toBe(2);
    expect(again.lines.slice(0, 2).map((l) => JSON.parse(l))).toEqual([
      { row: 2, creditCode: good, status: 'updated' },
      { row: 3, creditCode: alsoGood, status: 'updated' },
    ]);
  });

  it('exits 1 for a usage error, a missing file or a bad header', async () => {
    const err = sink();
    expect(await importEnterprisesCli([], env, sink(), err)).toBe(1);
    expect(await importEnterprisesCli([join(dir, 'missing.csv')], env, sink(), err)).toBe(1);
    const headerOnly = join(dir, 'bad-header.csv');
    writeFileSync(headerOnly, 'credit_code,name\n');
    expect(await importEnterprisesCli([headerOnly], env, sink(), err)).toBe(1);
    expect(err.lines).toEqual([
      expect.stringContaining('usage'),
      expect.stringContaining('no such file'),
      expect.stringContaining('industry_section: missing_column'),
    ]);
  });

  // A child process needs a database it can share: PGlite is one process, so Postgres only.
  it.skipIf(!testDatabaseUrl())('runs as its own process against Postgres', { timeout: 120_000 }, async () => {
    const code = creditCode();
    const childFile = join(dir, 'child.csv');
    writeFileSync(childFile, `credit_code,name,industry_section,district,size,email\n${code},子进程公司,C,440106,small,ops@example.org\n`);
    const run = promisify(execFile);
    const { stdout, stderr } = await run(
      join(root, 'node_modules/.bin/tsx'),
      ['services/api/src/cli/import-enterprises.ts', childFile, '--json'],
      {
        cwd: root,
        env: { PATH: process.env.PATH, ...env },
      },
    );
    expect(JSON.parse(stdout.trim())).toEqual({ row: 2, creditCode: code, status: 'created' });
    expect(stderr).toContain('created 1, updated 0, failed 0');
    const [row] = await t!.db.select().from(enterprises).where(eq(enterprises.creditCode, code));
    expect(row).toMatchObject({ name: '子进程公司' });
    expect(await t!.db.select().from(contacts).where(eq(contacts.enterpriseId, row.id))).toEqual([
      expect.objectContaining({ email: 'ops@example.org', consentSource: 'imported' }),
    ]);
  });
});
