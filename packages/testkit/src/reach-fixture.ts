// A known world for reach tests: eight enterprises whose deliveries of one policy sit in every
// stage of the funnel, written with SQL for exact control. The tests hand-compute what the funnel
// must say about it (see packages/db/test/reach.test.ts). Every call makes its own department,
// category and policy, so several fixtures can share a database.
import { type Database, recordOpen, rowsOf } from '@policy-push/db';
import { sql } from 'drizzle-orm';

let run = 0;

export interface ReachFixture {
  departmentId: number;
  categoryId: number;
  policyId: number;
  /** e1 … e8, and e9 (only an update notice: not targeted). */
  enterprises: Record<string, number>;
  /** Named deliveries: e1sms, e1email, e2wechat, e2sms, e3email, e4sms, e5sms, e6email, e7email, e8wechat, e9update. */
  deliveries: Record<string, number>;
}

const one = async (db: Database, query: ReturnType<typeof sql>) => Number(rowsOf<{ id: string | number }>(await db.execute(query))[0].id);

/**
 * The fixture (district, section, size; deliveries):
 * - e1 440106 C small: sms delivered and opened; email sent (accepted by SMTP)
 * - e2 440106 C medium: wechat failed 43004, its sms fallback undelivered 30005
 * - e3 440104 G small: email pending
 * - e4 440104 G micro: sms suppressed
 * - e5 440111 C small: sms merged into e1's (same phone)
 * - e6 440111 C small: email held for a digest
 * - e7 440106 C small: email sent, opened twice
 * - e8 440112 F large: wechat delivered by a receipt that came before the ack (sent_at null)
 * - e9 440112 F large: only an update notice (kind update): not in the funnel
 */
export async function seedReachFixture(
  db: Database,
  opts: { departmentId?: number; categoryId?: number; publishAt?: Date } = {},
): Promise<ReachFixture> {
  const n = `${process.pid}-${++run}-${Date.now().toString(36)}`;
  const departmentId =
    opts.departmentId ??
    (await one(
      db,
      sql`insert into departments (code, name_zh, name_en, sms_signature) values (${'reach-' + n}, '测试局', 'Test Bureau', '广州测试') returning id`,
    ));
  const categoryId =
    opts.categoryId ??
    (await one(db, sql`insert into categories (code, name_zh, name_en) values (${'reach-' + n}, '测试类', 'Test') returning id`));
  const policyId = await one(
    db,
    sql`insert into policies (department_id, doc_number, title, summary, url, interpretation_urls, category_ids, status, version, publish_at)
      values (${departmentId}, ${'REACH-' + n}, '关于支持中小企业数字化转型的若干措施', '补助', 'https://policy.example.gov.cn/reach',
        array['https://policy.example.gov.cn/reach/jiedu'], array[${categoryId}::bigint], 'published', 1,
        ${(opts.publishAt ?? new Date()).toISOString()}::timestamptz)
      returning id`,
  );

  const enterprises: Record<string, number> = {};
  const contacts: Record<string, number> = {};
  const shape: Record<string, [string, string, string]> = {
    e1: ['440106', 'C', 'small'],
    e2: ['440106', 'C', 'medium'],
    e3: ['440104', 'G', 'small'],
    e4: ['440104', 'G', 'micro'],
    e5: ['440111', 'C', 'small'],
    e6: ['440111', 'C', 'small'],
    e7: ['440106', 'C', 'small'],
    e8: ['440112', 'F', 'large'],
    e9: ['440112', 'F', 'large'],
  };
  for (const [name, [district, section, size]] of Object.entries(shape)) {
    enterprises[name] = await one(
      db,
      sql`insert into enterprises (credit_code, name, industry_section, district, size)
        values (${`R${n}-${name}`}, ${'企业' + name}, ${section}, ${district}, ${size}) returning id`,
    );
    contacts[name] = await one(
      db,
      sql`insert into contacts (enterprise_id, phone, email, wechat_openid)
        values (${enterprises[name]}, '+8613800138000', ${name + '@example.com'}, ${'openid-fixture-' + name}) returning id`,
    );
  }
  // e1 has a second contact for email.
  contacts.e1b = await one(db, sql`insert into contacts (enterprise_id, email) values (${enterprises.e1}, 'e1b@example.com') returning id`);

  const deliveries: Record<string, number> = {};
  const add = async (
    name: string,
    who: string,
    contact: string,
    channel: string,
    status: string,
    extra: { sent?: boolean; errorCode?: string; duplicateOf?: string; fallbackOf?: string; kind?: string } = {},
  ) => {
    deliveries[name] = await one(
      db,
      sql`insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, error_code, sent_at,
          duplicate_of, fallback_of, matched_category_ids, finished_at)
        values (${policyId}, 1, ${enterprises[who]}, ${contacts[contact]}, ${channel}, ${extra.kind ?? 'policy'}, ${status},
          ${extra.errorCode ?? null}, ${extra.sent ? sql`now()` : null},
          ${extra.duplicateOf ? deliveries[extra.duplicateOf] : null}, ${extra.fallbackOf ? deliveries[extra.fallbackOf] : null},
          array[${categoryId}::bigint], ${['pending', 'held', 'sent', 'merged'].includes(status) ? null : sql`now()`})
        returning id`,
    );
  };
  await add('e1sms', 'e1', 'e1', 'sms', 'delivered', { sent: true });
  await add('e1email', 'e1', 'e1b', 'email', 'sent', { sent: true });
  await add('e2wechat', 'e2', 'e2', 'wechat', 'failed', { errorCode: '43004' });
  await add('e2sms', 'e2', 'e2', 'sms', 'undelivered', { sent: true, errorCode: '30005', fallbackOf: 'e2wechat' });
  await add('e3email', 'e3', 'e3', 'email', 'pending');
  await add('e4sms', 'e4', 'e4', 'sms', 'suppressed', { errorCode: 'contact_unreachable' });
  await add('e5sms', 'e5', 'e5', 'sms', 'merged', { duplicateOf: 'e1sms' });
  await add('e6email', 'e6', 'e6', 'email', 'held');
  await add('e7email', 'e7', 'e7', 'email', 'sent', { sent: true });
  await add('e8wechat', 'e8', 'e8', 'wechat', 'delivered');
  await add('e9update', 'e9', 'e9', 'sms', 'delivered', { sent: true, kind: 'update' });
  await db.execute(sql`update deliveries set digest_period = 'daily' where id = ${deliveries.e6email}`);

  const open = (name: string) =>
    db.transaction((tx) => recordOpen(tx, { deliveryId: deliveries[name], channel: name.replace(/^e\d+/, ''), at: new Date() }));
  await open('e1sms');
  await open('e7email');
  await open('e7email');
  return { departmentId, categoryId, policyId, enterprises, deliveries };
}
