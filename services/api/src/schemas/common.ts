import { Type, type TSchema } from 'typebox';

// Ids are bigints in the database and strings on the wire; 15 digits keep them exact as JS numbers.
export const ID_PATTERN = '^[1-9][0-9]{0,14}$';
export const Id = Type.String({ pattern: ID_PATTERN, description: 'an id' });
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });
export const Timestamp = Type.String({ format: 'date-time' });

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      fields: Type.Array(Type.Object({ path: Type.String(), code: Type.String() })),
    }),
  },
  { $id: 'Error' },
);

export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
  422: ErrorResponse,
};

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'nextCursor of the previous page' })),
};

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** Builds `{ items, nextCursor }` from rows fetched with limit + 1. */
export function page<R extends { id: number }, O>(rows: R[], limit: number, map: (r: R) => O): { items: O[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { items: kept.map(map), nextCursor: more ? String(kept[kept.length - 1].id) : null };
}

export const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);
