// The delivery log: one delivery's story as a timeline, and the audited retry.
import {
  type Database,
  type Delivery,
  type DeliveryFilter,
  deliveryWhy,
  getDeliveryStory,
  getPolicy,
  notifyWork,
  type Queryable,
  requeueFailedDeliveries,
  type RetryFilter,
  rowsOf,
  sql,
  bigintArray,
  channelPausedUntil,
  deliveryWait,
} from '@policy-push/db';
import { parsePhone } from '@policy-push/core';
import type { KeyIdentity } from '../../services/api-keys';
import { departmentsInScope, enterpriseInScope } from '../../plugins/authorize';
import { audit } from '../../services/audit';
import type { Static } from 'typebox';
import { ApiError, notFound } from '../../errors';
import type { DeliveryDetail, ExportQuery } from './deliveries-schemas';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const idOrNull = (n: number | null) => (n === null ? null : String(n));

/** What showing these deliveries needs besides their rows: their test policies, and the channels' pauses and the time for their waits. */
export interface DeliveryContext {
  testPolicies: Set<number>;
  now: Date;
  pausedUntil: Map<string, Date>;
}

export async function deliveryContext(db: Queryable, rows: Pick<Delivery, 'policyId'>[], now = new Date()): Promise<DeliveryContext> {
  return { testPolicies: await testPolicyIds(db, rows), now, pausedUntil: await channelPausedUntil(db) };
}

/** The policies among these deliveries' that were published with a test key. */
export async function testPolicyIds(db: Queryable, rows: Pick<Delivery, 'policyId'>[]): Promise<Set<number>> {
  const ids = [...new Set(rows.flatMap((d) => (d.policyId === null ? [] : [d.policyId])))];
  if (!ids.length) return new Set();
  const found = rowsOf<{ id: string | number }>(
    await db.execute(sql`select id from policies where id = any(${bigintArray(ids)}) and test`),
  );
  return new Set(found.map((r) => Number(r.id)));
}

export const toDelivery = (d: Delivery, { testPolicies, now, pausedUntil }: DeliveryContext) => ({
  id: String(d.id),
  policyId: idOrNull(d.policyId),
  policyVersion: d.policyVersion,
  enterpriseId: String(d.enterpriseId),
  contactId: String(d.contactId),
  channel: d.channel,
  kind: d.kind,
  status: d.status,
  priority: d.priority === 0 ? 'urgent' : 'normal',
  attempts: d.attempts,
  nextAttemptAt: d.nextAttemptAt.toISOString(),
  providerMessageId: d.providerMessageId,
  errorCode: d.errorCode,
  wait: waitOf(d, now, pausedUntil),
  test: d.policyId !== null && testPolicies.has(d.policyId),
  why: { categoryIds: (d.matchedCategoryIds ?? []).map(String), groupIds: (d.matchedGroupIds ?? []).map(String) },
  fallbackOf: idOrNull(d.fallbackOf),
  sentAt: iso(d.sentAt),
  finishedAt: iso(d.finishedAt),
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
});

function waitOf(d: Delivery, now: Date, pausedUntil: Map<string, Date>) {
  const w = deliveryWait(d, now, pausedUntil);
  return w && { reason: w.reason, dueAt: w.dueAt.toISOString() };
}

/** The query string's filters, as the queries take them, narrowed to the key's scope; null when nothing is in it. */
export function filterOf(q: Static<typeof ExportQuery>, key: KeyIdentity): DeliveryFilter | null {
  const enterpriseId = enterpriseInScope(key, q.enterpriseId ? Number(q.enterpriseId) : undefined);
  if (enterpriseId === null) return null;
  return {
    departmentIds: departmentsInScope(key),
    policyId: q.policyId ? Number(q.policyId) : undefined,
    enterpriseId,
    contactId: q.contactId ? Number(q.contactId) : undefined,
    channel: q.channel,
    status: q.status,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
    provider: q.provider,
    errorCode: q.errorCode,
    q: q.q,
    recipient: q.recipient ? recipientAddress(q.recipient) : undefined,
    enterprise: q.enterprise?.trim() || undefined,
  };
}

/** An address as contacts keep it: a mobile in E.164, an email in lower case, anything else as an openid. */
export function recipientAddress(text: string): string {
  const given = text.trim();
  if (given.includes('@')) return given.toLowerCase();
  const phone = parsePhone(given);
  return phone.ok ? phone.e164 : given;
}

const RECEIPTS = new Set(['sent', 'delivered', 'undelivered', 'failed']);
type Entry = Static<typeof DeliveryDetail>['timeline'][number];
// Same instant: the order things happen in.
const ORDER: Record<Entry['type'], number> = {
  fallback_of: 0,
  matched: 1,
  merged: 2,
  digested: 2,
  attempt: 3,
  receipt: 4,
  event: 5,
  opened: 6,
  last_opened: 7,
  fallback: 8,
};

/** One delivery with why it matched and everything that happened to it, oldest first. */
export async function deliveryDetail(db: Database, id: number): Promise<Static<typeof DeliveryDetail>> {
  const story = await getDeliveryStory(db, id);
  if (!story) throw notFound('delivery');
  const d = story.delivery;
  const why = await deliveryWhy(db, d);
  const timeline: (Entry & { time: number })[] = [];
  const add = (at: Date, entry: Omit<Entry, 'at'>) => timeline.push({ at: at.toISOString(), time: at.getTime(), ...entry });

  if (story.fallbackOf) {
    const f = story.fallbackOf;
    add(f.finishedAt ?? d.createdAt, {
      type: 'fallback_of',
      deliveryId: String(f.id),
      channel: f.channel,
      status: f.status,
      errorCode: f.errorCode,
    });
  }
  add(d.createdAt, { type: 'matched', channel: d.channel });
  if (story.carriedBy) {
    const c = story.carriedBy;
    add(d.updatedAt, {
      type: d.status === 'merged' ? 'merged' : 'digested',
      deliveryId: String(c.id),
      channel: c.channel,
      status: c.status,
    });
  }
  for (const a of story.attempts) {
    add(a.createdAt, {
      type: 'attempt',
      attempt: a.attempt,
      outcome: a.outcome,
      provider: a.provider,
      providerCode: a.providerCode,
      providerMessageId: a.providerMessageId,
      error: a.error,
      latencyMs: a.latencyMs,
      worker: a.worker,
      response: a.response ?? null,
    });
  }
  for (const e of story.events) {
    // Opens are shown from their own record (first and last), not twice.
    if (e.type === 'opened') continue;
    add(e.occurredAt, {
      type: RECEIPTS.has(e.type) ? 'receipt' : 'event',
      event: e.type,
      errorCode: e.errorCode,
      payload: e.payload ?? null,
    });
  }
  if (story.opens) {
    add(story.opens.firstOpenedAt, { type: 'opened', opens: story.opens.opens });
    if (story.opens.opens > 1) add(story.opens.lastOpenedAt, { type: 'last_opened', opens: story.opens.opens });
  }
  for (const f of story.fallbacks) add(f.createdAt, { type: 'fallback', deliveryId: String(f.id), channel: f.channel, status: f.status });
  timeline.sort((a, b) => a.time - b.time || ORDER[a.type] - ORDER[b.type]);

  return {
    ...toDelivery(d, await deliveryContext(db, [d])),
    why: {
      categoryIds: (d.matchedCategoryIds ?? []).map(String),
      groupIds: (d.matchedGroupIds ?? []).map(String),
      categories: why.categories.map((c) => ({ ...c, id: String(c.id) })),
      groups: why.groups.map((g) => ({ ...g, id: String(g.id) })),
    },
    engagement: {
      firstOpenedAt: iso(story.opens?.firstOpenedAt ?? null),
      lastOpenedAt: iso(story.opens?.lastOpenedAt ?? null),
      opens: story.opens?.opens ?? 0,
      engagedAt: iso(story.opens?.engagedAt ?? null),
      machineOpens: story.opens?.machineOpens ?? 0,
    },
    timeline: timeline.map(({ time, ...entry }) => entry),
    archivedAt: iso(story.archivedAt),
    history: {
      attempts: story.attempts.map((a) => ({
        attempt: a.attempt,
        outcome: a.outcome,
        providerCode: a.providerCode,
        providerMessageId: a.providerMessageId,
        error: a.error,
        latencyMs: a.latencyMs,
        worker: a.worker,
        at: a.createdAt.toISOString(),
      })),
      events: story.events.map((e) => ({ type: e.type, errorCode: e.errorCode, at: e.occurredAt.toISOString() })),
    },
  };
}

/**
 * Re-queues the failed deliveries a filter names (requeueFailedDeliveries says which), audits it
 * and wakes the dispatchers, in one transaction. Only a published policy's can be retried.
 */
export async function retryDeliveries(db: Database, filter: RetryFilter, by: { apiKeyId: number; ip: string }): Promise<number> {
  return db.transaction(async (tx) => {
    const policy = await getPolicy(tx, filter.policyId);
    if (!policy) throw notFound('policy');
    if (policy.status !== 'published') {
      throw new ApiError(409, 'policy_not_published', `a ${policy.status} policy's deliveries cannot be retried`, [
        { path: 'policyId', code: 'policy_not_published' },
      ]);
    }
    const ids = await requeueFailedDeliveries(tx, filter);
    await audit(tx, by, {
      action: 'deliveries.retry',
      subjectType: 'policy',
      subjectId: filter.policyId,
      details: { filter: { ...filter, policyId: String(filter.policyId) }, count: ids.length },
    });
    if (ids.length) await notifyWork(tx);
    return ids.length;
  });
}
