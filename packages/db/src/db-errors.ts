// Errors that say "the database cannot take this now" rather than "this request is wrong": the
// server is down, restarting or refusing connections, the disk is full, or the database is read-only.
// The API answers them with 503 (retry later, nothing was written); the dispatcher backs off.

// Postgres SQLSTATE classes and codes (https://www.postgresql.org/docs/15/errcodes-appendix.html).
const UNAVAILABLE_CLASSES = ['08', '53']; // connection exception; insufficient resources (53100 disk_full…)
const UNAVAILABLE_CODES = new Set([
  '25006', // read_only_sql_transaction: a read-only database or standby
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '58030', // io_error
]);
// Socket errors from Node, and postgres.js's own codes for a connection that went away.
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/** True when `err` (or an error under a driver or drizzle wrapper) means the database is unavailable. */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') {
    if (UNAVAILABLE_NODE_CODES.has(e.code) || UNAVAILABLE_CODES.has(e.code)) return true;
    if (/^[0-9A-Z]{5}$/.test(e.code) && UNAVAILABLE_CLASSES.includes(e.code.slice(0, 2))) return true;
  }
  // Node's connect may fail with an AggregateError (one error per address tried).
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
