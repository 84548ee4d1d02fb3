// A city-sized data set: N enterprises with Guangzhou-like spreads of industry (GB/T 4754 section
// and division), district (GB/T 2260), size and tags, 1–2 contacts each with phone / email /
// WeChat openid, and subscriptions — streamed into Postgres with COPY … FROM STDIN.
//
//   pnpm tsx bench/generate.ts --enterprises 3000000 [--keep] [--seed 1]
//
// Every contact gets a distinct phone number (and openid, email), so a provider's request log
// can be read per contact: that is how the benchmarks and fault tests count duplicate sends.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { type BenchDb, createBenchDb, type PgClient } from './bench-db';

// Weights are rough shares of Guangzhou's registered market entities (wholesale/retail and
// business services dominate); exactness does not matter, the skew does.
const SECTIONS: [section: string, divisions: [number, number], weight: number][] = [
  ['A', [1, 5], 1],
  ['B', [6, 12], 0.2],
  ['C', [13, 43], 10],
  ['D', [44, 46], 0.5],
  ['E', [47, 50], 4],
  ['F', [51, 52], 35],
  ['G', [53, 60], 3],
  ['H', [61, 62], 3],
  ['I', [63, 65], 8],
  ['J', [66, 69], 1.5],
  ['K', [70, 70], 3],
  ['L', [71, 72], 15],
  ['M', [73, 75], 7],
  ['N', [76, 79], 1],
  ['O', [80, 82], 4],
  ['P', [83, 83], 1],
  ['Q', [84, 85], 0.8],
  ['R', [86, 90], 2.5],
  ['S', [91, 96], 0.3],
];
const DISTRICTS: [code: string, weight: number][] = [
  ['440103', 6], // 荔湾
  ['440104', 8], // 越秀
  ['440105', 10], // 海珠
  ['440106', 16], // 天河
  ['440111', 17], // 白云
  ['440112', 8], // 黄埔
  ['440113', 13], // 番禺
  ['440114', 8], // 花都
  ['440115', 5], // 南沙
  ['440117', 3], // 从化
  ['440118', 6], // 增城
];
const SIZES: [string, number][] = [
  ['micro', 70],
  ['small', 20],
  ['medium', 8],
  ['large', 2],
];
const TAGS: [string, number][] = [
  ['高新技术企业', 0.05],
  ['专精特新', 0.02],
  ['规上工业', 0.03],
  ['外资企业', 0.04],
  ['初创期', 0.1],
  ['个体工商户', 0.3],
];
export const DEPARTMENTS = ['gzfgw', 'gzgxj', 'gzrsj', 'gzswj', 'gzkjj', 'gzsw', 'gzscjg', 'gzczj', 'gzzjj'];
// Five parent topics, three children each: a subscription to a parent covers its children.
export const CATEGORY_PARENTS = ['employment', 'tax', 'finance', 'innovation', 'trade'];

/** A small, seeded PRNG (mulberry32): the same seed gives the same city. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted<T>(items: [T, ...unknown[]][], weightAt: number, random: () => number): T {
  const total = items.reduce((s, it) => s + (it[weightAt] as number), 0);
  let r = random() * total;
  for (const it of items) {
    r -= it[weightAt] as number;
    if (r <= 0) return it[0];
  }
  return items[items.length - 1][0];
}

// COPY text format: arrays as {a,b}, NULL as \N; our values never contain tabs, quotes or commas.
const arr = (xs: (string | number)[]) => `{${xs.join(',')}}`;
const row = (cols: (string | number | null)[]) => cols.map((c) => (c === null ? '\\N' : String(c))).join('\t') + '\n';

/** Rows in batches of lines, so COPY gets big writes instead of one per row. */
function lines(count: number, make: (i: number) => string): Readable {
  let i = 1;
  return Readable.from(
    (function* () {
      while (i <= count) {
        let chunk = '';
        for (let k = 0; k < 2000 && i <= count; k++, i++) chunk += make(i);
        yield chunk;
      }
    })(),
  );
}

async function copy(sql: PgClient, target: string, source: Readable): Promise<void> {
  const writable = await sql.unsafe(`copy ${target} from stdin`).writable();
  await pipeline(source, writable);
}

export interface GeneratedCity {
  enterprises: number;
  contacts: number;
  subscriptions: number;
  departmentIds: number[];
  /** Parent category ids, in CATEGORY_PARENTS order. */
  parentCategoryIds: number[];
  seconds: number;
}

/** Loads a city into an empty, migrated database. Enterprise i gets id i (identity on a fresh table). */
export async function generateCity(sql: PgClient, n: number, seed = 1): Promise<GeneratedCity> {
  const started = performance.now();
  const depts = await sql.unsafe<{ id: string }[]>(
    `insert into departments (code, name_zh, name_en, sms_signature)
     select code, '广州市' || code, code, '广州政务' from unnest($1::text[]) code returning id`,
    [DEPARTMENTS],
  );
  const parents = await sql.unsafe<{ id: string }[]>(
    `insert into categories (code, name_zh, name_en) select code, code, code from unnest($1::text[]) with ordinality u(code, o) order by o returning id`,
    [CATEGORY_PARENTS],
  );
  const parentIds = parents.map((p) => Number(p.id));
  const children = await sql.unsafe<{ id: string }[]>(
    `insert into categories (code, parent_id, name_zh, name_en)
     select p.code || '-' || k, p.id, p.code || k, p.code || k from categories p, generate_series(1, 3) k returning id`,
  );
  const allCategories = [...parentIds, ...children.map((c) => Number(c.id))];
  const deptIds = depts.map((d) => Number(d.id));

  const random = prng(seed);
  const sections = SECTIONS.map(([s, d, w]) => [[s, d], w] as [[string, [number, number]], number]);
  await copy(
    sql,
    'enterprises (credit_code, name, industry_section, industry_division, district, size, tags)',
    lines(n, (i) => {
      const [section, [lo, hi]] = weighted(sections, 1, random);
      const division = random() < 0.8 ? String(lo + Math.floor(random() * (hi - lo + 1))).padStart(2, '0') : null;
      const size = weighted(SIZES, 1, random);
      const tags = TAGS.filter(([, p]) => random() < p).map(([t]) => t);
      // Unique, credit-code shaped (18 characters); not checksummed: the API validates, COPY does not.
      const code = `91${weighted(DISTRICTS, 1, random)}${String(i).padStart(9, '0')}X`;
      return row([code, `企业${i}`, section, division, weighted(DISTRICTS, 1, random), size, arr(tags)]);
    }),
  );

  // 1–2 contacts per enterprise; contact j of the table gets the j-th phone number, so every
  // phone is distinct. The channel order is the contact's own (default wechat, sms, email).
  const contactsPer = Array.from({ length: n }, () => (random() < 0.3 ? 2 : 1));
  const contacts = contactsPer.reduce((a, b) => a + b, 0);
  let enterprise = 0;
  let left = 0;
  await copy(
    sql,
    'contacts (enterprise_id, name, phone, email, wechat_openid, channels)',
    lines(contacts, (j) => {
      if (left === 0) left = contactsPer[enterprise++];
      left--;
      const phone = random() < 0.95 ? `+861${3 + (j % 7)}${String(j).padStart(9, '0')}` : null;
      const email = random() < 0.6 ? `c${j}@example.com` : null;
      const openid = random() < 0.4 ? `oBench${String(j).padStart(22, '0')}` : null;
      const order = random() < 0.7 ? ['wechat', 'sms', 'email'] : ['sms', 'wechat', 'email'];
      return row([enterprise, `联系人${j}`, phone, email, openid, arr(order)]);
    }),
  );

  // 80% subscribe: 1–3 topics (a parent topic half the time), sometimes a department, mostly immediate.
  const subscribed = Array.from({ length: n }, (_, i) => i + 1).filter(() => random() < 0.8);
  await copy(
    sql,
    'subscriptions (enterprise_id, category_ids, department_ids, channels, frequency)',
    lines(subscribed.length, (k) => {
      const cats = new Set<number>();
      const count = 1 + Math.floor(random() * 3);
      while (cats.size < count)
        cats.add(random() < 0.5 ? parentIds[Math.floor(random() * 5)] : allCategories[Math.floor(random() * allCategories.length)]);
      const dept = random() < 0.1 ? [deptIds[Math.floor(random() * deptIds.length)]] : [];
      const channels = random() < 0.3 ? ['sms'] : [];
      const f = random();
      return row([subscribed[k - 1], arr([...cats]), arr(dept), arr(channels), f < 0.85 ? 'immediate' : f < 0.95 ? 'daily' : 'weekly']);
    }),
  );
  // The subscriptions above queued their enterprises for catch-up (migration 0022's triggers), to
  // be matched against every policy in force when the queue is taken. The city predates every
  // policy of the bench, and the history's policies are written with the triggers off (no reach
  // rows), so the catch-up would take all their matches for late ones and spend the pushes'
  // Postgres time on it.
  await sql.unsafe('delete from catch_up_queue');
  await sql.unsafe('analyze');
  const [check] = await sql.unsafe<{ max: string }[]>('select max(id)::text as max from enterprises');
  if (Number(check.max) !== n) throw new Error(`enterprise ids are not 1..${n} (max ${check.max}): generate into a fresh database`);
  return {
    enterprises: n,
    contacts,
    subscriptions: subscribed.length,
    departmentIds: deptIds,
    parentCategoryIds: parentIds,
    seconds: (performance.now() - started) / 1000,
  };
}

export function flag(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? 'true' : v;
}

async function main() {
  const n = Number(flag('enterprises', '50000'));
  if (!Number.isInteger(n) || n < 1 || n > 3_000_000) throw new Error('--enterprises must be 1..3000000');
  const keep = flag('keep') === 'true';
  const bench: BenchDb = await createBenchDb({ id: flag('id') });
  try {
    const city = await generateCity(bench.sql, n, Number(flag('seed', '1')));
    console.log(
      `${bench.name}: ${city.enterprises} enterprises, ${city.contacts} contacts, ${city.subscriptions} subscriptions in ${city.seconds.toFixed(1)} s`,
    );
  } finally {
    if (keep) {
      await bench.db.close();
      console.log(`kept: ${bench.url}`);
    } else await bench.drop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
