// Erasure on request (the right to be forgotten): a contact's name, phone, email and openid leave
// the database, and every copy of them a provider or a sandbox wrote down with them; its deliveries
// stay, so the statistics (reach counters, delivery counts) do not move. An erased contact keeps
// its row, with no address, suppressed and opted out of every channel, so it can never be matched
// again.
//
// The outbox has no index on contact_id (each would cost every fan-out insert), so a contact's
// deliveries are found through the unique key (policy, version, contact, …): one index probe per
// policy version, however large the outbox, plus the small set of deliveries without a policy.
import { sql } from 'drizzle-orm';
import { CHANNELS } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { inStatuses, WAITING_STATUSES } from '../delivery-statuses';
import { rowsOf } from '../rows';
import { bigintArray, textArray } from '../sql-arrays';
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
  wechat_openid: string | null;
}

/** The ids of the contacts' deliveries still in the outbox (see the file header for how). */
async function outboxDeliveryIds(tx: Queryable, contactIds: number[]): Promise<number[]> {
  const ids = bigintArray(contactIds);
  const rows = rowsOf<{ id: string | number }>(
    await tx.execute(sql`
      select d.id from policies p
      cross join lateral generate_series(1, p.version) as v(version)
      join deliveries d on d.policy_id = p.id and d.policy_version = v.version and d.contact_id = any(${ids})
      union all
      select d.id from deliveries d where d.kind = 'digest' and d.contact_id = any(${ids})
      union all
      select d.id from deliveries d where d.policy_id is null and d.kind <> 'digest' and d.contact_id = any(${ids})`),
  );
  return rows.map((r) => Number(r.id));
}

/** The texts an address can appear as: itself, and a phone number without '+' or its +86 prefix. */
function addressForms(c: ContactAddresses): string[] {
  const forms = [c.email, c.wechat_openid].filter((a): a is string => !!a);
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
  const contacts = rowsOf<ContactAddresses>(
    await tx.execute(sql`
      select id, phone, email, wechat_openid from contacts where id = any(${bigintArray(contactIds)}) order by id for update`),
  );
  if (!contacts.length) return { contacts: 0, cancelled: 0, sending: 0 };
  const ids = contacts.map((c) => Number(c.id));
  const live = await outboxDeliveryIds(tx, ids);
  const liveIds = bigintArray(live);

  // Cancelled first, so a claim that commits after this cannot take them (they are locked, then
  // no longer pending); a send already claimed is seen by the check below.
  const cancelled = rowsOf(
    await tx.execute(sql`
      update deliveries set status = 'cancelled', error_code = 'contact_erased', finished_at = now(), updated_at = now()
      where id = any(${liveIds}) and status ${inStatuses(WAITING_STATUSES)}
      returning 1`),
  ).length;
  const [{ sending }] = rowsOf<{ sending: number }>(
    await tx.execute(sql`select count(*)::int as sending from deliveries where id = any(${liveIds}) and status = 'sending'`),
  );
  if (sending > 0) return { contacts: 0, cancelled: 0, sending };

  const archived = rowsOf<{ id: string | number }>(
    await tx.execute(sql`select id from deliveries_archive where contact_id = any(${bigintArray(ids)})`),
  ).map((r) => Number(r.id));
  const all = bigintArray([...live, ...archived]);

  // Fan-out's address claims hold a hash of the address: the ones made for these deliveries go
  // (before the addresses themselves, which the hash is computed from).
  await tx.execute(sql`
    delete from policy_addresses pa
    using deliveries d join contacts c on c.id = d.contact_id
    where d.id = any(${liveIds}) and d.policy_id is not null
      and pa.policy_id = d.policy_id and pa.policy_version = d.policy_version and pa.channel = d.channel
      and pa.address_hash = md5(case d.channel when 'sms' then c.phone when 'email' then lower(c.email) else c.wechat_openid end)
      and pa.delivery_id = d.id`);
  const keys = contacts.flatMap((c) =>
    [
      c.phone && addressKey('sms', c.phone),
      c.email && addressKey('email', c.email),
      c.wechat_openid && addressKey('wechat', c.wechat_openid),
    ].filter((k): k is string => !!k),
  );
  if (keys.length) await tx.execute(sql`delete from address_daily_sends where address_key = any(${textArray(keys)})`);

  // Provider answers and receipts of these deliveries: the raw answer goes, the error text keeps
  // what it said without the address.
  const pattern = contacts.flatMap(addressForms).map(escapeRegExp).join('|');
  const redacted = (column: string) => (pattern ? sql`regexp_replace(${sql.raw(column)}, ${pattern}, ${ERASED}, 'gi')` : sql.raw(column));
  for (const table of ['delivery_attempts', 'delivery_attempts_archive']) {
    await tx.execute(sql`
      update ${sql.raw(table)} set response = null, error = ${redacted('error')}
      where delivery_id = any(${all}) and (response is not null or error is not null)`);
  }
  for (const table of ['delivery_events', 'delivery_events_archive']) {
    await tx.execute(sql`update ${sql.raw(table)} set payload = null where delivery_id = any(${all}) and payload is not null`);
  }
  await tx.execute(sql`
    update sandbox_messages set recipient = ${ERASED}, content = '{"erased": true}'::jsonb
    where delivery_id = any(${all})`);
  // A receipt that came before its send was acked, and was never linked to a delivery.
  if (pattern) {
    await tx.execute(sql`
      update delivery_events set payload = ${redacted('payload::text')}::jsonb
      where delivery_id is null and payload::text ~* ${pattern}`);
  }

  await tx.execute(sql`
    update contacts set name = null, phone = null, email = null, wechat_openid = null, email_confirmed_at = null,
      quiet_hours = null, suppressed = true, opted_out = ${textArray(CHANNELS)}, erased_at = now(), updated_at = now()
    where id = any(${bigintArray(ids)})`);
  return { contacts: ids.length, cancelled, sending: 0 };
}

/** The ids of an enterprise's contacts. */
export async function enterpriseContactIds(db: Queryable, enterpriseId: number): Promise<number[]> {
  return rowsOf<{ id: string | number }>(
    await db.execute(sql`select id from contacts where enterprise_id = ${enterpriseId} order by id`),
  ).map((r) => Number(r.id));
}
