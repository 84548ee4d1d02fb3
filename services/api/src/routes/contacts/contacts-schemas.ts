import { Type, type TSchema } from 'typebox';
import { CHANNELS } from '@policy-push/core';
import { Id, PageQuery, Timestamp } from '../../schemas/common';

// Contacts live under their enterprise for listing and creating
// (GET/POST /v1/enterprises/{id}/contacts) and have their own URL once they exist
// (GET/PATCH/DELETE /v1/contacts/{id}): a contact id alone is enough to find it.

export const Channel = Type.Union(CHANNELS.map((channel) => Type.Literal(channel)));
/** An ordered list of distinct channels, first choice first. */
export const ChannelList = (options: { description: string; minItems?: number; default?: string[] }) =>
  Type.Array(Channel, { uniqueItems: true, ...options });

const Locale = (options: { default?: string } = {}) =>
  Type.Union([Type.Literal('zh-Hans'), Type.Literal('zh-Hant'), Type.Literal('en')], {
    description: 'language and script of the messages this contact gets',
    ...options,
  });
const ContactChannels = (options: { default?: string[] } = {}) =>
  ChannelList({ description: "the contact's own channel order, used where a subscription names no channels", minItems: 1, ...options });
const OptedOut = (options: { default?: string[] } = {}) =>
  ChannelList({ description: 'channels the contact has opted out of', ...options });

const nullable = <T extends TSchema>(t: T, description: string) => Type.Union([t, Type.Null()], { description });

const consentSources = () => [Type.Literal('imported'), Type.Literal('self-service'), Type.Literal('agency-entered')] as const;
const ConsentSource = (options: { default?: string } = {}) =>
  Type.Union([...consentSources()], {
    description:
      'how consent to be contacted was given: imported (bulk CSV import), self-service (by the enterprise) or agency-entered; ' +
      'stating it records the consent time',
    ...options,
  });
// The format is checked by the service (422 invalid_quiet_hours), not here: a bad window is a
// domain problem with a stable code, not a malformed request.
const QuietHours = nullable(
  Type.String({ maxLength: 20 }),
  "the contact's own quiet hours, 'HH:MM-HH:MM' in Asia/Shanghai (may run past midnight, e.g. 22:00-08:00); " +
    "null = the deployment's; SMS and WeChat sends inside them wait for the end, except urgent policies",
);

// An address may be null (PATCH clears it), but one of phone, email and wechatOpenid must
// remain: that is a 422 `no_address`, checked after merging with the stored row.
const addresses = {
  name: nullable(Type.String({ minLength: 1, maxLength: 100 }), 'the person, for operators; never sent'),
  phone: nullable(
    Type.String({ minLength: 1, maxLength: 40 }),
    'a mobile number; read as mainland China unless it starts with +country; stored and returned in E.164',
  ),
  email: nullable(Type.String({ format: 'email', maxLength: 254 }), 'its domain is stored in lower case'),
  wechatOpenid: nullable(Type.String({ pattern: '^[A-Za-z0-9_-]{6,64}$' }), "the contact's openid under the Official Account"),
};

export const ContactCreate = Type.Object(
  {
    name: Type.Optional(addresses.name),
    phone: Type.Optional(addresses.phone),
    email: Type.Optional(addresses.email),
    wechatOpenid: Type.Optional(addresses.wechatOpenid),
    locale: Type.Optional(Locale({ default: 'zh-Hans' })),
    channels: Type.Optional(ContactChannels({ default: [...CHANNELS] })),
    optedOut: Type.Optional(OptedOut({ default: [] })),
    consentSource: Type.Optional(ConsentSource({ default: 'agency-entered' })),
    quietHours: Type.Optional(QuietHours),
  },
  { additionalProperties: false, description: 'At least one of phone, email and wechatOpenid is required (422 no_address).' },
);

export const ContactUpdate = Type.Partial(
  Type.Object(
    {
      ...addresses,
      locale: Locale(),
      channels: ContactChannels(),
      optedOut: OptedOut(),
      consentSource: ConsentSource(),
      quietHours: QuietHours,
    },
    { additionalProperties: false },
  ),
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'Only the fields given change; null clears an address. A new email address is unconfirmed (emailConfirmedAt null).',
  },
);

export const Contact = Type.Object({
  id: Id,
  enterpriseId: Id,
  name: Type.Union([Type.String(), Type.Null()]),
  phone: Type.Union([Type.String(), Type.Null()]),
  email: Type.Union([Type.String(), Type.Null()]),
  wechatOpenid: Type.Union([Type.String(), Type.Null()]),
  locale: Type.String(),
  channels: Type.Array(Type.String()),
  optedOut: Type.Array(Type.String()),
  suppressed: Type.Boolean({ description: 'while true nothing is sent to this contact; set by the system, not through this API' }),
  consent: Type.Object(
    {
      source: Type.Union([...consentSources()]),
      at: Timestamp,
    },
    { description: 'how and when consent to be contacted was given' },
  ),
  emailConfirmedAt: Type.Union([Timestamp, Type.Null()], {
    description: 'when the email address was confirmed by a link; null while unconfirmed',
  }),
  quietHours: Type.Union([Type.String(), Type.Null()], { description: "the contact's own quiet hours; null = the deployment's" }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const ContactListQuery = Type.Object(PageQuery, { additionalProperties: false });
