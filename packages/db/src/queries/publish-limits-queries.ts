// What the publish limits count besides the publish's own audience (countMatched): what a
// department has queued on each channel in a day. The decision (caps, errors) is the API's
// (publish-limits.ts).
import type { AudienceRule } from '@policy-push/core';
import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';
import { loadMatchTarget, matchedDeliveriesSql } from './matching-queries';

export type ChannelCounts = { wechat: number; sms: number; email: number };

/**
 * Messages the department has queued in the day [from, to) per channel: deliveries of its policies
 * created since `from`, plus what its pushes still fanning out (or due before `to`) will add after
 * their checkpoint, counted by the matching SQL itself. The policy `exceptPolicyId`'s pushes are
 * left out (a push again or an amendment replaces them). The deliveries are found from the
 * department's policies through the deliveries' unique key, whose first column is the policy id.
 */
export async function queuedInDay(
  db: Queryable,
  departmentId: number,
  day: { from: Date; to: Date },
  exceptPolicyId: number | undefined,
): Promise<ChannelCounts> {
  const [made] = rowsOf<ChannelCounts>(
    await db.execute(sql`
      select count(*) filter (where d.channel = 'wechat')::int as wechat, count(*) filter (where d.channel = 'sms')::int as sms,
        count(*) filter (where d.channel = 'email')::int as email
      from policies p join deliveries d on d.policy_id = p.id
      where p.department_id = ${departmentId} and d.created_at >= ${day.from.toISOString()}::timestamptz`),
  );
  const queued = { ...made };
  const waiting = rowsOf<{ checkpoint: string | number } & Record<string, unknown>>(
    await db.execute(sql`
      select pu.checkpoint, p.category_ids, p.target_group_ids, p.audience_rule, p.priority
      from pushes pu join policies p on p.id = pu.policy_id and p.version = pu.policy_version
      where p.department_id = ${departmentId} and p.status in ('scheduled', 'published') and pu.status <> 'fanned_out'
        and pu.start_at < ${day.to.toISOString()}::timestamptz ${exceptPolicyId ? sql`and p.id <> ${exceptPolicyId}` : sql``}`),
  );
  for (const push of waiting) {
    const target = await loadMatchTarget(db, {
      departmentId,
      categoryIds: (push.category_ids as (string | number)[]).map(Number),
      targetGroupIds: (push.target_group_ids as (string | number)[]).map(Number),
      audienceRule: push.audience_rule as AudienceRule | null,
      priority: push.priority as string,
    });
    const [rest] = rowsOf<ChannelCounts>(
      await db.execute(sql`
        select count(*) filter (where channel = 'wechat')::int as wechat, count(*) filter (where channel = 'sms')::int as sms,
          count(*) filter (where channel = 'email')::int as email
        from (${matchedDeliveriesSql(target, { from: Number(push.checkpoint), to: Number.MAX_SAFE_INTEGER })}) m`),
    );
    queued.wechat += rest.wechat;
    queued.sms += rest.sms;
    queued.email += rest.email;
  }
  return queued;
}
