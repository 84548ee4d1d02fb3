import { Type } from 'typebox';
import { AudienceRule } from '../../schemas/audience-rule';
import { Id, PageQuery, Timestamp } from '../../schemas/common';

// A group is either a rule group (rule set: its audience is computed from enterprise attributes)
// or a static group (rule null: its audience is the member list under /members).
const rule = Type.Union([AudienceRule, Type.Null()], {
  description:
    'null (or absent) makes a static group managed through /members. Setting a rule on a static group drops its members; ' +
    'clearing it leaves an empty static group.',
});

const changeable = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
  rule,
};

// The owning department does not change: PATCH does not take departmentId.
export const ServiceGroupCreate = Type.Object(
  {
    departmentId: Id,
    name: changeable.name,
    description: Type.Optional(changeable.description),
    rule: Type.Optional(rule),
  },
  { additionalProperties: false },
);

export const ServiceGroupUpdate = Type.Partial(Type.Object(changeable, { additionalProperties: false }), {
  additionalProperties: false,
  minProperties: 1,
});

export const ServiceGroup = Type.Object({
  id: Id,
  departmentId: Id,
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  rule: Type.Union([AudienceRule, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const ServiceGroupListQuery = Type.Object({ ...PageQuery, departmentId: Type.Optional(Id) }, { additionalProperties: false });

export const MAX_MEMBERS_PER_REQUEST = 10_000;

export const MembersBody = Type.Object(
  {
    enterpriseIds: Type.Array(Id, {
      maxItems: MAX_MEMBERS_PER_REQUEST,
      description: 'enterprise ids; repeats are ignored; all are applied or none (422 unknown_enterprise names each unknown one)',
    }),
  },
  { additionalProperties: false },
);

export const MemberCount = Type.Object({ memberCount: Type.Integer({ description: 'members of the group after the change' }) });

export const MemberParams = Type.Object({ id: Id, enterpriseId: Id }, { additionalProperties: false });

export const MemberListQuery = Type.Object(PageQuery, { additionalProperties: false });
