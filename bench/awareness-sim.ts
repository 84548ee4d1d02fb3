// Awareness (知曉度) with and without follow-ups, in one run (issue 15): `pnpm bench --only awareness
// [--enterprises 400] [--seed 15]`. In-process on an in-memory PGlite, driving the real fan-out,
// reminders job and queries; what a recipient does is drawn from engagement probabilities per
// channel (the chance that one message on that channel is opened). Two policies go to the same
// enterprises on the same day: one with no plan, one with a plan of two steps (3 days after
// publication, 2 days before actionBy, which is 10 days out). Sends are taken as accepted at
// once (the outbox marked sent): this measures the plan, not the providers.
import { type Channel, createLogger, parseConfig } from '../packages/core/src';
import {
  createDb,
  fanOutNextChunk,
  insertPolicyWithPush,
  migrate,
  type Policy,
  recordOpen,
  replaceReminderPlan,
  rowsOf,
  sql,
  textArray,
} from '../packages/db/src';
import { runReminders } from '../services/dispatcher/src/jobs/reminders';
import { flag } from './generate';

/** The chance that one message on the channel is opened by the enterprise's contact. */
export const ENGAGEMENT: Record<Channel, number> = { wechat: 0.3, sms: 0.2, email: 0.1 };
// Contacts' channel orders and their shares of the enterprises.
const PROFILES: [string[], number][] = [
  [['wechat', 'sms'], 0.4],
  [['wechat'], 0.2],
  [['sms', 'email'], 0.25],
  [['email'], 0.15],
];
const DAY = 86_400_000;

/** A small seeded generator (mulberry32): the same seed, the same run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface AwarenessRun {
  enterprises: number;
  /** Cumulative awareness (engaged ÷ targeted) at the end of each day 0..10, per policy. */
  byDay: { day: number; without: number; with: number }[];
  remindersByChannel: Record<string, number>;
  engagedAfterReminder: number;
  seconds: number;
}

export async function awarenessSim(enterprises: number, seed: number): Promise<AwarenessRun> {
  const started = performance.now();
  const rand = random(seed);
  const handle = await createDb({});
  await migrate({}, handle);
  const db = handle.db;
  const config = parseConfig({ QUIET_HOURS: '00:00-00:00' });
  const deps = { db, logger: createLogger({ level: 'silent' }), settings: config.dispatcher };
  try {
    const [dept] = rowsOf<{ id: string }>(
      await db.execute(
        sql`insert into departments (code, name_zh, name_en, sms_signature) values ('sim', '模拟局', 'Sim', '广州模拟') returning id`,
      ),
    );
    const [cat] = rowsOf<{ id: string }>(
      await db.execute(sql`insert into categories (code, name_zh, name_en) values ('sim', '模拟', 'Sim') returning id`),
    );
    const channels = Array.from({ length: enterprises }, () => {
      let x = rand();
      for (const [order, share] of PROFILES) if ((x -= share) < 0) return order;
      return PROFILES[0][0];
    });
    await db.execute(sql`
      with e as (
        insert into enterprises (credit_code, name, industry_section, district, size)
        select 'SIM-' || g, '企业' || g, 'C', '440106', 'small' from generate_series(1, ${enterprises}) g returning id, credit_code
      ), c as (
        insert into contacts (enterprise_id, phone, email, wechat_openid, channels)
        select e.id, '+8613' || lpad(e.id::text, 9, '0'), 'sim' || e.id || '@example.com', 'oSIM' || e.id,
          string_to_array((${textArray(channels.map((c) => c.join(',')))})[substr(e.credit_code, 5)::int], ',')
        from e
      )
      insert into subscriptions (enterprise_id, category_ids) select id, array[${Number(cat.id)}::bigint] from e`);

    const t0 = new Date();
    const actionBy = new Date(t0.getTime() + 10 * DAY);
    const publish = async (docNumber: string): Promise<Policy> =>
      (
        await db.transaction((tx: Parameters<Parameters<typeof db.transaction>[0]>[0]) =>
          insertPolicyWithPush(tx, {
            departmentId: Number(dept.id),
            docNumber,
            title: '研发费用加计扣除申报',
            summary: '符合条件的企业请在申报期内提交材料。',
            url: 'https://policy.example.gov.cn/rd',
            categoryIds: [Number(cat.id)],
            actionBy,
          }),
        )
      ).policy;
    const without = await publish('SIM-WITHOUT');
    const withPlan = await publish('SIM-WITH');
    await replaceReminderPlan(db, withPlan.id, [
      { anchor: 'publish', offsetHours: 72, dueAt: new Date(t0.getTime() + 3 * DAY) },
      { anchor: 'action_by', offsetHours: 48, dueAt: new Date(actionBy.getTime() - 2 * DAY) },
    ]);
    while (await fanOutNextChunk(db, 1000)) {
      /* until both pushes are fanned out */
    }

    /** Sends what is pending (accepted at once) and draws, per message, whether it is opened. */
    const sendAndDraw = async () => {
      const sent = rowsOf<{ id: string; channel: Channel }>(
        await db.execute(sql`update deliveries set status = 'sent', sent_at = now() where status = 'pending' returning id, channel`),
      );
      for (const d of sent.sort((a, b) => Number(a.id) - Number(b.id))) {
        if (rand() < ENGAGEMENT[d.channel])
          await db.transaction((tx: Parameters<Parameters<typeof db.transaction>[0]>[0]) =>
            recordOpen(tx, { deliveryId: Number(d.id), channel: d.channel, at: new Date() }),
          );
      }
    };
    const awareness = async (policy: Policy) => {
      const [row] = rowsOf<{ engaged: number; targeted: number }>(
        await db.execute(sql`
          select count(distinct d.enterprise_id) filter (where o.delivery_id is not null)::int as engaged,
            count(distinct d.enterprise_id) filter (where d.kind = 'policy')::int as targeted
          from deliveries d left join delivery_opens o on o.delivery_id = d.id
          where d.policy_id = ${policy.id}`),
      );
      return row.targeted ? row.engaged / row.targeted : 0;
    };

    const byDay: AwarenessRun['byDay'] = [];
    let beforeReminders = 0;
    for (let day = 0; day <= 10; day++) {
      if (day === 0) await sendAndDraw();
      else {
        // The job at the end of each simulated day; it takes a step only on the day it falls due.
        const result = await runReminders(deps, new Date(t0.getTime() + day * DAY + 1000));
        if (result.steps.length) {
          if (!beforeReminders) beforeReminders = await awareness(withPlan);
          await sendAndDraw();
        }
      }
      byDay.push({ day, without: await awareness(without), with: await awareness(withPlan) });
    }
    const remindersByChannel = Object.fromEntries(
      rowsOf<{ channel: string; n: number }>(
        await db.execute(sql`select channel, count(*)::int as n from deliveries where kind = 'reminder' group by channel order by channel`),
      ).map((r) => [r.channel, r.n]),
    );
    const [afterReminder] = rowsOf<{ n: number }>(
      await db.execute(sql`
        select count(distinct d.enterprise_id)::int as n from deliveries d join delivery_opens o on o.delivery_id = d.id
        where d.kind = 'reminder' and d.policy_id = ${withPlan.id}`),
    );
    return { enterprises, byDay, remindersByChannel, engagedAfterReminder: afterReminder.n, seconds: (performance.now() - started) / 1000 };
  } finally {
    await handle.close();
  }
}

/** The run as a markdown table. */
export function awarenessTable(r: AwarenessRun): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return [
    `Awareness simulation: ${r.enterprises} enterprises, engagement per message wechat ${ENGAGEMENT.wechat}, sms ${ENGAGEMENT.sms}, email ${ENGAGEMENT.email}; follow-up plan P3D after publication and P2D before actionBy (day 10). ${r.seconds.toFixed(1)} s.`,
    '',
    '| day | awareness without follow-up | with follow-up |',
    '| --: | --: | --: |',
    ...r.byDay.map((d) => `| ${d.day} | ${pct(d.without)} | ${pct(d.with)} |`),
    '',
    `Reminders sent by channel: ${Object.entries(r.remindersByChannel)
      .map(([c, n]) => `${c} ${n}`)
      .join(', ')}; enterprises engaged by a reminder: ${r.engagedAfterReminder}.`,
  ].join('\n');
}

if (process.argv[1]?.endsWith('awareness-sim.ts')) {
  awarenessSim(Number(flag('enterprises', '400')), Number(flag('seed', '15')))
    .then((r) => console.log(awarenessTable(r)))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
