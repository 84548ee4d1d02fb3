// Whose address a request has (README "Behind a proxy"): the peer's, unless TRUST_PROXY says the
// peer is a proxy; only then are X-Forwarded-For and X-Forwarded-Proto believed. The address is
// what the audit log records and what the per-address limits count.
import { createLogger, parseConfig } from '@policy-push/core';
import { rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import type { AppInstance } from '../src/app-instance';
import { buildTestApp, opsSignIn, type TestApp } from './helpers';

let h: TestApp;
const others: AppInstance[] = [];

beforeAll(async () => {
  h = await buildTestApp({ RATE_LIMIT_FAILED_SIGN_INS_PER_IP: '3', RATE_LIMIT_LINKS_PER_IP: '3' });
});
afterAll(async () => {
  for (const app of others) await app.close();
  await h.close();
});

/** Another app on the same database, with these settings. */
async function appWith(env: Record<string, string>): Promise<AppInstance> {
  const config = parseConfig({ LOG_LEVEL: 'silent', RATE_LIMIT_PER_KEY: '1000000', ...env });
  const app = await buildApp({ config, db: h.t, logger: createLogger({ level: 'silent' }), signingSecret: h.app.deps.signingSecret });
  others.push(app);
  return app;
}

/** The address the audit log records for a key created through `app` from this peer with these headers. */
async function auditedAddress(app: AppInstance, remoteAddress: string, headers: Record<string, string>): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    remoteAddress,
    headers: { ...h.auth, ...headers },
    payload: { name: 'address probe', role: 'ops' },
  });
  expect(res.statusCode, res.body).toBe(201);
  const [row] = rowsOf<{ ip: string }>(
    await h.t.db.execute(sql`select ip::text as ip from audit_log where subject_id = ${res.json().id} and action = 'api_key.create'`),
  );
  return row.ip.replace(/\/(32|128)$/, '');
}

const FORGED = { 'x-forwarded-for': '203.0.113.9' };

describe('without TRUST_PROXY (the default)', () => {
  it('records the peer’s address, not the one a client writes in X-Forwarded-For', async () => {
    expect(await auditedAddress(h.app, '198.51.100.7', FORGED)).toBe('198.51.100.7');
  });

  it('a client cannot escape the per-address limits by rotating X-Forwarded-For', async () => {
    const from = (url: string, i: number) =>
      h.app.inject({ method: 'GET', url, remoteAddress: '198.51.100.20', headers: { 'x-forwarded-for': `203.0.113.${i}` } });
    for (let i = 0; i < 3; i++) expect((await from('/p/junk', i)).statusCode).toBe(400);
    expect((await from('/p/junk', 3)).statusCode).toBe(429);
    for (let i = 0; i < 3; i++) expect((await from('/v1/categories', i)).statusCode).toBe(401);
    expect((await from('/v1/categories', 3)).statusCode).toBe(429);
  });

  it('does not believe X-Forwarded-Proto: the session cookie is not marked Secure on its word', async () => {
    const { key } = (
      await h.app.inject({ method: 'POST', url: '/v1/api-keys', headers: h.auth, payload: { name: 'c', role: 'ops' } })
    ).json();
    const { session } = await opsSignIn(h, key, { 'x-forwarded-proto': 'https' });
    expect(session!.secure).toBeFalsy();
  });
});

describe('with TRUST_PROXY', () => {
  it('a list of proxies: believes X-Forwarded-For from them only, taking the last address they did not add', async () => {
    const app = await appWith({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' });
    // nginx overwrites the header with its peer: one address.
    expect(await auditedAddress(app, '10.1.2.3', FORGED)).toBe('203.0.113.9');
    // A proxy that appends: the client's own entries come first and are not believed.
    expect(await auditedAddress(app, '10.1.2.3', { 'x-forwarded-for': '192.0.2.1, 203.0.113.9' })).toBe('203.0.113.9');
    expect(await auditedAddress(app, '10.1.2.3', { 'x-forwarded-for': '192.0.2.1, 203.0.113.9, 10.9.9.9' })).toBe('203.0.113.9');
    // A client that reaches the API directly is its own address, whatever it writes.
    expect(await auditedAddress(app, '198.51.100.7', FORGED)).toBe('198.51.100.7');
  });

  it('a hop count: the address that many proxies back', async () => {
    const app = await appWith({ TRUST_PROXY: '1' });
    expect(await auditedAddress(app, '10.1.2.3', { 'x-forwarded-for': '192.0.2.1, 203.0.113.9' })).toBe('203.0.113.9');
    const two = await appWith({ TRUST_PROXY: '2' });
    expect(await auditedAddress(two, '10.1.2.3', { 'x-forwarded-for': '192.0.2.1, 203.0.113.9' })).toBe('192.0.2.1');
  });

  it('believes X-Forwarded-Proto from a trusted proxy only: Secure cookies over https', async () => {
    const app = await appWith({ TRUST_PROXY: '10.0.0.0/8' });
    const { key } = (
      await h.app.inject({ method: 'POST', url: '/v1/api-keys', headers: h.auth, payload: { name: 'c', role: 'ops' } })
    ).json();
    const signIn = async (remoteAddress: string) => {
      const page = await app.inject({ method: 'GET', url: '/ops/login', remoteAddress, headers: { 'x-forwarded-proto': 'https' } });
      const nonce = page.cookies.find((c) => c.name === 'pp_ops_login')!;
      expect(nonce.secure).toBe(remoteAddress.startsWith('10.') ? true : undefined);
      const res = await app.inject({
        method: 'POST',
        url: '/ops/login',
        remoteAddress,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-proto': 'https',
          cookie: `pp_ops_login=${nonce.value}`,
        },
        payload: new URLSearchParams({ key, _csrf: nonce.value }).toString(),
      });
      expect(res.statusCode).toBe(303);
      return res.cookies.find((c) => c.name === 'pp_ops_session')!;
    };
    expect((await signIn('10.1.2.3')).secure).toBe(true);
    expect((await signIn('198.51.100.7')).secure).toBeFalsy();
  });
});
