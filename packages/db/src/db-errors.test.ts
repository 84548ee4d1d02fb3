import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from './db-errors';

const pg = (code: string) => Object.assign(new Error(`postgres ${code}`), { code });

describe('isDatabaseUnavailable', () => {
  it('knows the Postgres errors of a database that cannot take requests now', () => {
    for (const code of ['25006', '53100', '53200', '53300', '57P01', '57P02', '57P03', '08006', '08001', '58030'])
      expect(isDatabaseUnavailable(pg(code)), code).toBe(true);
  });

  it('knows socket errors and postgres.js connection errors', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT'])
      expect(isDatabaseUnavailable(pg(code)), code).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([pg('ECONNREFUSED'), pg('ECONNREFUSED')], 'connect failed'))).toBe(true);
  });

  it('looks under a wrapper (drizzle puts the driver error in cause)', () => {
    expect(isDatabaseUnavailable(new Error('Failed query', { cause: pg('57P01') }))).toBe(true);
  });

  it('leaves the request errors alone', () => {
    for (const code of ['23505', '23503', '42601', '57014', '40001', 'ENOENT']) expect(isDatabaseUnavailable(pg(code)), code).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  });
});
