// The one error shape clients see: { error: { code, message, fields: [{ path, code }] } }.
import { isDatabaseUnavailable } from '@policy-push/db';
export interface FieldProblem {
  path: string;
  code: string;
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

/** A 422 for a value that is well-formed but not acceptable, naming the field. */
export const invalidField = (path: string, code: string, message: string) => new ApiError(422, code, message, [{ path, code }]);

export const unprocessable = (fields: FieldProblem[], message: string) => new ApiError(422, fields[0]?.code ?? 'invalid', message, fields);

/** A 422 listing every problem, each with its own message. */
export function rejected(problems: (FieldProblem & { message: string })[]) {
  return unprocessable(
    problems.map(({ path, code }) => ({ path, code })),
    problems.map((p) => `${p.path}: ${p.message}`).join('; '),
  );
}

export const conflict = (path: string, code: string, message: string) => new ApiError(409, code, message, [{ path, code }]);

/** The Postgres error code (and constraint) under a driver or drizzle wrapper, if any. */
export function pgError(err: unknown): { code: string; constraint?: string } | null {
  let e: unknown = err;
  for (let i = 0; i < 3 && e; i++) {
    const pg = e as { code?: unknown; constraint_name?: string; constraint?: string; cause?: unknown };
    if (typeof pg.code === 'string' && /^[0-9A-Z]{5}$/.test(pg.code))
      return { code: pg.code, constraint: pg.constraint_name ?? pg.constraint };
    e = pg.cause;
  }
  return null;
}

export const isUniqueViolation = (err: unknown) => pgError(err)?.code === '23505';
export const isForeignKeyViolation = (err: unknown) => pgError(err)?.code === '23503';

/**
 * The database cannot take requests now (down or restarting, refusing connections, disk full,
 * read-only: see packages/db db-errors.ts): 503, retry later. The write was refused whole, since
 * writes that belong together share one transaction.
 */
export const databaseUnavailable = () => new ApiError(503, 'database_unavailable', 'the database is unavailable; try again later');
export { isDatabaseUnavailable };
