import { Type } from 'typebox';
import { AudienceRule } from '../../schemas/audience-rule';
import { Id, Timestamp } from '../../schemas/common';
import { RenderedMessage } from '../../services/rendered-messages';

const Url = Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 });

const Delay = Type.String({
  maxLength: 20,
  description: "an ISO 8601 duration in whole days and/or hours, greater than zero: 'P3D', 'PT36H', 'P1DT12H'",
});
const ActionBy = Type.String({
  format: 'date-time',
  description: 'what the policy asks must be done by then (an application window closing): after now and publishAt, not after validUntil',
});
export const FollowUpPlan = Type.Object(
  {
    steps: Type.Array(
      Type.Union([
        Type.Object({ afterPublish: Delay }, { additionalProperties: false }),
        Type.Object({ beforeActionBy: Delay }, { additionalProperties: false }),
      ]),
      { maxItems: 20, description: 'at most REMINDER_MAX_STEPS (default 3) steps over the policy’s life' },
    ),
  },
  {
    additionalProperties: false,
    description:
      'Follow-up reminders: at each step, every targeted enterprise none of whose contacts has engaged with the policy (opened ' +
      'its link, or read it in the inbox) is reminded once per address, on the channel after the one it was last tried on. ' +
      'afterPublish counts from publication, beforeActionBy back from actionBy (which it requires). Steps belong to the policy, ' +
      'not to a version; revoking or expiry cancels the steps not yet taken.',
  },
);

export const PolicyBody = Type.Object(
  {
    departmentId: Id,
    docNumber: Type.String({ minLength: 1, maxLength: 100, description: 'document number, unique within the department' }),
    title: Type.String({ minLength: 1, maxLength: 200 }),
    summary: Type.String({ minLength: 1, maxLength: 2000 }),
    titleEn: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    summaryEn: Type.Optional(Type.String({ minLength: 1, maxLength: 3000 })),
    url: Url,
    interpretationUrls: Type.Optional(Type.Array(Url, { maxItems: 10 })),
    categoryIds: Type.Array(Id, { minItems: 1, maxItems: 20, uniqueItems: true }),
    audience: Type.Optional(
      Type.Object(
        {
          groupIds: Type.Optional(Type.Array(Id, { maxItems: 50, uniqueItems: true, description: 'target service groups' })),
          rule: Type.Optional(AudienceRule),
        },
        { additionalProperties: false, description: 'in any target group, or matching the rule; everyone subscribed when absent' },
      ),
    ),
    priority: Type.Optional(Type.Union([Type.Literal('normal'), Type.Literal('urgent')], { default: 'normal' })),
    publishAt: Type.Optional(Type.String({ format: 'date-time', description: 'push later; now when absent' })),
    validUntil: Type.Optional(Type.String({ format: 'date-time' })),
    actionBy: Type.Optional(ActionBy),
    followUp: Type.Optional(FollowUpPlan),
    confirmLargeAudience: Type.Optional(
      Type.Boolean({ description: 'required (true) when the audience is larger than LARGE_AUDIENCE_THRESHOLD contacts' }),
    ),
  },
  { additionalProperties: false },
);

export const Policy = Type.Object({
  id: Id,
  departmentId: Id,
  docNumber: Type.String(),
  title: Type.String(),
  summary: Type.String(),
  titleEn: Type.Union([Type.String(), Type.Null()]),
  summaryEn: Type.Union([Type.String(), Type.Null()]),
  url: Type.String(),
  interpretationUrls: Type.Array(Type.String()),
  categoryIds: Type.Array(Id),
  audience: Type.Object({ groupIds: Type.Array(Id), rule: Type.Union([Type.Unknown(), Type.Null()]) }),
  priority: Type.String(),
  status: Type.String({ description: 'scheduled | published | revoked | expired | cancelled' }),
  version: Type.Integer(),
  test: Type.Boolean({ description: 'published with a test key: sent through the sandbox only, left out of reach reports' }),
  publishAt: Timestamp,
  validUntil: Type.Union([Timestamp, Type.Null()]),
  actionBy: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const count = Type.Integer({ minimum: 0 });
export const PushProgress = Type.Object({
  id: Id,
  policyId: Id,
  version: Type.Integer(),
  status: Type.String({ description: 'fanning_out | fanned_out' }),
  startAt: Timestamp,
  matched: Type.Integer({ minimum: 0, description: 'the sum of the counts by status below' }),
  pending: count,
  sending: count,
  sent: count,
  delivered: count,
  undelivered: count,
  failed: count,
  cancelled: count,
  suppressed: count,
  held: count,
  digested: count,
  merged: Type.Integer({ minimum: 0, description: 'carried by another delivery to the same address (one address, one message)' }),
  done: Type.Boolean({ description: 'fanned out, and nothing left pending or sending' }),
});

export const PublishResponse = Type.Object({ policy: Policy, push: PushProgress });

const byChannel = Type.Object({ wechat: count, sms: count, email: count });
export const PreviewResponse = Type.Object({
  enterprises: count,
  contacts: count,
  deliveries: count,
  byChannel,
  held: count,
  sample: Type.Array(
    Type.Object({
      enterpriseId: Id,
      enterpriseName: Type.String(),
      contactId: Id,
      channel: Type.String(),
      status: Type.String({ description: 'pending, or held for a digest' }),
      why: Type.Object({
        categories: Type.Array(Type.String(), {
          description: 'codes of the subscribed categories that matched; empty when matched by department',
        }),
        groups: Type.Array(Type.String(), { description: 'names of the target groups the enterprise is in' }),
      }),
    }),
  ),
  messages: Type.Array(Type.Object({ contactId: Id, message: RenderedMessage }), {
    description:
      'per channel and per language among the sampled contacts, the message such a contact would get, exactly as it would be sent: links through /r/ and the ' +
      'unsubscribe link with tokens of their real length (signed with a key nobody holds: they open nothing), SMS segments ' +
      'counted on that text',
  }),
});

export const PolicyAmendment = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    summary: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    titleEn: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 300 }), Type.Null()])),
    summaryEn: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 3000 }), Type.Null()])),
    url: Type.Optional(Url),
    interpretationUrls: Type.Optional(Type.Array(Url, { maxItems: 10 })),
    validUntil: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    publishAt: Type.Optional(Type.String({ format: 'date-time', description: 'only while the policy is still scheduled' })),
    actionBy: Type.Optional(Type.Union([ActionBy, Type.Null()], { description: 'moves the follow-up steps not yet taken' })),
    followUp: Type.Optional(
      Type.Union([FollowUpPlan, Type.Null()], { description: 'replaces the follow-up steps not yet taken; null drops them' }),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description:
      'A published policy becomes a new version: prior recipients get one short update notice, unsent deliveries of the old ' +
      'version are cancelled and replaced, newly matched enterprises get the policy. A scheduled policy is edited in place.',
  },
);

export const Revocation = Type.Object(
  {
    reason: Type.String({ minLength: 1, maxLength: 500 }),
    notifyRecipients: Type.Optional(Type.Boolean({ default: false, description: 'send a revocation notice to those already reached' })),
  },
  { additionalProperties: false },
);

const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const orNull = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
export const PolicyVersion = Type.Object({
  policyId: Id,
  version: Type.Integer({ minimum: 1 }),
  recordedAt: Type.Union([Timestamp, Type.Null()], {
    description: 'when the version was recorded: at its publication, or for versions before snapshots when it was amended away',
  }),
  snapshot: Type.String({
    enum: ['complete', 'partial'],
    description:
      'complete: the whole policy as published, with its department’s SMS signature and WeChat template then. partial: a ' +
      'version recorded before snapshots were kept: only its title, summary, links and validity; every other field is null',
  }),
  policy: Type.Object({
    docNumber: orNull(Type.String()),
    title: Type.String(),
    summary: Type.String(),
    titleEn: orNull(Type.String()),
    summaryEn: orNull(Type.String()),
    url: Type.String(),
    interpretationUrls: Type.Array(Type.String()),
    categoryIds: orNull(Type.Array(Id)),
    audience: orNull(Type.Object({ groupIds: Type.Array(Id), rule: Type.Union([Type.Unknown(), Type.Null()]) })),
    priority: orNull(Type.String()),
    publishAt: NullableTimestamp,
    validUntil: NullableTimestamp,
  }),
  department: orNull(
    Type.Object({
      id: Id,
      nameZh: Type.String(),
      nameEn: Type.String(),
      smsSignature: Type.String(),
      wechatTemplateId: orNull(Type.String()),
    }),
  ),
  changes: orNull(
    Type.Array(Type.String({ enum: ['title', 'summary', 'validity', 'links'] }), {
      description: 'what changed since the version before, as the update notice says it; null for the first version',
    }),
  ),
});

export const PolicyVersionList = Type.Object({ items: Type.Array(PolicyVersion) });

export const VersionParams = Type.Object(
  { id: Id, version: Type.String({ pattern: '^[1-9][0-9]{0,8}$', description: 'a version number' }) },
  { additionalProperties: false },
);

export const ReminderStep = Type.Object({
  step: Type.Integer({ minimum: 1 }),
  afterPublish: Type.Optional(Type.String()),
  beforeActionBy: Type.Optional(Type.String()),
  dueAt: Timestamp,
  status: Type.String({ description: 'planned | done | cancelled' }),
  doneAt: Type.Union([Timestamp, Type.Null()]),
  reminders: Type.Integer({ minimum: 0, description: 'reminder deliveries the step created' }),
});

export const ReminderReport = Type.Object({
  actionBy: Type.Union([Timestamp, Type.Null()]),
  steps: Type.Array(ReminderStep),
  deliveries: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'reminder deliveries by status' }),
  tooLate: Type.Integer({ minimum: 0, description: 'dropped: the daily cap or quiet hours would have sent them after actionBy' }),
  engagedBeforeSend: Type.Integer({ minimum: 0, description: 'cancelled at send: the enterprise had engaged meanwhile' }),
});
