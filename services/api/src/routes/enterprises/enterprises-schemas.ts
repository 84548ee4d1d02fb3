import { Type } from 'typebox';
import { Id, PageQuery, Timestamp } from '../../schemas/common';

// Formats are checked here (400); whether a code exists in the reference lists is a domain
// check in the service (422 with a stable code).
const Section = Type.String({ pattern: '^[A-Z]$', description: 'GB/T 4754 section letter, A–T' });
const Division = Type.String({ pattern: '^[0-9]{2}$', description: 'GB/T 4754 2-digit division, inside the section' });
const District = Type.String({ pattern: '^[0-9]{6}$', description: 'GB/T 2260 code of a Guangzhou district, e.g. 440106 (Tianhe)' });
const Size = Type.String({ minLength: 1, maxLength: 20, description: 'large, medium, small or micro' });

const IndustryInput = Type.Object(
  { section: Section, division: Type.Optional(Type.Union([Division, Type.Null()])) },
  { additionalProperties: false, description: 'replaced as a whole: a division left out is cleared' },
);

const fields = {
  creditCode: Type.String({
    minLength: 1,
    maxLength: 40,
    description: 'unified social credit code (GB 32100-2015); trimmed, full-width to half-width and upper-cased before the check',
  }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  industry: IndustryInput,
  district: District,
  size: Size,
  tags: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    maxItems: 50,
    description: 'free labels such as 高新技术企业; trimmed, duplicates dropped',
  }),
};

export const EnterpriseCreate = Type.Object({ ...fields, tags: Type.Optional(fields.tags) }, { additionalProperties: false });
export const EnterpriseUpdate = Type.Partial(Type.Object(fields, { additionalProperties: false }), {
  additionalProperties: false,
  minProperties: 1,
});

export const Enterprise = Type.Object({
  id: Id,
  creditCode: Type.String(),
  name: Type.String(),
  industry: Type.Object({ section: Type.String(), division: Type.Union([Type.String(), Type.Null()]) }),
  district: Type.String(),
  size: Type.String(),
  tags: Type.Array(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const EnterpriseListQuery = Type.Object(
  {
    ...PageQuery,
    district: Type.Optional(District),
    size: Type.Optional(Size),
    industry: Type.Optional(Section),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'enterprises carrying this tag' })),
  },
  { additionalProperties: false },
);
