import { createHash } from 'node:crypto';
import {
  type AudienceRule,
  changedFields,
  type Config,
  type FollowUpPlan,
  planFollowUp,
  policyAudience,
  type PlannedStep,
  statusOnPublish,
  validateRule,
} from '@policy-push/core';
import {
  type Database,
  deliveryCounts,
  docNumberTaken,
  getIdempotentAnswer,
  getPolicy,
  insertPolicyWithPush,
  listPolicyVersions,
  listReminderSteps,
  loadMatchTarget,
  missingReferences,
  type NewPolicy,
  notifyWork,
  type Policy,
  replaceReminderPlan,
  type ReminderStepRow,
  type PolicyVersionRow,
  previewAudience,
  type Push,
  type Queryable,
  reminderCounts,
  saveIdempotentAnswer,
} from '@policy-push/db';
import type { Static } from 'typebox';
import { ApiError, conflict, type FieldProblem, isUniqueViolation, notFound, unprocessable } from '../../errors';
import { messageView, previewSamples } from '../../services/rendered-messages';
import { audit } from '../../services/audit';
import type { PolicyBody } from './policies-schemas';

export type PolicyInput = Static<typeof PolicyBody>;

/** REMINDER_MAX_STEPS's default, for callers that are given no config. */
const DEFAULT_MAX_STEPS = 3;

/** The follow-up plan of a publish, checked against its dates (follow-up.ts). */
export function followUpOf(body: PolicyInput, values: NewPolicy, now: Date, maxSteps: number) {
  return planFollowUp({
    plan: (body.followUp as FollowUpPlan | undefined) ?? null,
    actionBy: values.actionBy ?? null,
    publishAt: values.publishAt ?? now,
    validUntil: values.validUntil ?? null,
    now,
    maxSteps,
  });
}

/** Checks everything a publish depends on; answers the row to insert or throws a 4xx naming each field. */
export async function checkPolicy(db: Queryable, body: PolicyInput, now = new Date(), maxSteps = DEFAULT_MAX_STEPS): Promise<NewPolicy> {
  const problems: FieldProblem[] = [];
  const groupIds = (body.audience?.groupIds ?? []).map(Number);
  const categoryIds = body.categoryIds.map(Number);
  const missing = await missingReferences(db, { departmentId: Number(body.departmentId), categoryIds, groupIds });
  if (missing.department) problems.push({ path: 'departmentId', code: 'unknown_department' });
  categoryIds.forEach((id, i) => missing.categoryIds.includes(id) && problems.push({ path: `categoryIds.${i}`, code: 'unknown_category' }));
  groupIds.forEach((id, i) => missing.groupIds.includes(id) && problems.push({ path: `audience.groupIds.${i}`, code: 'unknown_group' }));
  const rule = body.audience?.rule as AudienceRule | undefined;
  if (rule) {
    for (const p of validateRule(rule)) problems.push({ path: ['audience.rule', p.path].filter(Boolean).join('.'), code: p.code });
  }
  const publishAt = body.publishAt ? new Date(body.publishAt) : now;
  if (publishAt < now) problems.push({ path: 'publishAt', code: 'publish_at_in_past' });
  const validUntil = body.validUntil ? new Date(body.validUntil) : null;
  if (validUntil && validUntil <= publishAt) problems.push({ path: 'validUntil', code: 'valid_until_before_publish' });
  const actionBy = body.actionBy ? new Date(body.actionBy) : null;
  problems.push(...followUpOf(body, { actionBy, publishAt, validUntil } as NewPolicy, now, maxSteps).problems);
  if (problems.length)
    throw unprocessable(problems, `the policy cannot be published: ${problems.map((p) => `${p.path} ${p.code}`).join(', ')}`);

  if (await docNumberTaken(db, Number(body.departmentId), body.docNumber)) throw duplicateDocNumber();
  return {
    departmentId: Number(body.departmentId),
    docNumber: body.docNumber,
    title: body.title,
    summary: body.summary,
    titleEn: body.titleEn ?? null,
    summaryEn: body.summaryEn ?? null,
    url: body.url,
    interpretationUrls: body.interpretationUrls ?? [],
    categoryIds,
    targetGroupIds: groupIds,
    audienceRule: rule ?? null,
    priority: body.priority ?? 'normal',
    status: statusOnPublish(publishAt, now),
    publishAt,
    validUntil,
    actionBy,
  };
}

const duplicateDocNumber = () =>
  conflict('docNumber', 'duplicate_doc_number', 'the department already has a policy with this document number');

export interface Answer {
  statusCode: number;
  body: unknown;
}

/** Who publishes: the key (and its mode: a test key's policies go through the sandbox only) and the client address. */
export interface Publisher {
  apiKeyId: number;
  ip: string;
  test: boolean;
}

/**
 * Publishes a policy: the policy, its push and the audit row are written in one transaction and
 * the dispatchers are woken at commit. With an Idempotency-Key, the same key and body answer what
 * the first request answered, for 24 hours; the same key with another body is refused.
 */
export async function publishPolicy(
  db: Database,
  body: PolicyInput,
  by: Publisher,
  idempotencyKey: string | undefined,
  present: (policy: Policy, push: Push, tx: Queryable) => Promise<unknown>,
  /** Limits on what the publish may send (publish-limits.ts), checked before anything is written. */
  checkLimits?: (values: NewPolicy) => Promise<void>,
  reminderMaxSteps = DEFAULT_MAX_STEPS,
): Promise<Answer> {
  const { apiKeyId } = by;
  const requestHash = hashBody(body);
  if (idempotencyKey) {
    const earlier = await getIdempotentAnswer(db, apiKeyId, idempotencyKey);
    if (earlier) return replay(earlier, requestHash);
  }
  const now = new Date();
  const values = { ...(await checkPolicy(db, body, now, reminderMaxSteps)), test: by.test };
  const steps: PlannedStep[] = followUpOf(body, values, now, reminderMaxSteps).steps;
  await checkLimits?.(values);
  try {
    return await db.transaction(async (tx) => {
      const { policy, push } = await insertPolicyWithPush(tx, values);
      await replaceReminderPlan(tx, policy.id, steps);
      await audit(tx, by, {
        action: 'policy.publish',
        subjectType: 'policy',
        subjectId: policy.id,
        details: { departmentId: String(policy.departmentId), docNumber: policy.docNumber, status: policy.status, test: policy.test },
      });
      const answer = { statusCode: 202, body: await present(policy, push, tx) };
      if (idempotencyKey) await saveIdempotentAnswer(tx, { apiKeyId, key: idempotencyKey, requestHash, ...answer });
      await notifyWork(tx);
      return answer;
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // Either the document number was taken meanwhile, or a concurrent request with the same
    // idempotency key won the race: then answer what it answered.
    const earlier = idempotencyKey ? await getIdempotentAnswer(db, apiKeyId, idempotencyKey) : undefined;
    if (earlier) return replay(earlier, requestHash);
    throw duplicateDocNumber();
  }
}

function replay(earlier: { requestHash: string; statusCode: number; response: unknown }, requestHash: string): Answer {
  if (earlier.requestHash !== requestHash) {
    throw new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request body', [
      { path: 'Idempotency-Key', code: 'idempotency_key_reused' },
    ]);
  }
  return { statusCode: earlier.statusCode, body: earlier.response };
}

/** A hash of the body that does not depend on the order of its keys. */
function hashBody(body: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(body)))
    .digest('hex');
}

export async function pushProgress(db: Queryable, push: Push) {
  const counts = await deliveryCounts(db, push.policyId, push.policyVersion);
  const matched = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    id: String(push.id),
    policyId: String(push.policyId),
    version: push.policyVersion,
    status: push.status,
    startAt: push.startAt.toISOString(),
    matched,
    pending: counts.pending,
    sending: counts.sending,
    sent: counts.sent,
    delivered: counts.delivered,
    undelivered: counts.undelivered,
    failed: counts.failed,
    cancelled: counts.cancelled,
    suppressed: counts.suppressed,
    held: counts.held,
    digested: counts.digested,
    merged: counts.merged,
    done: push.status === 'fanned_out' && counts.pending + counts.sending === 0,
  };
}

export const toPolicy = (p: Policy) => ({
  id: String(p.id),
  departmentId: String(p.departmentId),
  docNumber: p.docNumber,
  title: p.title,
  summary: p.summary,
  titleEn: p.titleEn,
  summaryEn: p.summaryEn,
  url: p.url,
  interpretationUrls: p.interpretationUrls,
  categoryIds: p.categoryIds.map(String),
  audience: { groupIds: p.targetGroupIds.map(String), rule: p.audienceRule ?? null },
  priority: p.priority,
  status: p.status,
  version: p.version,
  test: p.test,
  publishAt: p.publishAt.toISOString(),
  validUntil: p.validUntil ? p.validUntil.toISOString() : null,
  actionBy: p.actionBy ? p.actionBy.toISOString() : null,
  createdAt: p.createdAt.toISOString(),
  updatedAt: p.updatedAt.toISOString(),
});

/** One version as the API shows it, with what changed since the one before (policy-changes.ts). */
export function toPolicyVersion(v: PolicyVersionRow, before: PolicyVersionRow | undefined) {
  const s = v.snapshot;
  const facts = (r: PolicyVersionRow) => ({
    title: r.title,
    summary: r.summary,
    url: r.url,
    interpretationUrls: r.interpretationUrls,
    validUntil: r.validUntil,
  });
  return {
    policyId: String(v.policyId),
    version: v.version,
    recordedAt: v.recordedAt ? v.recordedAt.toISOString() : null,
    snapshot: s ? ('complete' as const) : ('partial' as const),
    policy: {
      docNumber: s?.docNumber ?? null,
      title: v.title,
      summary: v.summary,
      titleEn: s?.titleEn ?? null,
      summaryEn: s?.summaryEn ?? null,
      url: v.url,
      interpretationUrls: v.interpretationUrls,
      categoryIds: s ? s.categoryIds.map(String) : null,
      audience: s ? { groupIds: s.targetGroupIds.map(String), rule: s.audienceRule ?? null } : null,
      priority: s?.priority ?? null,
      publishAt: s?.publishAt ?? null,
      validUntil: v.validUntil ? v.validUntil.toISOString() : null,
    },
    department: s
      ? {
          id: String(s.department.id),
          nameZh: s.department.nameZh,
          nameEn: s.department.nameEn,
          smsSignature: s.department.smsSignature,
          wechatTemplateId: s.department.wechatTemplate?.templateId ?? null,
        }
      : null,
    changes: before ? changedFields(facts(before), facts(v)) : null,
  };
}

/** A follow-up step as the API shows it: its delay in the form it was given in (hours as PnDTnH). */
export function toReminderStep(r: ReminderStepRow) {
  const days = Math.floor(r.offsetHours / 24);
  const hours = r.offsetHours % 24;
  const delay = `P${days ? `${days}D` : ''}${hours ? `T${hours}H` : ''}`;
  return {
    step: r.step,
    ...(r.anchor === 'publish' ? { afterPublish: delay } : { beforeActionBy: delay }),
    dueAt: r.dueAt.toISOString(),
    status: r.status,
    doneAt: r.doneAt ? r.doneAt.toISOString() : null,
    reminders: r.reminders,
  };
}

/** A policy's versions, oldest first, each with what changed since the one before. */
export async function policyVersions(db: Queryable, policyId: number) {
  const rows = await listPolicyVersions(db, policyId);
  return rows.map((v, i) => toPolicyVersion(v, i > 0 && rows[i - 1].version === v.version - 1 ? rows[i - 1] : undefined));
}

/** How many contacts a preview samples (each with why it matched) and renders messages for. */
const PREVIEW_SAMPLE = 20;

/** Who a publish would reach, per channel, with a sample, why each matched and their messages; writes nothing. */
export async function previewPolicy(
  db: Queryable,
  config: Pick<Config, 'dispatcher' | 'publicBaseUrl' | 'smsSegmentBudget'>,
  body: PolicyInput,
  maxSteps: number,
) {
  const values = await checkPolicy(db, body, new Date(), maxSteps);
  const target = await loadMatchTarget(db, policyAudience(values), { requireConfirmedEmail: config.dispatcher.requireConfirmedEmail });
  const preview = await previewAudience(db, target, PREVIEW_SAMPLE);
  const samples = await previewSamples(db, config, values, preview);
  return {
    ...preview,
    messages: samples.map((s) => ({ contactId: String(s.contactId), message: messageView(s.message, s.locale) })),
    sample: preview.sample.map((s) => ({
      enterpriseId: String(s.enterpriseId),
      enterpriseName: s.enterpriseName,
      contactId: String(s.contactId),
      channel: s.channel,
      status: s.status,
      why: { categories: s.categoryCodes, groups: s.groupNames },
    })),
  };
}

/** A policy's follow-up steps and what became of its reminders. */
export async function reminderReport(db: Queryable, policyId: number) {
  const policy = await getPolicy(db, policyId);
  if (!policy) throw notFound('policy');
  const counts = await reminderCounts(db, policy.id);
  return {
    actionBy: policy.actionBy ? policy.actionBy.toISOString() : null,
    steps: (await listReminderSteps(db, policy.id)).map(toReminderStep),
    deliveries: counts.byStatus,
    tooLate: counts.tooLate,
    engagedBeforeSend: counts.engagedBeforeSend,
  };
}
