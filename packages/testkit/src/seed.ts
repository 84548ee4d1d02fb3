import { type Database, insertPolicyWithPush, type Policy, type Push, rowsOf } from '@policy-push/db';
import { sql } from 'drizzle-orm';

let run = 0;

/**
 * A department, a category, and `enterprises` subscribers with one contact each, written set-based
 * (fast enough for thousands). Contacts have an email only, in the reserved example.com domain.
 */
export async function seedSubscribers(db: Database, enterprises: number): Promise<{ departmentId: number; categoryId: number }> {
  const n = `${process.pid}-${++run}`;
  const [dept] = rowsOf<{ id: string }>(
    await db.execute(
      sql`insert into departments (code, name_zh, name_en, sms_signature) values (${'seed-' + n}, '测试局', 'Test', '广州测试') returning id`,
    ),
  );
  const [cat] = rowsOf<{ id: string }>(
    await db.execute(sql`insert into categories (code, name_zh, name_en) values (${'seed-' + n}, '测试', 'Test') returning id`),
  );
  await db.execute(sql`
    with e as (
      insert into enterprises (credit_code, name, industry_section, district, size)
      select ${'S' + n + '-'} || g, '企业' || g, 'C', '440106', 'small' from generate_series(1, ${enterprises}) g
      returning id
    ), c as (
      insert into contacts (enterprise_id, email, channels) select id, 'c' || id || '@example.com', '{email}' from e
    )
    insert into subscriptions (enterprise_id, category_ids) select id, array[${Number(cat.id)}::bigint] from e`);
  return { departmentId: Number(dept.id), categoryId: Number(cat.id) };
}

/** A published policy for the seeded category, and its push, as the API would write them. */
export async function seedPolicy(
  db: Database,
  s: { departmentId: number; categoryId: number },
  priority: 'normal' | 'urgent' = 'normal',
): Promise<{ policy: Policy; push: Push }> {
  return db.transaction((tx) =>
    insertPolicyWithPush(tx, {
      departmentId: s.departmentId,
      docNumber: `SEED-${process.pid}-${++run}`,
      title: '测试政策',
      summary: '测试摘要',
      url: 'https://policy.example.gov.cn/test',
      categoryIds: [s.categoryId],
      priority,
    }),
  );
}
