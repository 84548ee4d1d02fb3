// Erasure on request (the right to be forgotten): a contact's name, phone, email and openid leave
// the database, and every copy of them a provider or a sandbox wrote down with them; its deliveries
// stay, so the statistics (reach counters, delivery counts) do not move. An erased contact keeps
// its row, with no address, suppressed and opted out of every channel, so it can never be matched
// again.
//
// The outbox has no index on contact_id (each would cost every fan-out insert), so a contact's
// deliveries are found through the unique key (policy, version, contact, …): one index probe per
// policy version, however large the outbox, plus the small set of deliveries without a policy.
import { CHANNELS } from '@policy-push/core';
import { type SQL, sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { inStatuses, WAITING_STATUSES } from '../delivery-statuses';
import { decodeRows, orNull, rowsOf, toNumber, toText } from '../rows';
import {
  addressDailySends,
  contacts,
  deliveries,
  deliveriesArchive,
  deliveryAttempts,
  deliveryAttemptsArchive,
  deliveryEvents,
  deliveryEventsArchive,
  policies,
  policyAddresses,
  sandboxMessages,
} from '../schema';
import { bigintArray, textArray } from '../sql-arrays';
import { bare } from '../sql-names';
import { addressHashSql } from './address-claims-queries';
import { addressKey } from './recipient-cap-queries';

/** Stands where an address was, in provider answers and error texts. */
export const ERASED = '[erased]';

export interface ErasureResult {
  /** Contacts erased. */
  contacts: number;
  /** Their pending and held deliveries, cancelled. */
  cancelled: number;
  /** Deliveries being sent right now: nothing was changed; try again once they are acked. */
  sending: number;
}

interface ContactAddresses {
  id: number;
  phone: string | null;
  email: string | null;
  wechatOpenid: string | null;
}

/** The ids of the contacts' deliveries still in the outbox (see the file header for how). */
async function outboxDeliveryIds(tx: Queryable, contactIds: number[]): Promise<number[]> {
  const ids = bigintArray(contactIds);
  const d = deliveries;
  const p = policies;
  return decodeRows(
    await tx.execute(sql`
      select ${d.id} from ${p}
      cross join lateral generate_series(1, ${p.version}) as v(version)
      join ${d} on ${d.policyId} = ${p.id} and ${d.policyVersion} = v.version and ${d.contactId} = any(${ids})
      union all
      select ${d.id} from ${d} where ${d.kind} = 'digest' and ${d.contactId} = any(${ids})
      union all
      select ${d.id} from ${d} where ${d.policyId} is null and ${d.kind} <> 'digest' and ${d.contactId} = any(${ids})`),
    (r) => toNumber(r.id),
  );
}

/** The texts an address can appear as: itself, and a phone number without '+' or its +86 prefix. */
function addressForms(c: ContactAddresses): string[] {
  const forms = [c.email, c.wechatOpenid].filter((a): a is string => !!a);
  if (c.phone) {
    forms.push(c.phone, c.phone.replace(/^\+/, ''));
    if (c.phone.startsWith('+86')) forms.push(c.phone.slice(3));
  }
  // Longest first, so that a number is replaced whole before its shorter forms are looked for.
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Erases the contacts (locking them first), in the caller's transaction. When one of their
 * deliveries is being sent, changes nothing and says so (sending > 0): the caller rolls back, since
 * the send's provider answer is yet to be written.
 */
export async function eraseContacts(tx: Queryable, contactIds: number[]): Promise<ErasureResult> {
  const c = contacts;
  const d = deliveries;
  const erased = decodeRows(
    await tx.execute(sql`
      select ${c.id}, ${c.phone}, ${c.email}, ${c.wechatOpenid} from ${c}
      where ${c.id} = any(${bigintArray(contactIds)}) order by ${c.id} for update`),
    (r): ContactAddresses => ({
      id: toNumber(r.id),
      phone: orNull(toText, r.phone),
      email: orNull(toText, r.email),
      wechatOpenid: orNull(toText, r.wechat_openid),
    }),
  );
  if (!erased.length) return { contacts: 0, cancelled: 0, sending: 0 };
  const ids = erased.map((e) => e.id);
  const live = await outboxDeliveryIds(tx, ids);
  const liveIds = bigintArray(live);

  // Cancelled first, so a claim that commits after this cannot take them (they are locked, then
  // no longer pending); a send already claimed is seen by the check below.
  const cancelled = rowsOf(
    await tx.execute(sql`
      update ${d}
      set ${bare(d.status)} = 'cancelled', ${bare(d.errorCode)} = 'contact_erased', ${bare(d.finishedAt)} = now(), ${bare(d.updatedAt)} = now()
      where ${d.id} = any(${liveIds}) and ${d.status} ${inStatuses(WAITING_STATUSES)}
      returning 1`),
  ).length;
  const [sending] = decodeRows(
    await tx.execute(sql`select count(*)::int as sending from ${d} where ${d.id} = any(${liveIds}) and ${d.status} = 'sending'`),
    (r) => toNumber(r.sending),
  );
  if (sending > 0) return { contacts: 0, cancelled: 0, sending };

  const archived = decodeRows(
    await tx.execute(
      sql`select ${deliveriesArchive.id} from ${deliveriesArchive} where ${deliveriesArchive.contactId} = any(${bigintArray(ids)})`,
    ),
    (r) => toNumber(r.id),
  );
  const all = bigintArray([...live, ...archived]);

  // Fan-out's address claims hold a hash of the address: the ones made for these deliveries go
  // (before the addresses themselves, which the hash is computed from).
  const pa = policyAddresses;
  await tx.execute(sql`
    delete from ${pa}
    using ${d} join ${c} on ${c.id} = ${d.contactId}
    where ${d.id} = any(${liveIds}) and ${d.policyId} is not null
      and ${pa.policyId} = ${d.policyId} and ${pa.policyVersion} = ${d.policyVersion} and ${pa.channel} = ${d.channel}
      and ${pa.addressHash} = ${addressHashSql('contacts', sql`${d.channel}`)}
      and ${pa.deliveryId} = ${d.id}`);
  const keys = erased.flatMap((e) =>
    [
      e.phone && addressKey('sms', e.phone),
      e.email && addressKey('email', e.email),
      e.wechatOpenid && addressKey('wechat', e.wechatOpenid),
    ].filter((k): k is string => !!k),
  );
  if (keys.length) {
    await tx.execute(sql`delete from ${addressDailySends} where ${addressDailySends.addressKey} = any(${textArray(keys)})`);
  }

  // Provider answers and receipts of these deliveries: the raw answer goes, the error text keeps
  // what it said without the address.
  const pattern = erased.flatMap(addressForms).map(escapeRegExp).join('|');
  const redacted = (text: SQL) => (pattern ? sql`regexp_replace(${text}, ${pattern}, ${ERASED}, 'gi')` : text);
  for (const a of [deliveryAttempts, deliveryAttemptsArchive]) {
    await tx.execute(sql`
      update ${a} set ${bare(a.response)} = null, ${bare(a.error)} = ${redacted(sql`${a.error}`)}
      where ${a.deliveryId} = any(${all}) and (${a.response} is not null or ${a.error} is not null)`);
  }
  for (const e of [deliveryEvents, deliveryEventsArchive]) {
    await tx.execute(sql`update ${e} set ${bare(e.payload)} = null where ${e.deliveryId} = any(${all}) and ${e.payload} is not null`);
  }
  const s = sandboxMessages;
  await tx.execute(sql`
    update ${s} set ${bare(s.recipient)} = ${ERASED}, ${bare(s.content)} = '{"erased": true}'::jsonb
    where ${s.deliveryId} = any(${all})`);
  // A receipt that came before its send was acked, and was never linked to a delivery.
  if (pattern) {
    const e = deliveryEvents;
    await tx.execute(sql`
      update ${e} set ${bare(e.payload)} = ${redacted(sql`${e.payload}::text`)}::jsonb
      where ${e.deliveryId} is null and ${e.payload}::text ~* ${pattern}`);
  }

  await tx.execute(sql`
    update ${c}
    set ${bare(c.name)} = null, ${bare(c.phone)} = null, ${bare(c.email)} = null, ${bare(c.wechatOpenid)} = null,
      ${bare(c.emailConfirmedAt)} = null, ${bare(c.quietHours)} = null, ${bare(c.suppressed)} = true,
      ${bare(c.optedOut)} = ${textArray(CHANNELS)}, ${bare(c.erasedAt)} = now(), ${bare(c.updatedAt)} = now()
    where ${c.id} = any(${bigintArray(ids)})`);
  return { contacts: ids.length, cancelled, sending: 0 };
}

/** The ids of an enterprise's contacts. */
export async function enterpriseContactIds(db: Queryable, enterpriseId: number): Promise<number[]> {
  return decodeRows(
    await db.execute(sql`select ${contacts.id} from ${contacts} where ${contacts.enterpriseId} = ${enterpriseId} order by ${contacts.id}`),
    (r) => toNumber(r.id),
  );
}
