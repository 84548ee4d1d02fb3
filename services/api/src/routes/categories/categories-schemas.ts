import { Type } from 'typebox';
import { Id, PageQuery, Timestamp } from '../../schemas/common';

const fields = {
  code: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,63}$', description: 'stable short code, e.g. rent-relief' }),
  parentId: Type.Union([Id, Type.Null()], {
    description: 'the parent category, null for a top-level one; a subscription to a parent covers its children',
  }),
  nameZh: Type.String({ minLength: 1, maxLength: 100 }),
  nameEn: Type.String({ minLength: 1, maxLength: 200 }),
};

export const CategoryCreate = Type.Object({ ...fields, parentId: Type.Optional(fields.parentId) }, { additionalProperties: false });
export const CategoryUpdate = Type.Partial(Type.Object(fields, { additionalProperties: false }), {
  additionalProperties: false,
  minProperties: 1,
});
export const Category = Type.Object({ id: Id, ...fields, createdAt: Timestamp });

export const CategoryListQuery = Type.Object(
  { ...PageQuery, parentId: Type.Optional(Id) /* only the direct children of this category */ },
  { additionalProperties: false },
);
