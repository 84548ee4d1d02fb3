import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { ApiError, type FieldProblem } from '../../errors';

export interface CsvLayout {
  required: readonly string[];
  optional: readonly string[];
  /** Columns outside both lists: refused (a misspelt optional column would be lost silently) or ignored. */
  otherColumns: 'refuse' | 'ignore';
}

export interface CsvRecord {
  /** The line of the file the record is on (its last line, when a quoted cell holds line breaks); the header is line 1. */
  row: number;
  /** Trimmed cells by lower-case column name; '' for an empty cell. */
  cells: Record<string, string>;
  /** Problems found before any field was read: a wrong number of cells, a NUL character. */
  problems: FieldProblem[];
}

export interface CsvReadResult {
  /** The line of a malformed record (a stray quote) that stopped the reading; null when the whole file was read. */
  stoppedAt: number | null;
}

const invalidCsv = (fields: FieldProblem[], message: string) => new ApiError(400, 'invalid_csv', message, fields);

/**
 * Reads a CSV stream record by record, awaiting `onRecord` for each, so a slow consumer (a
 * database batch) slows the reading instead of filling memory. The header row is checked before
 * the first record is handed on: an empty file, or a header without a required column, is a
 * 400 invalid_csv and nothing has been handed on.
 *
 * A malformed record (quotes that do not close where they should) stops the reading at its line:
 * the parser cannot tell where the next good record starts after one, and guessing would import
 * rows shifted or merged. Records before it have been handed on.
 */
export async function readCsv(
  body: Readable,
  layout: CsvLayout,
  onRecord: (record: CsvRecord) => Promise<void> | void,
): Promise<CsvReadResult> {
  let stoppedAt: number | null = null;
  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    // A quote inside an unquoted cell (广州"明珠"公司) is kept as text.
    relax_quotes: true,
    // A record with the wrong number of cells fails on its own; it does not stop the file.
    relax_column_count: true,
    info: true,
    // Called as the parser meets the error, before any later record is handed on: those are
    // recognised by their line and dropped.
    skip_records_with_error: true,
    on_skip: (err) => {
      stoppedAt ??= Number(err?.lines ?? 0);
      return undefined;
    },
  });
  body.pipe(parser);
  body.on('error', (err) => parser.destroy(err));

  let columns: string[] | null = null;
  // csv-parse 7 counts a CRLF inside a quoted cell as two lines; the row numbers make up for it.
  let doubleCounted = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (stoppedAt !== null && info.lines >= stoppedAt) break;
      for (const cell of record) if (cell.includes('\r\n')) doubleCounted += cell.split('\r\n').length - 1;
      const row = info.lines - doubleCounted;
      if (!columns) {
        columns = checkHeader(record, layout);
        continue;
      }
      if (record.every((cell) => cell === '')) continue; // a row of empty cells, as spreadsheets write blank rows
      await onRecord(toRecord(record, columns, row));
    }
  } finally {
    // What follows a malformed line is never read: csv-body.ts drains it as the answer goes out.
    body.unpipe(parser);
  }
  if (!columns) {
    if (stoppedAt !== null)
      throw invalidCsv([{ path: 'header', code: 'malformed_csv' }], `the header row is malformed (line ${stoppedAt})`);
    throw invalidCsv([{ path: 'body', code: 'empty_file' }], 'the file is empty: a header row is required');
  }
  return { stoppedAt };
}

function checkHeader(header: string[], layout: CsvLayout): string[] {
  const columns = header.map((name) => name.toLowerCase());
  const known = new Set([...layout.required, ...layout.optional]);
  const fields: FieldProblem[] = [];
  for (const name of layout.required) if (!columns.includes(name)) fields.push({ path: name, code: 'missing_column' });
  columns.forEach((name, i) => {
    if (columns.indexOf(name) !== i) fields.push({ path: name, code: 'duplicate_column' });
    else if (!known.has(name) && layout.otherColumns === 'refuse') fields.push({ path: name || `column ${i + 1}`, code: 'unknown_column' });
  });
  if (fields.length) {
    const expected = `columns: ${layout.required.join(', ')} (required)${layout.optional.length ? `, ${layout.optional.join(', ')}` : ''}`;
    throw invalidCsv(fields, `header row: ${fields.map((f) => `${f.path} ${f.code.replace('_', ' ')}`).join('; ')}. Expected ${expected}`);
  }
  return columns;
}

function toRecord(record: string[], columns: string[], row: number): CsvRecord {
  const problems: FieldProblem[] = [];
  if (record.length !== columns.length) problems.push({ path: 'row', code: 'wrong_column_count' });
  const cells: Record<string, string> = {};
  columns.forEach((name, i) => {
    const cell = record[i] ?? '';
    // Postgres text cannot hold NUL: one in a cell would fail the whole batch it is written in.
    // No column is multi-line: a line break in a name would go verbatim into an SMS (text-guard.ts).
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001F]/.test(cell)) problems.push({ path: name, code: 'invalid_character' });
    cells[name] = cell;
  });
  return { row, cells, problems };
}
