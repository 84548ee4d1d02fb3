import { PgTransaction } from 'drizzle-orm/pg-core';
import type { Queryable } from './create-db';

interface Preparable {
  prepare(name: string): { execute(placeholders?: Record<string, unknown>): Promise<unknown> };
}
type Prepared<Q extends Preparable> = ReturnType<Q['prepare']>;

/**
 * A read on a hot path, built once per database instead of on every call: drizzle's query
 * builder costs about 35 µs of CPU and its garbage for each query it builds (a select of every
 * column of `enterprises`), more than the whole of a hello-world request. The query takes its
 * values through `sql.placeholder`. On an open transaction it is built there, since a prepared
 * query belongs to the session it was made on.
 */
export function preparedQuery<Q extends Preparable>(name: string, build: (db: Queryable) => Q): (db: Queryable) => Prepared<Q> {
  const byDb = new WeakMap<Queryable, Prepared<Q>>();
  return (db) => {
    if (db instanceof PgTransaction) return build(db).prepare(name) as Prepared<Q>;
    let prepared = byDb.get(db);
    if (!prepared) byDb.set(db, (prepared = build(db).prepare(name) as Prepared<Q>));
    return prepared;
  };
}
