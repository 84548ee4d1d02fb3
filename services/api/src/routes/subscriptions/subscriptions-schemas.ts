import { Type } from 'typebox';
import { Id, PageQuery, Timestamp } from '../../schemas/common';
import { ChannelList } from '../contacts/contacts-schemas';

const Ids = (description: string) => Type.Array(Id, { uniqueItems: true, maxItems: 200, description });
const Frequency = (options: { default?: string } = {}) =>
  Type.Union([Type.Literal('immediate'), Type.Literal('daily'), Type.Literal('weekly')], {
    description: 'immediate, or folded into a daily / weekly digest',
    ...options,
  });
const Channels = (options: { default?: string[] } = {}) =>
  ChannelList({ description: "channels in order of preference; [] uses each contact's own order", ...options });

const categoriesText = 'policy categories; a category covers its sub-categories too';
const departmentsText = 'every policy of these departments';
const categoryIds = Ids(categoriesText);
const departmentIds = Ids(departmentsText);

// The enterprise of a subscription does not change: PATCH does not take enterpriseId.
const changeable = {
  categoryIds,
  departmentIds,
  channels: Channels(),
  frequency: Frequency(),
  active: Type.Boolean(),
};

export const SubscriptionCreate = Type.Object(
  {
    enterpriseId: Id,
    categoryIds: Type.Optional(Ids(categoriesText)),
    departmentIds: Type.Optional(Ids(departmentsText)),
    channels: Type.Optional(Channels({ default: [] })),
    frequency: Type.Optional(Frequency({ default: 'immediate' })),
    active: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false, description: 'At least one category or department is required (422 empty_subscription).' },
);

export const SubscriptionUpdate = Type.Partial(Type.Object(changeable, { additionalProperties: false }), {
  additionalProperties: false,
  minProperties: 1,
});

export const Subscription = Type.Object({
  id: Id,
  enterpriseId: Id,
  categoryIds: Type.Array(Id),
  departmentIds: Type.Array(Id),
  channels: Type.Array(Type.String()),
  frequency: Type.String(),
  active: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const SubscriptionListQuery = Type.Object({ ...PageQuery, enterpriseId: Type.Optional(Id) }, { additionalProperties: false });
