import { Type } from 'typebox';
import { Id, Timestamp } from '../../schemas/common';

const WechatTemplate = Type.Object(
  {
    templateId: Type.String({ minLength: 1, maxLength: 64 }),
    fields: Type.Array(
      Type.Object(
        {
          key: Type.String({ pattern: '^[a-z_]+[0-9]+$', maxLength: 40 }),
          type: Type.Enum(['thing', 'character_string', 'number', 'letter', 'phrase', 'time', 'date', 'keyword']),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10 },
    ),
  },
  { additionalProperties: false },
);

const fields = {
  code: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,39}$', description: 'stable short code, e.g. gz-drc' }),
  nameZh: Type.String({ minLength: 1, maxLength: 100 }),
  nameEn: Type.String({ minLength: 1, maxLength: 200 }),
  smsSignature: Type.String({ minLength: 2, maxLength: 12, description: 'the approved SMS signature, without 【】' }),
  wechatTemplate: Type.Union([WechatTemplate, Type.Null()]),
};

export const DepartmentCreate = Type.Object(
  { ...fields, wechatTemplate: Type.Optional(fields.wechatTemplate) },
  { additionalProperties: false },
);
export const DepartmentUpdate = Type.Partial(Type.Object(fields, { additionalProperties: false }), {
  additionalProperties: false,
  minProperties: 1,
});
export const Department = Type.Object({ id: Id, ...fields, createdAt: Timestamp, updatedAt: Timestamp });
