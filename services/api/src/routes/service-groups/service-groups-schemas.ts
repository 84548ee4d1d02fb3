import { Type } from 'typebox';
import { AudienceRule } from '../../schemas/audience-rule';
import { Id, PageQuery, Timestamp } from '../../schemas/common';
import { Row, RowProblem } from '../enterprise-import/enterprise-import-schemas';

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

export const MemberImportReport = Type.Object({
  memberCount: Type.Integer({ description: 'members of the group after the import' }),
  failed: Type.Integer({ description: 'rows left out' }),
  rows: Type.Array(
    Type.Object({
      row: Row,
      creditCode: Type.Union([Type.String(), Type.Null()], { description: 'normalised; null when the cell was empty' }),
      errors: Type.Array(RowProblem),
    }),
    { description: 'every row left out, in file order: invalid_credit_code, unknown_enterprise, required, wrong_column_count' },
  ),
});

export const MEMBER_IMPORT_DESCRIPTION = `Replaces the member list of a static group with the enterprises a CSV file names
(\`Content-Type: text/csv\`, UTF-8; a header row with a \`credit_code\` column; other columns are ignored, and so are repeated codes).
The file is read as a stream, so lists of any length are fine (up to 200 MB).

Not all-or-nothing: a code that is invalid or names no enterprise is reported with its line and left out, and the group's members
become exactly the enterprises of the other rows. A header row alone empties the group. The list is replaced in one transaction
once the whole file has been read: an empty file, a header without \`credit_code\`, or a malformed line (400 \`invalid_csv\`) changes
nothing. A rule group has no member list (422 \`rule_group_has_no_members\`).`;

export const AudienceQuery = Type.Object(
  { sampleSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 10, description: 'enterprises in the sample' })) },
  { additionalProperties: false },
);

export const Audience = Type.Object({
  enterprises: Type.Integer({ description: 'enterprises in the group now' }),
  contacts: Type.Integer({ description: 'their contacts' }),
  reachableContacts: Type.Integer({
    description:
      'contacts reachable on at least one channel: an address there, not opted out of it, not suppressed, and for email confirmed where the deployment requires it',
  }),
  sample: Type.Array(
    Type.Object({
      enterpriseId: Id,
      name: Type.String(),
      district: Type.String(),
      industry: Type.Object({ section: Type.String(), division: Type.Union([Type.String(), Type.Null()]) }),
    }),
    { description: 'the first enterprises of the group by id' },
  ),
  empty: Type.Boolean({ description: 'true when the group matches no enterprise: a policy targeting only it would reach no one' }),
});
