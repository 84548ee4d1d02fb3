// What recipients tell us about channels: opt-outs and opt-ins (STOP, 退订, a WeChat unfollow, a
// one-click unsubscribe), and WeChat bindings. Opt-outs are per contact and channel.
import { randomBytes } from 'node:crypto';
import type { Channel } from '@policy-push/core';
import { type SQL, sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { decodeRows, rowsOf, toNumber, toText } from '../rows';
import { contacts, deliveries, serviceSecrets } from '../schema';
import { bare } from '../sql-names';

const c = contacts;
const ADDRESS_COLUMN: Record<Channel, SQL> = { wechat: sql`${c.wechatOpenid}`, sms: sql`${c.phone}`, email: sql`lower(${c.email})` };

/** Opts every contact with this address out of the channel; returns the ids of those that changed. */
export async function optOutByAddress(db: Queryable, channel: Channel, address: string): Promise<number[]> {
  return decodeRows(
    await db.execute(sql`
      update ${c} set ${bare(c.optedOut)} = array_append(${c.optedOut}, ${channel}), ${bare(c.updatedAt)} = now()
      where ${ADDRESS_COLUMN[channel]} = ${channel === 'email' ? address.toLowerCase() : address} and not (${channel} = any(${c.optedOut}))
      returning ${c.id}`),
    (r) => toNumber(r.id),
  );
}

/** Takes the channel opt-out back for every contact with this address (START, a re-follow); returns the ids changed. */
export async function optInByAddress(db: Queryable, channel: Channel, address: string): Promise<number[]> {
  return decodeRows(
    await db.execute(sql`
      update ${c} set ${bare(c.optedOut)} = array_remove(${c.optedOut}, ${channel}), ${bare(c.updatedAt)} = now()
      where ${ADDRESS_COLUMN[channel]} = ${channel === 'email' ? address.toLowerCase() : address} and ${channel} = any(${c.optedOut})
      returning ${c.id}`),
    (r) => toNumber(r.id),
  );
}

/** Opts one contact out of one channel (a signed unsubscribe link). */
export async function optOutContact(db: Queryable, contactId: number, channel: Channel): Promise<boolean> {
  const rows = rowsOf(
    await db.execute(sql`
      update ${c} set ${bare(c.optedOut)} = array_append(${c.optedOut}, ${channel}), ${bare(c.updatedAt)} = now()
      where ${c.id} = ${contactId} and not (${channel} = any(${c.optedOut}))
      returning ${c.id}`),
  );
  return rows.length > 0;
}

/** Binds a WeChat openid to a contact (it followed through the contact's signed QR code or link). */
export async function bindWechatOpenid(db: Queryable, contactId: number, openid: string): Promise<boolean> {
  const rows = rowsOf(
    await db.execute(sql`
      update ${c}
      set ${bare(c.wechatOpenid)} = ${openid}, ${bare(c.optedOut)} = array_remove(${c.optedOut}, 'wechat'), ${bare(c.updatedAt)} = now()
      -- an erased contact's old QR code must not give it an address again
      where ${c.id} = ${contactId} and ${c.erasedAt} is null
      returning ${c.id}`),
  );
  return rows.length > 0;
}

/** The link-signing key: the configured one, else one made once and kept for every replica. */
export async function signingSecret(db: Queryable, configured?: string): Promise<string> {
  if (configured) return configured;
  const s = serviceSecrets;
  await db.execute(sql`
    insert into ${s} (${bare(s.name)}, ${bare(s.value)}) values ('signing', ${randomBytes(32).toString('base64url')})
    on conflict (${bare(s.name)}) do nothing`);
  const [value] = decodeRows(await db.execute(sql`select ${s.value} from ${s} where ${s.name} = 'signing'`), (r) => toText(r.value));
  return value;
}

/** Queues the email that asks a contact to confirm its address (sent by the dispatcher, urgent-first). */
export async function queueEmailConfirmation(db: Queryable, contactId: number, enterpriseId: number): Promise<number> {
  const d = deliveries;
  const [id] = decodeRows(
    await db.execute(sql`
      insert into ${d} (${bare(d.enterpriseId)}, ${bare(d.contactId)}, ${bare(d.channel)}, ${bare(d.kind)}, ${bare(d.status)}, ${bare(d.priority)})
      values (${enterpriseId}, ${contactId}, 'email', 'confirmation', 'pending', 0)
      returning ${d.id}`),
    (r) => toNumber(r.id),
  );
  return id;
}
