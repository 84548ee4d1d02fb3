// The audit log: who did what, when, from where. Rows are only ever inserted; no route updates or
// deletes them. Details name ids, counts and field names, never a phone number, email or openid.
import { auditLog, type Database, type Queryable } from '@policy-push/db';
import type { FastifyRequest } from 'fastify';

export type AuditAction =
  | 'policy.publish'
  | 'policy.amend'
  | 'policy.revoke'
  | 'policy.cancel'
  | 'policy.push'
  | 'deliveries.retry'
  | 'department.create'
  | 'department.update'
  | 'department.delete'
  | 'category.create'
  | 'category.update'
  | 'category.delete'
  | 'enterprise.create'
  | 'enterprise.update'
  | 'enterprise.delete'
  | 'contact.create'
  | 'contact.update'
  | 'contact.delete'
  | 'contact.email_confirmation'
  | 'contact.wechat_binding'
  | 'contact.preferences'
  | 'contact.policy_read'
  | 'contact.unsubscribe'
  | 'contact.email_confirmed'
  | 'contact.sms_stop'
  | 'contact.sms_start'
  | 'contact.wechat_unfollow'
  | 'contact.wechat_follow'
  | 'subscription.create'
  | 'subscription.update'
  | 'subscription.delete'
  | 'service_group.create'
  | 'service_group.update'
  | 'service_group.delete'
  | 'service_group.members_set'
  | 'service_group.members_add'
  | 'service_group.member_remove'
  | 'api_key.create'
  | 'api_key.rotate'
  | 'api_key.revoke'
  | 'enterprises.import'
  | 'service_group.members_import'
  | 'contact.erase'
  | 'enterprise.erase_personal_data';

/** key: an API key or a console session; recipient: the contact acting on their own; system: the service. */
export type AuditActor = 'key' | 'recipient' | 'system';

/** Who acted and from where; apiKeyId is null when no key acted (a recipient, the service). */
export interface AuditBy {
  apiKeyId: number | null;
  ip: string | null;
  actor?: AuditActor;
}

export interface AuditEntry {
  action: AuditAction;
  subjectType: string;
  subjectId?: string | number | null;
  details?: Record<string, unknown>;
}

/** Who acted: the request's key and client address. */
export const actorOf = (req: FastifyRequest) => ({ apiKeyId: req.apiKey.id, ip: req.ip });

/** The contact acting on their own (signed link, SMS STOP, WeChat unfollow); ip null when a provider relayed it. */
export const recipient = (ip: string | null): AuditBy => ({ apiKeyId: null, ip, actor: 'recipient' });

/** Writes one audit row; pass the transaction of the change so both commit or neither. */
export async function audit(db: Queryable, by: AuditBy, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    actor: by.actor ?? 'key',
    apiKeyId: by.apiKeyId,
    action: entry.action,
    subjectType: entry.subjectType,
    subjectId: entry.subjectId === undefined || entry.subjectId === null ? null : String(entry.subjectId),
    details: entry.details ?? null,
    ip: by.ip,
  });
}

/**
 * Runs a write and its audit row in one transaction, so both commit or neither. `entry` sees what
 * the write answered; null when it changed nothing (nothing to audit).
 */
export function auditedWrite<T>(
  db: Database,
  by: AuditBy,
  write: (tx: Database) => Promise<T>,
  entry: (result: T) => AuditEntry | null,
): Promise<T> {
  return db.transaction(async (tx) => {
    const result = await write(tx);
    const e = entry(result);
    if (e) await audit(tx, by, e);
    return result;
  });
}

/** The names of the fields a request changed: what an audit row says of a body (never its values). */
export const fieldsOf = (body: unknown) => ({ fields: Object.keys((body ?? {}) as object).sort() });

/** One row per contact a recipient's own action changed (several contacts may share an address). */
export async function auditContacts(
  db: Queryable,
  by: AuditBy,
  action: AuditAction,
  contactIds: number[],
  details?: Record<string, unknown>,
) {
  for (const id of contactIds) await audit(db, by, { action, subjectType: 'contact', subjectId: id, details });
}
