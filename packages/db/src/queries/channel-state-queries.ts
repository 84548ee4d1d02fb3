// What recipients tell us about channels: opt-outs and opt-ins (STOP, 退订, a WeChat unfollow, a
// one-click unsubscribe), and WeChat bindings. Opt-outs are per contact and channel.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Channel } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';

const ADDRESS_COLUMN = { wechat: sql`wechat_openid`, sms: sql`phone`, email: sql`lower(email)` } as const;

/** Opts every contact with this address out of the channel; returns the ids of those that changed. */
export async function optOutByAddress(db: Queryable, channel: Channel, address: string): Promise<number[]> {
  const rows = rowsOf<{ id: string | number }>(
    await db.execute(sql`
      update contacts set opted_out = array_append(opted_out, ${channel}), updated_at = now()
      where ${ADDRESS_COLUMN[channel]} = ${channel === 'email' ? address.toLowerCase() : address} and not (${channel} = any(opted_out))
      returning id`),
  );
  return rows.map((r) => Number(r.id));
}

/** Takes the channel opt-out back for every contact with this address (START, a re-follow); returns the ids changed. */
export async function optInByAddress(db: Queryable, channel: Channel, address: string): Promise<number[]> {
  const rows = rowsOf<{ id: string | number }>(
    await db.execute(sql`
      update contacts set opted_out = array_remove(opted_out, ${channel}), updated_at = now()
      where ${ADDRESS_COLUMN[channel]} = ${channel === 'email' ? address.toLowerCase() : address} and ${channel} = any(opted_out)
      returning id`),
  );
  return rows.map((r) => Number(r.id));
}

/** Opts one contact out of one channel (a signed unsubscribe link). */
export async function optOutContact(db: Queryable, contactId: number, channel: Channel): Promise<boolean> {
  const rows = rowsOf(
    await db.execute(sql`
      update contacts set opted_out = array_append(opted_out, ${channel}), updated_at = now()
      where id = ${contactId} and not (${channel} = any(opted_out))
      returning id`),
  );
  return rows.length > 0;
}

/** Binds a WeChat openid to a contact (it followed through the contact's signed QR code or link). */
export async function bindWechatOpenid(db: Queryable, contactId: number, openid: string): Promise<boolean> {
  const rows = rowsOf(
    await db.execute(sql`
      update contacts set wechat_openid = ${openid}, opted_out = array_remove(opted_out, 'wechat'), updated_at = now()
      where id = ${contactId} and erased_at is null -- an erased contact's old QR code must not give it an address again
      returning id`),
  );
  return rows.length > 0;
}

/** The link-signing key: the configured one, else one made once and kept for every replica. */
export async function signingSecret(db: Queryable, configured?: string): Promise<string> {
  if (configured) return configured;
  await db.execute(sql`
    insert into service_secrets (name, value) values ('signing', ${randomBytes(32).toString('base64url')})
    on conflict (name) do nothing`);
  const [row] = rowsOf<{ value: string }>(await db.execute(sql`select value from service_secrets where name = 'signing'`));
  return row.value;
}

/** Queues the email that asks a contact to confirm its address (sent by the dispatcher, urgent-first). */
export async function queueEmailConfirmation(db: Queryable, contactId: number, enterpriseId: number): Promise<number> {
  const [row] = rowsOf<{ id: string | number }>(
    await db.execute(sql`
      insert into deliveries (enterprise_id, contact_id, channel, kind, status, priority)
      values (${enterpriseId}, ${contactId}, 'email', 'confirmation', 'pending', 0)
      returning id`),
  );
  return Number(row.id);
}
