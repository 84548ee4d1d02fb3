import { REACH_RULES } from '@policy-push/db';
import { Type } from 'typebox';
import { Id, Timestamp } from '../../schemas/common';

export const REACH_DESCRIPTION = REACH_RULES;

const Rate = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description: 'null when nothing was targeted' });

const n = Type.Integer({ minimum: 0 });
const Counts = {
  targeted: Type.Integer({ minimum: 0, description: 'every enterprise the policy matched (see addressableKnown)' }),
  addressable: Type.Integer({
    minimum: 0,
    description: 'targeted enterprises with a delivery: a contact reachable on a channel they accept',
  }),
  unaddressable: Type.Object(
    { noContact: n, noAddress: n, optedOut: n, emailUnconfirmed: n },
    { description: 'targeted enterprises that were not addressable, by why (on the all-channel rows; zero by channel)' },
  ),
  withDelivery: Type.Integer({ minimum: 0 }),
  sent: Type.Integer({ minimum: 0 }),
  delivered: Type.Integer({ minimum: 0 }),
  reached: Type.Integer({ minimum: 0 }),
  engaged: Type.Integer({ minimum: 0 }),
  lateMatched: Type.Integer({
    minimum: 0,
    description: 'of the targeted, enterprises matched late (subscribed or changed profile after the policy went out) and caught up once',
  }),
  reachRate: { ...Rate, description: '到達率: reached ÷ targeted' },
  awareness: { ...Rate, description: '知曉度: engaged ÷ targeted' },
};
const Named = { nameZh: Type.Union([Type.String(), Type.Null()]), nameEn: Type.Union([Type.String(), Type.Null()]) };

const Failure = Type.Object({ channel: Type.String(), errorCode: Type.String(), deliveries: Type.Integer({ minimum: 0 }) });

const Breakdown = {
  addressableKnown: Type.Boolean({
    description:
      'false when a policy in scope was pushed before unaddressable enterprises were recorded: its targeted counts only enterprises with a delivery',
  }),
  upToDate: Type.Boolean({ description: 'false while changes were still waiting to be counted (a few seconds behind)' }),
  totals: Type.Object(Counts),
  followUps: Type.Object(
    {
      remindersSent: Type.Integer({ minimum: 0, description: 'reminder messages sent' }),
      reminded: Type.Integer({ minimum: 0, description: 'enterprises sent at least one reminder' }),
      engagedAfterReminder: Type.Integer({ minimum: 0, description: 'of those, the ones engaged after their first reminder went out' }),
      engagedAfterReminderRate: { ...Rate, description: 'engagedAfterReminder ÷ reminded; null when none was reminded' },
    },
    { description: 'follow-ups (reminders), over all channels' },
  ),
  byChannel: Type.Array(Type.Object({ channel: Type.String(), ...Counts })),
  byDistrict: Type.Array(Type.Object({ district: Type.String({ description: 'GB/T 2260 code' }), ...Named, ...Counts })),
  bySection: Type.Array(Type.Object({ section: Type.String({ description: 'GB/T 4754 section letter' }), ...Named, ...Counts })),
  bySize: Type.Array(Type.Object({ size: Type.String(), ...Named, ...Counts })),
  failures: Type.Array(Failure, { description: 'failed and undelivered deliveries by channel and provider error code, most first' }),
};

export const PolicyReach = Type.Object({ policyId: Id, ...Breakdown }, { description: REACH_DESCRIPTION });

export const ReachReportQuery = Type.Object(
  {
    departmentId: Type.Optional(Id),
    categoryId: Type.Optional({ ...Id, description: 'the category and its subcategories' }),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'policies published at or after' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'policies published before' })),
  },
  { additionalProperties: false },
);

export const ReachReport = Type.Object(
  {
    filter: Type.Object({
      departmentId: Type.Union([Id, Type.Null()]),
      categoryId: Type.Union([Id, Type.Null()]),
      from: Type.Union([Timestamp, Type.Null()]),
      to: Type.Union([Timestamp, Type.Null()]),
    }),
    policies: Type.Integer({ minimum: 0, description: 'policies in the report' }),
    ...Breakdown,
    byDepartment: Type.Array(Type.Object({ departmentId: Id, code: Type.Union([Type.String(), Type.Null()]), ...Named, ...Counts })),
    byCategory: Type.Array(
      Type.Object(
        { categoryId: Id, code: Type.Union([Type.String(), Type.Null()]), ...Named, ...Counts },
        {
          description: 'a policy counts under each of its own categories',
        },
      ),
    ),
  },
  { description: REACH_DESCRIPTION },
);

const CSV_NOTE = 'JSON by default; CSV (UTF-8 with BOM, for Excel, every gap streamed) with format=csv or Accept: text/csv.';
export const GAPS_DESCRIPTION =
  'Every targeted enterprise the policy did not reach, with why: no_contact, no_address (no address for the channels it accepts), ' +
  'opted_out (unaddressable for it, or suppressed since), email_unconfirmed, held (waiting for a digest), in_progress (being sent), ' +
  'awaiting_receipt (sent, no delivery receipt yet), failed (each channel with its provider error code), cancelled. ' +
  'With its district and industry, and its contacts now, to fix. Admins see enterprise names and addresses; publishers (their ' +
  'departments only) and ops see them masked. ' +
  CSV_NOTE;

const Format = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: CSV_NOTE }));
const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 }));
const GapCursor = Type.Optional(Type.String({ pattern: '^[0-9]{1,19}\\.[0-9]{1,19}$', description: 'nextCursor of the previous page' }));

export const PolicyGapsQuery = Type.Object({ limit: Limit, cursor: GapCursor, format: Format }, { additionalProperties: false });
export const ReportGapsQuery = Type.Object(
  { ...ReachReportQuery.properties, limit: Limit, cursor: GapCursor, format: Format },
  { additionalProperties: false },
);

const Gap = Type.Object({
  policyId: Id,
  enterpriseId: Id,
  enterpriseName: Type.Union([Type.String(), Type.Null()], { description: 'masked for publishers and ops' }),
  creditCode: Type.Union([Type.String(), Type.Null()]),
  district: Type.String({ description: 'GB/T 2260 code' }),
  ...Named,
  industrySection: Type.String({ description: 'GB/T 4754 section letter' }),
  size: Type.String(),
  reason: Type.String({ description: 'why it was not reached (see the description)' }),
  failures: Type.Array(Type.Object({ channel: Type.String(), errorCode: Type.String() })),
  deliveries: Type.Array(
    Type.Object({ channel: Type.String(), status: Type.String(), errorCode: Type.Union([Type.String(), Type.Null()]) }),
    { description: "the policy's deliveries to it, each in the state of the message that carries it" },
  ),
  contacts: Type.Array(
    Type.Object({
      contactId: Id,
      phone: Type.Union([Type.String(), Type.Null()]),
      email: Type.Union([Type.String(), Type.Null()]),
      wechatOpenid: Type.Union([Type.String(), Type.Null()]),
    }),
    { description: 'its first contacts now; addresses masked for publishers and ops' },
  ),
});

export const GapsPage = Type.Object({
  upToDate: Type.Boolean({ description: 'false while changes were still waiting to be counted' }),
  items: Type.Array(Gap),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const TIMELINE_DESCRIPTION =
  'Reach over time: per hour or per day (days in Asia/Shanghai), the enterprises that became reached and engaged in the bucket, ' +
  'and the running totals. Kept by the same bookkeeping as the reach counters (never a scan of the deliveries): the last ' +
  'cumulative values equal the policy’s reached and engaged totals. A pair that stops being reached (an email that bounced ' +
  'since) leaves its bucket. Only buckets where something happened are listed.';

export const TimelineQuery = Type.Object(
  { bucket: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'day', description: 'bucket size' })) },
  { additionalProperties: false },
);

export const ReachTimeline = Type.Object(
  {
    policyId: Id,
    bucket: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
    upToDate: Type.Boolean({ description: 'false while changes were still waiting to be counted (a few seconds behind)' }),
    points: Type.Array(
      Type.Object({
        at: { ...Timestamp, description: "the bucket's start" },
        reached: Type.Integer({ description: 'enterprises that became reached in the bucket (net)' }),
        engaged: Type.Integer({ description: 'enterprises that became engaged in the bucket (net)' }),
        cumulativeReached: Type.Integer({ minimum: 0 }),
        cumulativeEngaged: Type.Integer({ minimum: 0 }),
      }),
    ),
  },
  { description: TIMELINE_DESCRIPTION },
);
