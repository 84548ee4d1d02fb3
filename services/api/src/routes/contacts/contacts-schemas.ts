import { Type, type TSchema } from 'typebox';
import { Id, PageQuery, Timestamp } from '../../schemas/common';

// Contacts live under their enterprise for listing and creating
// (GET/POST /v1/enterprises/{id}/contacts) and have their own URL once they exist
// (GET/PATCH/DELETE /v1/contacts/{id}): a contact id alone is enough to find it.

export const CHANNELS = ['wechat', 'sms', 'email'] as const;
export const Channel = Type.Union([Type.Literal('wechat'), Type.Literal('sms'), Type.Literal('email')]);
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
  },
  { additionalProperties: false, description: 'At least one of phone, email and wechatOpenid is required (422 no_address).' },
);

export const ContactUpdate = Type.Partial(
  Type.Object({ ...addresses, locale: Locale(), channels: ContactChannels(), optedOut: OptedOut() }, { additionalProperties: false }),
  { additionalProperties: false, minProperties: 1, description: 'Only the fields given change; null clears an address.' },
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
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const ContactListQuery = Type.Object(PageQuery, { additionalProperties: false });
