import { get as httpGet, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '@policy-push/core';
import { rowsOf, sql } from '@policy-push/db';
import { type ReachFixture, seedReachFixture } from '@policy-push/testkit';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import { buildApp } from '../../app';
import { deliveriesCsv } from './deliveries-export';

const BOM = '\uFEFF';
const HEADER =
  'delivery_id,created_at,policy_id,doc_number,policy_title,policy_version,kind,enterprise_id,contact_id,channel,status,attempts,provider,error_code,provider_message_id,sent_at,finished_at,first_opened_at';

/**
 * `n` deliveries of a new policy to one contact, one per version (the unique key allows that),
 * written in one statement. The policy's title is long (`titleChars`), so the export is many
 * megabytes: more than the kernel's socket buffers can hold for a client that stops reading.
 */
async function manyDeliveries(h: TestApp, f: ReachFixture, n: number, titleChars = 10): Promise<{ policyId: number; lastId: number }> {
  const [policy] = rowsOf<{ id: string }>(
    await h.t.db.execute(sql`
      insert into policies (department_id, doc_number, title, summary, url, category_ids, status)
      values (${f.departmentId}, ${`BULK-${f.policyId}-${n}`}, ${'批量导出测试政策标题'.repeat(Math.ceil(titleChars / 10)).slice(0, titleChars)}, '导出', 'https://policy.example.gov.cn/bulk', array[${f.categoryId}::bigint], 'published')
      returning id`),
  );
  const [last] = rowsOf<{ id: string }>(
    await h.t.db.execute(sql`
      with made as (
        insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, sent_at, provider_message_id)
        select ${policy.id}, g, d.enterprise_id, d.contact_id, 'sms', 'update', 'sent', now(), 'SM' || lpad(g::text, 32, '0')
        from generate_series(1, ${n}) g, (select enterprise_id, contact_id from deliveries where id = ${f.deliveries.e1sms}) d
        returning id
      )
      select max(id) as id from made`),
  );
  return { policyId: Number(policy.id), lastId: Number(last.id) };
}

describe('the delivery export', () => {
  let h: TestApp;
  let f: ReachFixture;
  beforeAll(async () => {
    h = await buildTestApp();
    f = await seedReachFixture(h.t.db);
  });
  afterAll(() => h.close());

  it('is CSV for Excel: BOM, a header, CRLF records, the filters applied, no phone number or email address', async () => {
    await h.t.db.execute(sql`update policies set title = '=HYPERLINK("https://evil.example")' where id = ${f.policyId}`);
    const res = await h.app.inject({ method: 'GET', url: `/v1/deliveries/export?policyId=${f.policyId}`, headers: h.auth });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="deliveries-\d{8}-\d{6}\.csv"$/);
    expect(res.body.startsWith(BOM + HEADER + '\r\n')).toBe(true);
    expect(res.body).not.toMatch(/@example\.com|\+86|13800138000/);

    const records: Record<string, string>[] = parse(res.body, { bom: true, columns: true });
    expect(records.map((r) => Number(r.delivery_id))).toEqual(Object.values(f.deliveries).sort((a, b) => a - b));
    const e2sms = records.find((r) => Number(r.delivery_id) === f.deliveries.e2sms)!;
    expect(e2sms).toMatchObject({ channel: 'sms', status: 'undelivered', error_code: '30005', kind: 'policy', policy_version: '1' });
    expect(e2sms.sent_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    // A title that Excel would run as a formula is written as text.
    expect(e2sms.policy_title).toBe(`'=HYPERLINK("https://evil.example")`);
    const e7 = records.find((r) => Number(r.delivery_id) === f.deliveries.e7email)!;
    expect(e7.first_opened_at).not.toBe('');

    const failed = await h.app.inject({
      method: 'GET',
      url: `/v1/deliveries/export?policyId=${f.policyId}&status=failed`,
      headers: h.auth,
    });
    expect(parse(failed.body, { bom: true, columns: true }).map((r: any) => Number(r.delivery_id))).toEqual([f.deliveries.e2wechat]);
    const none = await h.app.inject({ method: 'GET', url: `/v1/deliveries/export?policyId=${f.policyId}&provider=smtp`, headers: h.auth });
    expect(none.body).toBe(BOM + HEADER + '\r\n');
  });

  it('reads a page only when the reader has taken the rows before it', async () => {
    const bulk = await manyDeliveries(h, f, 5_000);
    const csv = deliveriesCsv(h.t.db, { policyId: bulk.policyId }, { pageSize: 500 });
    const reader = csv[Symbol.asyncIterator]();
    const first = String((await reader.next()).value);
    expect(first.startsWith(BOM + HEADER)).toBe(true);
    // The reader holds the stream here, after its first chunk. A change to the last row now shows in
    // the export: its page had not been read yet.
    await h.t.db.execute(sql`update deliveries set status = 'delivered' where id = ${bulk.lastId}`);
    let text = first;
    for (let next = await reader.next(); !next.done; next = await reader.next()) text += String(next.value);
    const records = parse(text, { bom: true, columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(5_000);
    expect(records.at(-1)).toMatchObject({ delivery_id: String(bulk.lastId), status: 'delivered' });
  });

  it('streams to a real client: the first rows arrive before the export is done', async () => {
    // About 1 KB a row: 20,000 rows are some 20 MB, several times what the socket buffers hold.
    const bulk = await manyDeliveries(h, f, 20_000, 300);
    const log: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        log.push(String(chunk));
        done();
      },
    });
    const app = await buildApp({ ...h.app.deps, logger: createLogger({ level: 'info' }, sink) });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const res = await new Promise<IncomingMessage>((resolve, reject) =>
        httpGet({ host: '127.0.0.1', port, path: `/v1/deliveries/export?policyId=${bulk.policyId}`, headers: h.auth }, resolve).on(
          'error',
          reject,
        ),
      );
      expect(res.statusCode).toBe(200);
      expect(res.headers['transfer-encoding']).toBe('chunked');
      expect(res.headers['content-length']).toBeUndefined();
      // Read until the header and the first record are in, then stop reading.
      const head: Buffer[] = [];
      await new Promise<void>((resolve) => {
        const take = (chunk: Buffer) => {
          head.push(chunk);
          if (Buffer.concat(head).toString('utf8').split('\r\n').length > 2) {
            res.off('data', take);
            res.pause();
            resolve();
          }
        };
        res.on('data', take);
      });
      const first = Buffer.concat(head);
      expect(first.toString('utf8')).toMatch(new RegExp(`^${BOM}${HEADER}\r\n[0-9]+,`));
      // The client has its first bytes and reads no further: the server is still at work, held
      // back by the connection, so the export has not finished and its last rows are not read yet.
      expect(log.join('')).not.toContain('deliveries exported');
      await h.t.db.execute(sql`update deliveries set status = 'delivered' where id = ${bulk.lastId}`);

      const chunks: Buffer[] = [first];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = new Promise((resolve) => res.on('end', resolve));
      res.resume();
      await ended;
      const records = parse(Buffer.concat(chunks).toString('utf8'), { bom: true, columns: true }) as Record<string, string>[];
      expect(records).toHaveLength(20_000);
      expect(records.at(-1)).toMatchObject({ delivery_id: String(bulk.lastId), status: 'delivered' });
      expect(chunks.length).toBeGreaterThan(2);
      expect(log.join('')).toContain('"rows":20000');
    } finally {
      await app.close();
    }
  });
});
