// ADMIN_API_KEY (issue 12, item 2): the key it names is made once in the database's life and the
// making is audited; a later start ignores the setting, with a warning, whether the key was since
// rotated or revoked, so a retired secret never comes back.
import { Writable } from 'node:stream';
import { createLogger } from '@policy-push/core';
import { rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, bootstrapAdminKey } from '../src/services/api-keys';
import { buildTestApp, call, type TestApp } from './helpers';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: createLogger({ level: 'info' }, sink), lines };
}

const SECRET_A = 'pp_bootstrapAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const SECRET_B = 'pp_bootstrapBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';

describe('the ADMIN_API_KEY bootstrap key', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await buildTestApp();
  });
  afterAll(() => h.close());

  const keyId = async () => {
    const [row] = rowsOf<{ id: string }>(await h.t.db.execute(sql`select id::text from api_keys where bootstrap_hash is not null`));
    return row.id;
  };

  it('is made at the first start, audited as the service, and works', async () => {
    const { log } = capturingLogger();
    expect(await bootstrapAdminKey(h.t.db, SECRET_A, log)).toBe('created');
    expect((await authenticate(h.t.db, SECRET_A))?.role).toBe('admin');
    const id = await keyId();
    const audit = rowsOf<{ actor: string; api_key_id: string | null; action: string; subject_id: string }>(
      await h.t.db.execute(sql`select actor, api_key_id, action, subject_id from audit_log where subject_id = ${id}`),
    );
    expect(audit).toEqual([{ actor: 'system', api_key_id: null, action: 'api_key.create', subject_id: id }]);
    // A second start with the same setting changes nothing while the key is as it was.
    expect(await bootstrapAdminKey(h.t.db, SECRET_A, log)).toBe('ignored');
  });

  it('does not come back at a restart once revoked, and the log says why', async () => {
    const id = await keyId();
    await call(h, 'POST', `/v1/api-keys/${id}/revoke`, undefined, 200);
    const { log, lines } = capturingLogger();
    expect(await bootstrapAdminKey(h.t.db, SECRET_A, log)).toBe('ignored');
    expect(await authenticate(h.t.db, SECRET_A)).toBeNull();
    expect(lines.find((l) => l.event === 'admin_api_key_ignored')).toMatchObject({ level: 40, sameSecret: true, revoked: true });
  });

  it('is not made again from the retired secret once rotated, nor from a new setting', async () => {
    // A fresh database: bootstrap, rotate, restart.
    const fresh = await buildTestApp();
    try {
      const { log, lines } = capturingLogger();
      expect(await bootstrapAdminKey(fresh.t.db, SECRET_A, log)).toBe('created');
      const [row] = rowsOf<{ id: string }>(await fresh.t.db.execute(sql`select id::text from api_keys where bootstrap_hash is not null`));
      const rotated = await call(fresh, 'POST', `/v1/api-keys/${row.id}/rotate`, undefined, 200);
      expect(await bootstrapAdminKey(fresh.t.db, SECRET_A, log)).toBe('ignored');
      expect(await authenticate(fresh.t.db, SECRET_A)).toBeNull();
      expect((await authenticate(fresh.t.db, rotated.key))?.id).toBe(Number(row.id));
      expect(lines.find((l) => l.event === 'admin_api_key_ignored')).toMatchObject({ sameSecret: true, rotated: true, revoked: false });
      // Another value later: still ignored, the bootstrap happened.
      expect(await bootstrapAdminKey(fresh.t.db, SECRET_B, log)).toBe('ignored');
      expect(await authenticate(fresh.t.db, SECRET_B)).toBeNull();
      const [n] = rowsOf<{ n: number }>(await fresh.t.db.execute(sql`select count(*)::int as n from api_keys`));
      expect(n.n).toBe(2); // the test admin and the bootstrap key
    } finally {
      await fresh.close();
    }
  });
});
