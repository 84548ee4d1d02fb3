import { type SQL, sql } from 'drizzle-orm';

// A JS array as ONE bound parameter (drizzle would otherwise spread it into a list).
// Works on postgres.js and PGlite alike.
export const textArray = (values: readonly (string | null)[]): SQL => sql`${sql.param(values)}::text[]`;
export const bigintArray = (values: readonly number[]): SQL => sql`${sql.param(values)}::bigint[]`;
export const intArray = (values: readonly number[]): SQL => sql`${sql.param(values)}::int[]`;
// postgres.js mangles boolean arrays (a single boolean, or every element false): pass 0/1 and cast.
export const booleanArray = (values: readonly boolean[]): SQL => sql`${sql.param(values.map(Number))}::int[]::boolean[]`;
