import { Type } from 'typebox';
import { ErrorResponse } from '../../schemas/common';

/** Successful rows listed in a report; failed rows are always all listed, and the counts cover every row. */
export const REPORTED_SUCCESS_LIMIT = 1000;

export const csvErrorResponses = {
  413: ErrorResponse,
  415: ErrorResponse,
};

export const RowProblem = Type.Object({
  path: Type.String({ description: 'the column (or `row` for the record as a whole)' }),
  code: Type.String({ description: 'the same code the JSON API gives for the field, e.g. invalid_credit_code, required, pattern' }),
});

export const Row = Type.Integer({
  minimum: 2,
  description: "the record's line in the file, the header being line 1 (its last line, if a quoted cell holds line breaks)",
});

const ImportedRow = Type.Object({
  row: Row,
  creditCode: Type.Union([Type.String(), Type.Null()], { description: 'normalised as stored; null when the cell was empty' }),
  status: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('failed')]),
  errors: Type.Optional(Type.Array(RowProblem, { description: 'failed rows only: every column at fault, one problem each' })),
});

export const StoppedAt = Type.Union([Type.Integer(), Type.Null()], {
  description:
    'the line of a malformed record (a quote that does not close where it should) that stopped the reading; the rows before it are ' +
    'imported, none after it are read; null when the whole file was read. Fix the line and import the file again: rows already in ' +
    'are updated, not duplicated',
});

export const EnterpriseImportReport = Type.Object(
  {
    created: Type.Integer({ description: 'enterprises added' }),
    updated: Type.Integer({ description: 'enterprises that existed (same credit code) and were updated' }),
    failed: Type.Integer({ description: 'rows refused; nothing of them was written' }),
    contacts: Type.Object({ created: Type.Integer(), updated: Type.Integer() }, { description: 'contacts added and updated' }),
    stoppedAt: StoppedAt,
    rows: Type.Array(ImportedRow, {
      description: `in file order: every failed row, and the first ${REPORTED_SUCCESS_LIMIT.toLocaleString('en')} created or updated rows (the counts cover all)`,
    }),
  },
  { description: 'One entry per data row in the counts; the per-row list is bounded so that a 100,000-row report stays small.' },
);

export const IMPORT_DESCRIPTION = `Creates or updates enterprises, with at most one contact each, from a CSV file sent as the body
(\`Content-Type: text/csv\`, UTF-8, comma-separated, a BOM is fine). The file is read as a stream and written in batches of 500 rows,
one transaction each, so files of 100,000 rows and more (up to 200 MB) are fine. \`pnpm import:enterprises file.csv\` does the same
from the command line.

A header row is required. Columns, in any order (names are case-insensitive):

| column | required | content |
| --- | --- | --- |
| credit_code | yes | unified social credit code; normalised (trimmed, full-width to half-width, upper case) and checked |
| name | yes | the enterprise's name |
| industry_section | yes | GB/T 4754 section letter, A–T |
| industry_division | no | 2-digit GB/T 4754 division inside the section; empty clears it |
| district | yes | GB/T 2260 code of a Guangzhou district, e.g. 440106 |
| size | yes | large, medium, small or micro |
| tags | no | \`|\`-separated labels, e.g. \`高新技术企业|规上工业\`; replaces the stored tags (empty = none). Without the column, an update keeps them |
| contact_name | no | the contact person |
| phone | no | a mobile number, read as mainland China unless it starts with +country; stored in E.164 |
| email | no | an email address |
| wechat_openid | no | the contact's openid under the Official Account |
| locale | no | zh-Hans, zh-Hant or en |
| channels | no | \`|\`-separated channel order, e.g. \`sms|email\` (wechat, sms, email) |

One row is one enterprise. A credit code already stored updates that enterprise; the same credit code twice in one file is an error
on the second row (\`duplicate_in_file\`). A row with any contact column describes one contact: it updates the enterprise's contact
with the same phone, else the same email, else the same openid (empty cells keep the stored values), or else is added, with
consent source \`imported\`. A contact needs a phone, an email or an openid (\`no_address\`).

Each row is checked whole, by the same rules as POST /v1/enterprises and POST /v1/enterprises/{id}/contacts, before any of it is
written: a bad row is reported with every column at fault and skipped, and the good rows are imported. An empty file, or a header row
missing a required column, naming an unknown one or naming one twice, is a 400 \`invalid_csv\` naming the column, and nothing is
written.`;
