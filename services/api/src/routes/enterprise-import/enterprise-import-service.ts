import type { Readable } from 'node:stream';
import { normalizeCreditCode } from '@policy-push/core';
import { type Database, type ImportedContact, type ImportedEnterprise, upsertEnterprises, upsertImportedContacts } from '@policy-push/db';
import type { FieldProblem } from '../../errors';
import { readCsv } from './csv-reader';
import { checkEnterpriseRow, ENTERPRISE_CSV_COLUMNS } from './enterprise-rows';

/** Rows written per transaction: one set-based upsert for the enterprises, one for their contacts. */
export const IMPORT_BATCH_SIZE = 500;

export interface RowReport {
  row: number;
  creditCode: string | null;
  status: 'created' | 'updated' | 'failed';
  errors?: FieldProblem[];
}

export interface ImportTotals {
  created: number;
  updated: number;
  failed: number;
  contacts: { created: number; updated: number };
  /** The line of a malformed record that stopped the reading; null when the whole file was read. */
  stoppedAt: number | null;
}

type Sound = { row: number; creditCode: string; enterprise: ImportedEnterprise; contact: Omit<ImportedContact, 'enterpriseId'> | null };
type Pending = { kind: 'failed'; report: RowReport } | ({ kind: 'sound' } & Sound);

/**
 * Upserts the enterprises (and at most one contact each) of a CSV stream, reporting every row
 * to `onRow` in file order. Each row is checked whole before any of it is written, so a bad row
 * is reported and skipped, never half-written, and never holds up the good ones. Rows are
 * written IMPORT_BATCH_SIZE at a time, each batch in one transaction; what is held in memory is
 * one batch and the set of credit codes seen (to report a code repeated within the file).
 * Throws a 400 invalid_csv, before writing anything, for an empty file or a bad header row.
 */
export async function importEnterprises(
  db: Database,
  csv: Readable,
  onRow: (report: RowReport) => void,
  options: { batchSize?: number } = {},
): Promise<ImportTotals> {
  const batchSize = options.batchSize ?? IMPORT_BATCH_SIZE;
  const totals: ImportTotals = { created: 0, updated: 0, failed: 0, contacts: { created: 0, updated: 0 }, stoppedAt: null };
  const seen = new Set<string>();
  let keepTags = true;
  // Failed rows wait with the sound ones, so that rows are reported in file order.
  let pending: Pending[] = [];

  const fail = (row: number, creditCode: string | null, errors: FieldProblem[]) => {
    pending.push({ kind: 'failed', report: { row, creditCode, status: 'failed', errors } });
  };

  async function flush() {
    const batch = pending;
    pending = [];
    const sound = batch.filter((p): p is Extract<Pending, { kind: 'sound' }> => p.kind === 'sound');
    const written = await writeBatch(db, sound, keepTags);
    totals.contacts.created += written.contacts.created;
    totals.contacts.updated += written.contacts.updated;
    for (const p of batch) {
      const report: RowReport =
        p.kind === 'failed'
          ? p.report
          : { row: p.row, creditCode: p.creditCode, status: written.created.has(p.creditCode) ? 'created' : 'updated' };
      if (report.status === 'failed') totals.failed++;
      else totals[report.status]++;
      onRow(report);
    }
  }

  const { stoppedAt } = await readCsv(csv, { ...ENTERPRISE_CSV_COLUMNS, otherColumns: 'refuse' }, async ({ row, cells, problems }) => {
    keepTags = !('tags' in cells);
    if (problems.length) fail(row, normalizeCreditCode(cells.credit_code ?? '') || null, problems);
    else {
      const checked = checkEnterpriseRow(cells, { tags: !keepTags });
      if (!checked.ok) fail(row, checked.creditCode, checked.errors);
      else if (seen.has(checked.creditCode)) fail(row, checked.creditCode, [{ path: 'credit_code', code: 'duplicate_in_file' }]);
      else {
        seen.add(checked.creditCode);
        pending.push({ kind: 'sound', row, creditCode: checked.creditCode, enterprise: checked.enterprise, contact: checked.contact });
      }
    }
    if (pending.length >= batchSize) await flush();
  });
  await flush();
  totals.stoppedAt = stoppedAt;
  return totals;
}

/** One transaction: the enterprises, then the contacts of the rows that have one. */
async function writeBatch(
  db: Database,
  sound: Sound[],
  keepTags: boolean,
): Promise<{ created: Set<string>; contacts: { created: number; updated: number } }> {
  if (sound.length === 0) return { created: new Set(), contacts: { created: 0, updated: 0 } };
  return db.transaction(async (tx) => {
    const enterprises = await upsertEnterprises(
      tx,
      sound.map((s) => s.enterprise),
      { keepTags },
    );
    const ids = new Map(enterprises.map((e) => [e.creditCode, e.id]));
    const contacts = sound.flatMap((s) => (s.contact ? [{ ...s.contact, enterpriseId: ids.get(s.creditCode)! }] : []));
    return {
      created: new Set(enterprises.filter((e) => e.created).map((e) => e.creditCode)),
      contacts: await upsertImportedContacts(tx, contacts),
    };
  });
}
