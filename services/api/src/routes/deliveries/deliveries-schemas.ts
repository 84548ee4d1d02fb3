import { DELIVERY_STATUSES, FAILED_STATUSES, WAIT_REASONS } from '@policy-push/db';
import { Type } from 'typebox';
import { CHANNELS } from '@policy-push/core';
import { Id, PageQuery, Timestamp } from '../../schemas/common';
import { RenderedMessage } from '../../services/rendered-messages';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
export const STATUSES = [...DELIVERY_STATUSES];
const Channel = Type.String({ enum: [...CHANNELS] });

export const DeliverySchema = Type.Object({
  id: Id,
  policyId: Nullable(Id),
  policyVersion: Nullable(Type.Integer()),
  enterpriseId: Id,
  contactId: Id,
  channel: Type.String(),
  kind: Type.String(),
  status: Type.String(),
  priority: Type.String({ description: 'urgent | normal' }),
  attempts: Type.Integer(),
  nextAttemptAt: Timestamp,
  providerMessageId: Nullable(Type.String()),
  errorCode: Nullable(Type.String()),
  wait: Nullable(
    Type.Object(
      {
        reason: Type.String({
          enum: [...WAIT_REASONS],
          description:
            'digest_daily / digest_weekly: held for the next digest; recipient_cap: over the per-recipient daily cap, held for the next daily digest; quiet_hours: until the contact’s quiet hours end; paused: its channel is paused (a provider’s 429 or quota); allowance: the provider’s per-second or daily allowance is spent; circuit_open: the provider keeps failing; retry: waiting to retry after a temporary failure',
        }),
        dueAt: Type.String({
          format: 'date-time',
          description: 'when it is due: 08:30 Asia/Shanghai of the next digest, the end of quiet hours or of the pause',
        }),
      },
      { description: 'why a held or waiting delivery has not gone yet, and when it will; null when it does not wait' },
    ),
  ),
  test: Type.Boolean({ description: 'its policy was published with a test key: sent through the sandbox only' }),
  why: Type.Object({ categoryIds: Type.Array(Id), groupIds: Type.Array(Id) }),
  fallbackOf: Nullable(Id),
  sentAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** The filters the log, the export and the console share. */
export const FilterQuery = {
  policyId: Type.Optional(Id),
  enterpriseId: Type.Optional(Id),
  contactId: Type.Optional(Id),
  channel: Type.Optional(Channel),
  status: Type.Optional(Type.String({ enum: STATUSES })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'created at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'created before' })),
  provider: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9_-]{1,40}$',
      description: 'a provider that handled one of its attempts: twilio, wechat, smtp, sandbox…',
    }),
  ),
  errorCode: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\s]+$', description: "the delivery's last error code" }),
  ),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "free text in the policy's title" })),
  recipient: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'to this address, exactly: a phone number (any usual form of a mobile: 13812345678, +86 138 1234 5678), an email (any case) or a WeChat openid',
    }),
  ),
  enterprise: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'to the contacts of the enterprise with this unified social credit code, or of those (at most 50) with this text in their name',
    }),
  ),
};

export const ListQuery = Type.Object({ ...PageQuery, ...FilterQuery }, { additionalProperties: false });
export const ExportQuery = Type.Object(FilterQuery, { additionalProperties: false });

const TimelineEntry = Type.Object(
  {
    at: Timestamp,
    type: Type.String({
      enum: ['matched', 'attempt', 'receipt', 'event', 'opened', 'last_opened', 'fallback_of', 'fallback', 'merged', 'digested'],
      description:
        'matched: the delivery was made; attempt: a provider call; receipt: a provider receipt; event: another event (unsubscribed…); opened / last_opened: its link was opened; fallback_of: it took over from an earlier delivery; fallback: a later one took over from it; merged / digested: another delivery carried its message',
    }),
    attempt: Type.Optional(Type.Integer()),
    outcome: Type.Optional(Type.String()),
    provider: Type.Optional(Nullable(Type.String())),
    providerCode: Type.Optional(Nullable(Type.String())),
    providerMessageId: Type.Optional(Nullable(Type.String())),
    error: Type.Optional(Nullable(Type.String())),
    latencyMs: Type.Optional(Type.Integer()),
    worker: Type.Optional(Type.String()),
    response: Type.Optional(Type.Unknown({ description: "the provider's raw answer" })),
    event: Type.Optional(Type.String()),
    errorCode: Type.Optional(Nullable(Type.String())),
    payload: Type.Optional(Type.Unknown({ description: 'the receipt as the provider sent it' })),
    deliveryId: Type.Optional(Id),
    channel: Type.Optional(Type.String()),
    status: Type.Optional(Type.String()),
    opens: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

export const DeliveryDetail = Type.Object({
  ...DeliverySchema.properties,
  why: Type.Object({
    categoryIds: Type.Array(Id),
    groupIds: Type.Array(Id),
    categories: Type.Array(Type.Object({ id: Id, code: Type.String(), nameZh: Type.String() })),
    groups: Type.Array(Type.Object({ id: Id, name: Type.String() })),
  }),
  engagement: Type.Object({
    firstOpenedAt: Nullable(Timestamp),
    lastOpenedAt: Nullable(Timestamp),
    opens: Type.Integer(),
    engagedAt: { ...Nullable(Timestamp), description: "the first open counted as a person's (README, How engagement is decided)" },
    machineOpens: Type.Integer({ description: 'opens by machines (HEAD, mail scanners, within 60 s of the send): recorded, not counted' }),
  }),
  timeline: Type.Array(TimelineEntry, { description: 'everything that happened to it, oldest first' }),
  archivedAt: Type.Union([Timestamp, Type.Null()], {
    description: 'when it moved to the archive (RETENTION_DAYS after its policy ended); null while it is in the outbox',
  }),
  history: Type.Object({
    attempts: Type.Array(
      Type.Object({
        attempt: Type.Integer(),
        outcome: Type.String(),
        providerCode: Nullable(Type.String()),
        providerMessageId: Nullable(Type.String()),
        error: Nullable(Type.String()),
        latencyMs: Type.Integer(),
        worker: Type.String(),
        at: Timestamp,
      }),
    ),
    events: Type.Array(Type.Object({ type: Type.String(), errorCode: Nullable(Type.String()), at: Timestamp })),
  }),
});

export const RetryBody = Type.Object(
  {
    policyId: Id,
    channel: Type.Optional(Channel),
    errorCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\s]+$' })),
    status: Type.Optional(Type.String({ enum: [...FAILED_STATUSES], description: 'both when absent' })),
  },
  { additionalProperties: false },
);

export const RetryResponse = Type.Object({ requeued: Type.Integer({ minimum: 0 }) });

export const DeliveryMessage = Type.Object({
  deliveryId: Id,
  policyId: Id,
  policyVersion: Type.Integer(),
  kind: Type.String({ description: 'policy | update | revocation' }),
  status: Type.String(),
  to: Nullable(Type.String({ description: "the contact's address on the channel as it is now; masked for ops and publishers" })),
  renderedFrom: Type.String({
    enum: ['version_snapshot', 'current_policy'],
    description:
      'version_snapshot: from the version as it was published, with the department’s SMS signature and WeChat template then. ' +
      'current_policy: the version was recorded before snapshots were kept; its texts where they were kept, the rest ' +
      '(English texts, the department’s signature and template) as they are now',
  }),
  links: Type.String({
    enum: ['signed_again', 'removed'],
    description:
      'signed_again (admins): the links are signed anew for this delivery, dated when it was sent: working links of the same ' +
      'length as those sent. removed (everyone else): each signed token is replaced by …',
  }),
  message: RenderedMessage,
});
