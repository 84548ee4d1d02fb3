import { generateCreditCode } from '@policy-push/core';
import { buildApp } from '../../app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, expectRefused, policyBody, seedWorld, tableCounts, type TestApp } from '../../../test/helpers';

describe('API keys and the audit log', () => {
  let h: TestApp;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  beforeAll(async () => {
    h = await buildTestApp();
    world = await seedWorld(h, [{ phone: '+8613800000001' }]);
  });
  afterAll(() => h.close());

  const as = (key: string, method: 'GET' | 'POST', url: string, payload?: object) =>
    h.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload });

  it('shows a secret once, lists keys without it, rotates it and revokes it, auditing each change', async () => {
    const made = await call(h, 'POST', '/v1/api-keys', { name: '发改委', role: 'publisher', departmentIds: [world.department.id] }, 201);
    expect(made).toMatchObject({ role: 'publisher', mode: 'live', scopes: { departmentIds: [world.department.id], enterpriseId: null } });
    expect(made.key).toMatch(/^pp_/);
    expect(made.prefix).toBe(made.key.slice(0, 13));
    expect((await as(made.key, 'GET', '/v1/policies')).statusCode).toBe(200);

    const listed = await call(h, 'GET', '/v1/api-keys', undefined, 200);
    const row = listed.items.find((k: { id: string }) => k.id === made.id);
    expect(row).toMatchObject({ name: '发改委', prefix: made.prefix, revokedAt: null });
    expect(row.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(made.key);
    expect(Object.keys(row)).not.toContain('key');

    const rotated = await call(h, 'POST', `/v1/api-keys/${made.id}/rotate`, undefined, 200);
    expect(rotated.key).not.toBe(made.key);
    expect((await as(made.key, 'GET', '/v1/policies')).statusCode).toBe(401);
    expect((await as(rotated.key, 'GET', '/v1/policies')).statusCode).toBe(200);

    const revoked = await call(h, 'POST', `/v1/api-keys/${made.id}/revoke`, undefined, 200);
    expect(revoked.revokedAt).not.toBeNull();
    expect((await as(rotated.key, 'GET', '/v1/policies')).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'POST', url: `/v1/api-keys/${made.id}/rotate`, headers: h.auth })).statusCode).toBe(409);
    expect((await call(h, 'POST', `/v1/api-keys/${made.id}/revoke`, undefined, 200)).revokedAt).toBe(revoked.revokedAt);

    const audit = await call(h, 'GET', '/v1/audit?limit=10', undefined, 200);
    const mine = audit.items
      .filter((a: { subjectType: string; subjectId: string }) => a.subjectType === 'api_key' && a.subjectId === made.id)
      .map((a: { action: string }) => a.action);
    expect(mine).toEqual(['api_key.revoke', 'api_key.rotate', 'api_key.create']);
    expect(JSON.stringify(audit)).not.toContain(rotated.key);
  });

  it('another API process on the same database trusts a key it verified for API_KEY_CACHE_SECONDS, then sees it revoked', async () => {
    let now = Date.now();
    const other = await buildApp({ ...h.app.deps, config: { ...h.app.deps.config, apiKeyCacheSeconds: 1 }, clock: () => now });
    try {
      const made = await call(h, 'POST', '/v1/api-keys', { name: 'other replica', role: 'ops' }, 201);
      const onOther = () => other.inject({ method: 'GET', url: '/v1/policies', headers: { authorization: `Bearer ${made.key}` } });
      expect((await onOther()).statusCode).toBe(200);
      await call(h, 'POST', `/v1/api-keys/${made.id}/revoke`, undefined, 200);
      // Refused at once where it was revoked; the other process still has it verified.
      expect((await as(made.key, 'GET', '/v1/policies')).statusCode).toBe(401);
      expect((await onOther()).statusCode).toBe(200);
      now += 999;
      expect((await onOther()).statusCode).toBe(200);
      now += 2;
      expect((await onOther()).statusCode).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('refuses a key whose scope does not fit its role, naming the field, writing nothing', async () => {
    await expectRefused(h, 'POST', '/v1/api-keys', { name: 'p', role: 'publisher' }, 422, 'required', 'departmentIds');
    await expectRefused(h, 'POST', '/v1/api-keys', { name: 'p', role: 'publisher', departmentIds: [] }, 422, 'required', 'departmentIds');
    await expectRefused(
      h,
      'POST',
      '/v1/api-keys',
      { name: 'p', role: 'publisher', departmentIds: ['999999'] },
      422,
      'unknown_department',
      'departmentIds.0',
    );
    await expectRefused(h, 'POST', '/v1/api-keys', { name: 'e', role: 'enterprise' }, 422, 'required', 'enterpriseId');
    await expectRefused(
      h,
      'POST',
      '/v1/api-keys',
      { name: 'e', role: 'enterprise', enterpriseId: '999999' },
      422,
      'unknown_enterprise',
      'enterpriseId',
    );
    await expectRefused(
      h,
      'POST',
      '/v1/api-keys',
      { name: 'o', role: 'ops', enterpriseId: world.enterprises[0].enterprise.id },
      422,
      'not_for_role',
      'enterpriseId',
    );
    await expectRefused(
      h,
      'POST',
      '/v1/api-keys',
      { name: 'a', role: 'admin', departmentIds: [world.department.id] },
      422,
      'not_for_role',
      'departmentIds',
    );
    await expectRefused(h, 'POST', '/v1/api-keys', { name: 'x', role: 'root' }, 400, 'enum', 'role');
    await expectRefused(h, 'POST', '/v1/api-keys', { name: 'x', role: 'ops', mode: 'staging' }, 400, 'enum', 'mode');
    await expectRefused(h, 'POST', '/v1/api-keys', { name: '', role: 'ops' }, 400, 'minLength', 'name');
    const before = await tableCounts(h.t);
    expect((await h.app.inject({ method: 'POST', url: '/v1/api-keys/999999/rotate', headers: h.auth })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'POST', url: '/v1/api-keys/999999/revoke', headers: h.auth })).statusCode).toBe(404);
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('audits publish, amend, revoke and retry with who, what and from where, filters them, and pages by cursor', async () => {
    const publisher = await call(h, 'POST', '/v1/api-keys', { name: 'pub', role: 'publisher', departmentIds: [world.department.id] }, 201);
    const publish = await h.app.inject({
      method: 'POST',
      url: '/v1/policies',
      headers: { authorization: `Bearer ${publisher.key}` },
      remoteAddress: '203.0.113.9',
      payload: policyBody(world.department.id, world.category.id),
    });
    expect(publish.statusCode, publish.body).toBe(202);
    const policyId = publish.json().policy.id;
    expect(
      (
        await h.app.inject({
          method: 'PATCH',
          url: `/v1/policies/${policyId}`,
          headers: { authorization: `Bearer ${publisher.key}` },
          payload: { title: '新标题' },
        })
      ).statusCode,
    ).toBe(200);
    expect((await as(publisher.key, 'POST', `/v1/policies/${policyId}/revoke`, { reason: '依据已废止' })).statusCode).toBe(200);

    const byKey = await call(h, 'GET', `/v1/audit?apiKeyId=${publisher.id}`, undefined, 200);
    expect(byKey.items.map((a: { action: string }) => a.action)).toEqual(['policy.revoke', 'policy.amend', 'policy.publish']);
    expect(byKey.items[2]).toMatchObject({ apiKeyId: publisher.id, subjectType: 'policy', subjectId: policyId, ip: '203.0.113.9' });
    expect(byKey.items[1].details.fields).toEqual(['title']);

    const publishes = await call(h, 'GET', '/v1/audit?action=policy.publish&limit=1', undefined, 200);
    expect(publishes.items).toHaveLength(1);
    const since = new Date(Date.now() + 60_000).toISOString();
    expect((await call(h, 'GET', `/v1/audit?from=${encodeURIComponent(since)}`, undefined, 200)).items).toEqual([]);
    await expectRefused(h, 'POST', '/v1/api-keys', { name: 'x', role: 'ops', departmentIds: [] }, 422, 'not_for_role', 'departmentIds');
    // Bulk imports: counts, never a row's contents.
    const code = generateCreditCode(() => 0.4242);
    const csv = (url: string, method: 'POST' | 'PUT', body: string) =>
      h.app.inject({ method, url, headers: { ...h.auth, 'content-type': 'text/csv' }, payload: body });
    const imported = await csv(
      '/v1/enterprises/import',
      'POST',
      `credit_code,name,industry_section,district,size,phone\n${code},导入企业,C,440106,small,+8613800000099\n`,
    );
    expect(imported.statusCode, imported.body).toBe(200);
    const group = await call(h, 'POST', '/v1/service-groups', { departmentId: world.department.id, name: '名单' }, 201);
    expect((await csv(`/v1/service-groups/${group.id}/members/import`, 'PUT', `credit_code\n${code}\n`)).statusCode).toBe(200);
    const imports = await call(h, 'GET', '/v1/audit?limit=3', undefined, 200);
    expect(imports.items.map((a: { action: string }) => a.action)).toEqual([
      'service_group.members_import',
      'service_group.create',
      'enterprises.import',
    ]);
    expect(imports.items[0]).toMatchObject({ subjectId: group.id, details: { memberCount: 1, failed: 0 } });
    expect(imports.items[2].details).toMatchObject({ created: 1, failed: 0 });
    expect(JSON.stringify(imports)).not.toContain('13800000099');
    // Nothing changes or deletes an audit row.
    for (const method of ['PATCH', 'PUT', 'DELETE'] as const) {
      expect((await h.app.inject({ method, url: '/v1/audit', headers: h.auth, payload: {} })).statusCode).toBe(404);
    }
  });
});
