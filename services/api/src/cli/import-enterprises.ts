// `pnpm import:enterprises <file.csv> [--json]`: POST /v1/enterprises/import from the command line,
// without the server. Reads the configuration as the server does (DATABASE_URL, or the embedded
// database under DATA_DIR: stop `pnpm start` first, PGlite allows one process), migrates, imports.
// Prints one line per row to stdout, as CSV (row,credit_code,status,errors) or with --json as JSON
// lines, and the totals to stderr. Exit code: 0 every row imported, 2 some rows failed or the file
// stopped at a malformed line, 1 nothing imported (bad file, header or configuration).
import { createReadStream } from 'node:fs';
import { createDb, migrate } from '@policy-push/db';
import { ApiError } from '../errors';
import { importEnterprises, type RowReport } from '../routes/enterprise-import/enterprise-import-service';
import { commandDb, type Output, readConfig, runAsScript } from './cli';

const USAGE = 'usage: pnpm import:enterprises <file.csv> [--json]';

/** The whole command, with its environment and outputs passed in; resolves to the exit code. */
export async function importEnterprisesCli(
  args: string[],
  env: Record<string, string | undefined>,
  out: Output,
  err: Output,
): Promise<number> {
  const json = args.includes('--json');
  const files = args.filter((a) => a !== '--json');
  if (files.length !== 1 || files[0].startsWith('-')) {
    err.write(`${USAGE}\n`);
    return 1;
  }
  const config = readConfig(env, err);
  if (!config) return 1;
  const dbConfig = commandDb(config, 'import', 2);
  const db = await createDb(dbConfig);
  try {
    await migrate(dbConfig, db);
    let headerWritten = json;
    const totals = await importEnterprises(db.db, createReadStream(files[0]), (row) => {
      if (!headerWritten) {
        out.write('row,credit_code,status,errors\n');
        headerWritten = true;
      }
      out.write(json ? `${JSON.stringify(row)}\n` : csvLine(row));
    });
    err.write(
      `created ${totals.created}, updated ${totals.updated}, failed ${totals.failed}; ` +
        `contacts created ${totals.contacts.created}, updated ${totals.contacts.updated}\n`,
    );
    if (totals.stoppedAt !== null) {
      err.write(`stopped at line ${totals.stoppedAt}: a quote does not close where it should; the lines after it were not read\n`);
    }
    return totals.failed > 0 || totals.stoppedAt !== null ? 2 : 0;
  } catch (e) {
    if (e instanceof ApiError) {
      err.write(`${e.message}${e.fields.length ? ` (${e.fields.map((f) => `${f.path}: ${f.code}`).join(', ')})` : ''}\n`);
      return 1;
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      err.write(`no such file: ${files[0]}\n`);
      return 1;
    }
    throw e;
  } finally {
    await db.close();
  }
}

function csvLine(r: RowReport): string {
  const errors = (r.errors ?? []).map((e) => `${e.path}:${e.code}`).join('|');
  return [String(r.row), r.creditCode ?? '', r.status, errors].map(csvCell).join(',') + '\n';
}

// RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled.
const csvCell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

runAsScript(import.meta.url, () => importEnterprisesCli(process.argv.slice(2), process.env, process.stdout, process.stderr));
