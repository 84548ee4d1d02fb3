// What the publish limits count besides the publish's own audience (countMatched): what a
// department has queued on each channel in a day. The decision (caps, errors) is the API's
// (publish-limits.ts).
import type { AudienceRule } from '@policy-push/core';
import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { decodeRows, orNull, toNumber, toNumberArray, toStoredJson, toText, type RawRow } from '../rows';
import { deliveries, policies, pushes } from '../schema';
import { loadMatchTarget, matchedDeliveriesSql } from './matching-queries';

export type ChannelCounts = { wechat: number; sms: number; email: number };

const toChannelCounts = (r: RawRow): ChannelCounts => ({ wechat: toNumber(r.wechat), sms: toNumber(r.sms), email: toNumber(r.email) });

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
  const p = policies;
  const d = deliveries;
  const pu = pushes;
  const [made] = decodeRows(
    await db.execute(sql`
      select count(*) filter (where ${d.channel} = 'wechat')::int as wechat, count(*) filter (where ${d.channel} = 'sms')::int as sms,
        count(*) filter (where ${d.channel} = 'email')::int as email
      from ${p} join ${d} on ${d.policyId} = ${p.id}
      where ${p.departmentId} = ${departmentId} and ${d.createdAt} >= ${day.from.toISOString()}::timestamptz`),
    toChannelCounts,
  );
  const queued = { ...made };
  const waiting = decodeRows(
    await db.execute(sql`
      select ${pu.checkpoint}, ${p.categoryIds}, ${p.targetGroupIds}, ${p.audienceRule}, ${p.priority}
      from ${pu} join ${p} on ${p.id} = ${pu.policyId} and ${p.version} = ${pu.policyVersion}
      where ${p.departmentId} = ${departmentId} and ${p.status} in ('scheduled', 'published') and ${pu.status} <> 'fanned_out'
        and ${pu.startAt} < ${day.to.toISOString()}::timestamptz ${exceptPolicyId ? sql`and ${p.id} <> ${exceptPolicyId}` : sql``}`),
    (r) => ({
      checkpoint: toNumber(r.checkpoint),
      categoryIds: toNumberArray(r.category_ids),
      targetGroupIds: toNumberArray(r.target_group_ids),
      audienceRule: orNull(toStoredJson<AudienceRule>, r.audience_rule),
      priority: toText(r.priority),
    }),
  );
  for (const { checkpoint, ...policy } of waiting) {
    const target = await loadMatchTarget(db, { departmentId, ...policy });
    const [rest] = decodeRows(
      await db.execute(sql`
        select count(*) filter (where channel = 'wechat')::int as wechat, count(*) filter (where channel = 'sms')::int as sms,
          count(*) filter (where channel = 'email')::int as email
        from (${matchedDeliveriesSql(target, { from: checkpoint, to: Number.MAX_SAFE_INTEGER })}) m`),
      toChannelCounts,
    );
    queued.wechat += rest.wechat;
    queued.sms += rest.sms;
    queued.email += rest.email;
  }
  return queued;
}
