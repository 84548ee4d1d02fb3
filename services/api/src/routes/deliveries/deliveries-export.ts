// The delivery log as CSV (issue 5: "a million rows without buffering; Excel-friendly UTF-8 with
// BOM"). Rows come in keyset pages along the primary key (the same on Postgres and PGlite, and
// each page as cheap as the first), one row at a time into csv-stringify, whose stream is the
// reply: a page is read only when the client has taken the rows before it, so memory holds about
// one page however large the export. The export stops at the newest delivery when it began.
// Never an address: the contact id names the recipient.
import { Readable } from 'node:stream';
import { type Database, type DeliveryExportRow, type DeliveryFilter, exportDeliveryPage, latestDeliveryId } from '@policy-push/db';
import { stringify } from 'csv-stringify';

export const EXPORT_PAGE_SIZE = 2_000;

const COLUMNS: { key: keyof DeliveryExportRow; header: string }[] = [
  { key: 'id', header: 'delivery_id' },
  { key: 'createdAt', header: 'created_at' },
  { key: 'policyId', header: 'policy_id' },
  { key: 'docNumber', header: 'doc_number' },
  { key: 'policyTitle', header: 'policy_title' },
  { key: 'policyVersion', header: 'policy_version' },
  { key: 'kind', header: 'kind' },
  { key: 'enterpriseId', header: 'enterprise_id' },
  { key: 'contactId', header: 'contact_id' },
  { key: 'channel', header: 'channel' },
  { key: 'status', header: 'status' },
  { key: 'attempts', header: 'attempts' },
  { key: 'provider', header: 'provider' },
  { key: 'errorCode', header: 'error_code' },
  { key: 'providerMessageId', header: 'provider_message_id' },
  { key: 'sentAt', header: 'sent_at' },
  { key: 'finishedAt', header: 'finished_at' },
  { key: 'firstOpenedAt', header: 'first_opened_at' },
];

// A cell that starts with = + - @ is a formula to Excel (CSV injection): such text (a policy
// title, say) is prefixed with an apostrophe, which Excel shows as plain text. Numbers stay.
const guard = (value: string) => (/^[=+\-@\t\r]/.test(value) && !/^-?\d+(\.\d+)?$/.test(value) ? `'${value}` : value);

async function* pages(db: Database, filter: DeliveryFilter, pageSize: number, onDone: (rows: number) => void) {
  const upto = await latestDeliveryId(db);
  let after = 0;
  let rows = 0;
  for (;;) {
    const page = await exportDeliveryPage(db, filter, { after, upto, limit: pageSize });
    for (const row of page) yield row;
    rows += page.length;
    if (page.length < pageSize) break;
    after = page[page.length - 1].id;
  }
  onDone(rows);
}

/** The export as a byte stream: BOM, header, one CRLF-ended record per delivery. */
export function deliveriesCsv(
  db: Database,
  filter: DeliveryFilter,
  opts: { pageSize?: number; onDone?: (rows: number) => void } = {},
): Readable {
  const source = Readable.from(pages(db, filter, opts.pageSize ?? EXPORT_PAGE_SIZE, opts.onDone ?? (() => {})));
  const csv = stringify({
    bom: true,
    header: true,
    columns: COLUMNS,
    record_delimiter: 'windows',
    cast: { date: (d) => d.toISOString(), string: guard },
  });
  source.on('error', (err) => csv.destroy(err));
  return source.pipe(csv);
}
