// Raw rows of `db.execute` and the decoders that type them. The two drivers parse differently:
// bigint and count(*) come as strings on postgres.js and as numbers on PGlite, timestamps as
// strings on postgres.js (drizzle turns its date parsing off) and as Dates on PGlite. A query
// module decodes each row shape once with these, so the difference is handled here and nowhere
// else, and a value of an unexpected type fails loudly instead of travelling on under a cast.

/** A row as the driver gave it: column name → value. */
export type RawRow = Record<string, unknown>;

// drizzle's `execute` answers `{ rows }` on PGlite and an array on postgres.js.
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** The rows of an `execute` result, each decoded by `decode`. */
export function decodeRows<T>(result: unknown, decode: (row: RawRow) => T): T[] {
  return rowsOf<RawRow>(result).map(decode);
}

function mismatch(expected: string, value: unknown): Error {
  return new TypeError(`row decoder: expected ${expected}, got ${value === null ? 'null' : typeof value} ${String(value)}`);
}

/** A number from a number, a bigint or a numeric string (int8, numeric, count(*)). */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  throw mismatch('a number', value);
}

export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  throw mismatch('a string', value);
}

export function toBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw mismatch('a boolean', value);
}

/** A Date from a Date (PGlite) or a timestamp string (postgres.js). */
export function toDate(value: unknown): Date {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : null;
  if (date && !Number.isNaN(date.getTime())) return date;
  throw mismatch('a timestamp', value);
}

export function toTextArray(value: unknown): string[] {
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  throw mismatch('an array of strings', value);
}

export function toNumberArray(value: unknown): number[] {
  if (Array.isArray(value)) return value.map(toNumber);
  throw mismatch('an array of numbers', value);
}

/** One of `values` (a text column holding a closed set: a channel, a kind, a status). */
export function toOneOf<T extends string>(values: readonly T[], value: unknown): T {
  if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as T;
  throw mismatch(`one of ${values.join(', ')}`, value);
}

/** `decode(value)`, or null for SQL null. */
export function orNull<T>(decode: (value: unknown) => T, value: unknown): T | null {
  return value === null ? null : decode(value);
}

/**
 * A jsonb value this application wrote after validating it (an audience rule, a snapshot): taken
 * as its type once it is seen to be an object. The drivers parse json themselves.
 */
export function toStoredJson<T extends object>(value: unknown): T {
  if (typeof value === 'object' && value !== null) return value as T;
  throw mismatch('a json object', value);
}
