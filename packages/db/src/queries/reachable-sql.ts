// "Is this contact reachable on channel X" in SQL: the twin of packages/core/src/reachable.ts (read
// the rule there), which a test holds this to over every combination of a contact's state. Every
// statement that asks (matching and so fan-out and previews, fallbacks, group audiences, the funnel's
// unaddressable reasons) builds its predicate here.
import type { ReachabilityRule } from '@policy-push/core';
import { type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { contacts } from '../schema';
import { qualified } from '../sql-names';

/** `c` is the alias of a contacts row in the statement; `channel` a text expression. */
function parts(c: string, channel: SQL, rule: ReachabilityRule) {
  const col = (column: AnyPgColumn) => qualified(c, column);
  return {
    hasAddress: sql`case ${channel} when 'wechat' then ${col(contacts.wechatOpenid)} is not null
      when 'sms' then ${col(contacts.phone)} is not null when 'email' then ${col(contacts.email)} is not null else false end`,
    refused: sql`(${col(contacts.suppressed)} or ${channel} = any(${col(contacts.optedOut)}))`,
    unconfirmed: rule.requireConfirmedEmail ? sql`(${channel} = 'email' and ${col(contacts.emailConfirmedAt)} is null)` : sql`false`,
  };
}

/** True when the contact `c` is reachable on `channel`. */
export function reachableSql(c: string, channel: SQL, rule: ReachabilityRule): SQL {
  const p = parts(c, channel, rule);
  return sql`(${p.hasAddress} and not ${p.refused} and not ${p.unconfirmed})`;
}

/** Null when the contact `c` is reachable on `channel`; otherwise an UnreachableReason. */
export function unreachableReasonSql(c: string, channel: SQL, rule: ReachabilityRule): SQL {
  const p = parts(c, channel, rule);
  return sql`(case when not ${p.hasAddress} then 'no_address' when ${p.refused} then 'opted_out'
    when ${p.unconfirmed} then 'email_unconfirmed' end)`;
}

/** Orders UnaddressableReasons from the closest to reachable (UNADDRESSABLE_REASONS, reversed). */
export const unaddressableRankSql = (reason: SQL): SQL =>
  sql`(case ${reason} when 'email_unconfirmed' then 0 when 'opted_out' then 1 when 'no_address' then 2 else 3 end)`;
