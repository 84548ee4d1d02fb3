import { type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';

/**
 * A column's bare name, for where SQL takes no table prefix: the targets of `update … set` and of
 * `insert into t (…)`. Elsewhere `${table.column}` renders "table"."column" by itself.
 */
export const bare = (column: AnyPgColumn): SQL => sql`${sql.identifier(column.name)}`;

/**
 * `relation`.column, for a table alias or CTE given by name (helpers that take the alias their
 * caller chose: `c` for a contacts row, `d` for a delivery). The column comes from the schema.
 */
export const qualified = (relation: string, column: AnyPgColumn): SQL => sql`${sql.identifier(relation)}.${bare(column)}`;
