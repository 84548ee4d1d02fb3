// A policy over time: amend, revoke, cancel, expire — through the API with a real dispatcher.
import { createLogger, parseConfig } from '@policy-push/core';
import { expirePolicies, fanOutNextChunk, rowsOf, sql } from '@policy-push/db';
import { createAdapters, type Dispatcher, startDispatcher } from '@policy-push/dispatcher';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, call, policyBody, seedWorld, startSandboxDispatcher, type TestApp } from './helpers';

describe('policy lifecycle', () => {
  let h: TestApp;
  let dispatcher: Dispatcher;
  let adapters: ReturnType<typeof createAdapters>;

  // Built by hand rather than with startSandboxDispatcher: the revoke test stops and restarts the
  // dispatcher while a slow message's receipt is still due, so the adapters outlive the first one.
  beforeAll(async () => {
    h = await buildTestApp();
    const logger = createLogger({ level: 'silent' });
    adapters = createAdapters(h.app.deps.config, h.t.db, logger, { receiptDelayMs: 5 });
    dispatcher = await startDispatcher({
      config: parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20' }),
      db: h.t,
      logger,
      adapters: adapters.byChannel,
      withJobs: false,
      signingSecret: h.app.deps.signingSecret,
    });
  });
  afterAll(async () => {
    await dispatcher.stop();
    await adapters.close();
    await h.close();
  });

  const deliveries = async (policyId: string) =>
    rowsOf<{ contact_id: string; kind: string; version: number; status: string }>(
      await h.t.db.execute(
        sql`select contact_id::text as contact_id, kind, policy_version as version, status from deliveries where policy_id = ${Number(policyId)} order by id`,
      ),
    );
  // Fanned out, and every delivery at rest (not pending, sending, or sent awaiting its receipt).
  const settled = (policyId: string) =>
    vi.waitFor(
      async () => {
        expect((await call(h, 'GET', `/v1/policies/${policyId}/push`)).status).toBe('fanned_out');
        expect((await deliveries(policyId)).filter((d) => ['pending', 'sending', 'sent'].includes(d.status))).toEqual([]);
      },
      { timeout: 15_000, interval: 50 },
    );

  it('an amend notifies prior recipients once and sends the new version only to the newly matched', async () => {
    const world = await seedWorld(h, [{ email: 'first@example.com' }, { email: 'second@example.com' }]);
    const group = await call(h, 'POST', '/v1/service-groups', { departmentId: world.department.id, name: '静态' }, 201);
    const [first, second] = world.enterprises;
    await call(h, 'PUT', `/v1/service-groups/${group.id}/members`, { enterpriseIds: [first.enterprise.id] }, 200);
    const { policy } = await call(
      h,
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id, { audience: { groupIds: [group.id] } }),
      202,
    );
    await settled(policy.id);
    expect(await deliveries(policy.id)).toEqual([{ contact_id: first.contact.id, kind: 'policy', version: 1, status: 'delivered' }]);

    // The second enterprise joins the group, then the policy is amended.
    await call(h, 'POST', `/v1/service-groups/${group.id}/members`, { enterpriseIds: [second.enterprise.id] }, 200);
    const amended = await call(h, 'PATCH', `/v1/policies/${policy.id}`, { summary: '补充了申请条件和截止日期。' }, 200);
    expect(amended.version).toBe(2);
    await settled(policy.id);
    expect(await deliveries(policy.id)).toEqual([
      { contact_id: first.contact.id, kind: 'policy', version: 1, status: 'delivered' },
      { contact_id: first.contact.id, kind: 'update', version: 2, status: 'delivered' },
      { contact_id: second.contact.id, kind: 'policy', version: 2, status: 'delivered' },
    ]);

    // The notice says what changed (the sandbox records what would have been sent; it writes in batches).
    const notices = async () =>
      rowsOf<{ content: { text: string } }>(
        await h.t.db.execute(sql`
          select s.content from sandbox_messages s join deliveries d on d.id = s.delivery_id
          where d.policy_id = ${Number(policy.id)} and d.kind = 'update'`),
      );
    await vi.waitFor(async () => expect((await notices()).map((n) => n.content.text).join()).toContain('本次修改：摘要。'));

    // A second amend: each prior recipient gets one more notice, nobody gets the policy twice.
    await call(h, 'PATCH', `/v1/policies/${policy.id}`, { title: '广州市支持中小企业共渡难关十五条措施（修订）' }, 200);
    await settled(policy.id);
    const v3 = (await deliveries(policy.id)).filter((d) => d.version === 3);
    expect(v3.map((d) => [d.contact_id, d.kind]).sort()).toEqual([
      [first.contact.id, 'update'],
      [second.contact.id, 'update'],
    ]);
  });

  it('a revoke cancels pending deliveries at once and can tell those already reached', async () => {
    const world = await seedWorld(h, [{ email: 'r1@example.com' }, { phone: '+12025550105' } /* slow: still sending */]);
    const { policy } = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    await vi.waitFor(async () => expect((await deliveries(policy.id)).map((d) => d.status)).toContain('delivered'), {
      timeout: 10_000,
      interval: 50,
    });
    // Publish a second policy whose deliveries are all still pending when it is revoked.
    await dispatcher.stop();
    const pending = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    while (await fanOutNextChunk(h.t.db, 1000)) {} // fanned out, nothing sent yet
    expect((await deliveries(pending.policy.id)).map((d) => d.status)).toEqual(['pending', 'pending']);
    const revokedEarly = await call(h, 'POST', `/v1/policies/${pending.policy.id}/revoke`, { reason: '发布有误' }, 200);
    expect(revokedEarly.status).toBe('revoked');
    const revoked = await call(h, 'POST', `/v1/policies/${policy.id}/revoke`, { reason: '政策已调整', notifyRecipients: true }, 200);
    expect(revoked.status).toBe('revoked');
    dispatcher = await startDispatcher({
      config: parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20' }),
      db: h.t,
      logger: createLogger({ level: 'silent' }),
      adapters: adapters.byChannel,
      withJobs: false,
      signingSecret: h.app.deps.signingSecret,
    });
    await settled(policy.id);
    const kinds = (await deliveries(policy.id)).map((d) => `${d.kind}:${d.status}`);
    expect(kinds).toContain('revocation:delivered');
    // Nothing of the early-revoked policy was ever sent.
    const early = await deliveries(pending.policy.id);
    expect(early.map((d) => d.status)).toEqual(['cancelled', 'cancelled']);
    expect(
      (await h.app.inject({ method: 'POST', url: `/v1/policies/${policy.id}/revoke`, headers: h.auth, payload: { reason: 'again' } }))
        .statusCode,
    ).toBe(409);
  });

  it('a scheduled policy can be rescheduled and cancelled before it goes out', async () => {
    const world = await seedWorld(h, [{ email: 's@example.com' }]);
    const publishAt = new Date(Date.now() + 3_600_000).toISOString();
    const { policy } = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id, { publishAt }), 202);
    const later = new Date(Date.now() + 7_200_000).toISOString();
    const moved = await call(h, 'PATCH', `/v1/policies/${policy.id}`, { publishAt: later }, 200);
    expect([moved.status, moved.version, moved.publishAt]).toEqual(['scheduled', 1, later]);
    expect((await call(h, 'GET', `/v1/policies/${policy.id}/push`)).startAt).toBe(later);
    const cancelled = await call(h, 'POST', `/v1/policies/${policy.id}/cancel`, undefined, 200);
    expect(cancelled.status).toBe('cancelled');
    expect(await deliveries(policy.id)).toEqual([]);
  });

  it('a policy past its validUntil becomes expired and sends nothing more', async () => {
    const world = await seedWorld(h, [{ email: 'e@example.com' }]);
    const { policy } = await call(
      h,
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id, { validUntil: new Date(Date.now() + 3_600_000).toISOString() }),
      202,
    );
    await h.t.db.execute(sql`update policies set valid_until = now() - interval '1 second' where id = ${Number(policy.id)}`);
    expect(await expirePolicies(h.t.db)).toContain(Number(policy.id));
    expect((await call(h, 'GET', `/v1/policies/${policy.id}`)).status).toBe('expired');
    expect((await call(h, 'GET', `/v1/policies?status=expired`)).items.map((p: { id: string }) => p.id)).toContain(policy.id);
  });
});

describe('email confirmation', () => {
  it('sends a confirmation link that confirms the address', async () => {
    const h = await buildTestApp();
    const dispatcher = await startSandboxDispatcher(h);
    try {
      const world = await seedWorld(h, [{ email: 'confirm-me@example.com' }]);
      const contactId = world.enterprises[0].contact.id;
      const { deliveryId } = await call(h, 'POST', `/v1/contacts/${contactId}/email-confirmation`, undefined, 202);
      const sent = async () =>
        rowsOf<{ content: { text: string } }>(
          await h.t.db.execute(sql`select content from sandbox_messages where delivery_id = ${Number(deliveryId)}`),
        );
      await vi.waitFor(async () => expect(await sent()).toHaveLength(1), { timeout: 10_000 });
      const link = (await sent())[0].content.text.match(/http:\/\/\S+\/c\/\S+/)![0];
      const page = await h.app.inject({ url: new URL(link).pathname });
      expect(page.statusCode).toBe(200);
      expect((await call(h, 'GET', `/v1/contacts/${contactId}`, undefined, 200)).emailConfirmedAt).not.toBeNull();
      expect(
        (await h.app.inject({ method: 'POST', url: `/v1/contacts/${contactId}/email-confirmation`, headers: h.auth })).statusCode,
      ).toBe(409);
    } finally {
      await dispatcher.stop();
      await h.close();
    }
  });
});
