// The demo data set: the reference data (departments, categories) and a few thousand generated
// enterprises with valid credit codes, contacts and subscriptions. Every address is one that can
// never reach a real person: phones in the North American 555-01xx fictional range, emails at
// example.com, WeChat openids that no Official Account issued.
import {
  categories as referenceCategories,
  departments as referenceDepartments,
  districts,
  enterpriseSizes,
  generateCreditCode,
  industrySections,
} from '@policy-push/core';
import { categories, contacts, type Database, departments, enterprises, serviceGroups, subscriptions, eq, sql } from '@policy-push/db';

const TAGS = ['高新技术企业', '规上工业', '专精特新', '外资企业', '初创企业', '小微企业'];
const NAME_WORDS = ['华南', '珠江', '羊城', '穗通', '南粤', '天河', '越秀', '白云', '黄埔', '番禺', '岭南', '花城'];
const TRADES = ['科技', '制造', '贸易', '物流', '餐饮', '医药', '软件', '建设', '咨询', '文化'];
const AREA_CODES = ['202', '212', '312', '415', '617'];
const BATCH = 500;

/** A small deterministic generator (Park–Miller), so the demo set is the same on every machine. */
function seeded(seed: number) {
  let s = seed;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  return { random, pick };
}

export async function demoDataPresent(db: Database): Promise<boolean> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(enterprises);
  return row.n > 0;
}

export async function seedDemoData(db: Database, enterpriseCount = 3000): Promise<{ enterprises: number; contacts: number }> {
  const { random, pick } = seeded(20201231);
  await db
    .insert(departments)
    .values(referenceDepartments.map((d) => ({ ...d })))
    .onConflictDoNothing();
  for (const c of referenceCategories) {
    const parent = c.parent ? (await db.select({ id: categories.id }).from(categories).where(eq(categories.code, c.parent)))[0] : undefined;
    await db
      .insert(categories)
      .values({ code: c.code, parentId: parent?.id ?? null, nameZh: c.nameZh, nameEn: c.nameEn })
      .onConflictDoNothing();
  }
  const categoryIds = (await db.select({ id: categories.id }).from(categories)).map((c) => c.id);
  const departmentIds = (await db.select({ id: departments.id }).from(departments)).map((d) => d.id);

  let contactCount = 0;
  for (let start = 0; start < enterpriseCount; start += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, enterpriseCount - start) }, (_, i) => {
      const section = pick(industrySections);
      const from = Number(section.divisionFrom);
      const division =
        random() < 0.6 ? String(from + Math.floor(random() * (Number(section.divisionTo) - from + 1))).padStart(2, '0') : null;
      const district = pick(districts);
      return {
        creditCode: generateCreditCode(random),
        name: `广州${pick(NAME_WORDS)}${pick(TRADES)}有限公司${start + i + 1}`,
        industrySection: section.code,
        industryDivision: division,
        district: district.code,
        size: pick(enterpriseSizes).code,
        tags: TAGS.filter(() => random() < 0.15),
      };
    });
    const inserted = await db.insert(enterprises).values(rows).onConflictDoNothing().returning({ id: enterprises.id });
    const contactRows = inserted.flatMap(({ id }) =>
      Array.from({ length: random() < 0.3 ? 2 : 1 }, () => {
        const n = ++contactCount;
        const has = { phone: random() < 0.8, email: random() < 0.7, wechat: random() < 0.5 };
        return {
          enterpriseId: id,
          name: `联系人${n}`,
          // One accountant's phone often serves many enterprises: 450 numbers are shared on purpose.
          phone: has.phone || (!has.email && !has.wechat) ? `+1${pick(AREA_CODES)}55501${String(10 + Math.floor(random() * 90))}` : null,
          email: has.email ? `contact${n}@example.com` : null,
          wechatOpenid: has.wechat ? `demo-openid-${n}` : null,
          locale: random() < 0.9 ? 'zh-Hans' : pick(['zh-Hant', 'en']),
          channels: pick([
            ['wechat', 'sms', 'email'],
            ['sms', 'wechat', 'email'],
            ['email', 'sms', 'wechat'],
          ]),
        };
      }),
    );
    await db.insert(contacts).values(contactRows);
    await db.insert(subscriptions).values(
      inserted.map(({ id }) => ({
        enterpriseId: id,
        categoryIds: categoryIds.filter(() => random() < 0.25).slice(0, 3),
        departmentIds: random() < 0.2 ? [pick(departmentIds)] : [],
        frequency: random() < 0.8 ? 'immediate' : pick(['daily', 'weekly']),
      })),
    );
  }
  // Subscriptions that picked nothing follow the whole city government instead.
  await db.execute(
    sql`update subscriptions set department_ids = array[${departmentIds[0]}::bigint] where category_ids = '{}' and department_ids = '{}'`,
  );

  await db.insert(serviceGroups).values([
    {
      departmentId: departmentIds[0],
      name: '天河区高新技术企业',
      rule: { districts: { any: ['440106'] }, tags: { any: ['高新技术企业'] } },
    },
    { departmentId: departmentIds[0], name: '规上工业企业', rule: { industries: { any: ['C'] }, tags: { all: ['规上工业'] } } },
    { departmentId: departmentIds[0], name: '中小微企业', rule: { sizes: { any: ['medium', 'small', 'micro'] } } },
  ]);
  return { enterprises: enterpriseCount, contacts: contactCount };
}
