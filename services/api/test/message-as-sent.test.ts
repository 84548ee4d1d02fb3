// Issue 11: the message a reader gets is the one the preview showed before publishing and the one
// GET /v1/deliveries/{id}/message shows afterwards. Compared with what the sandbox recorded as
// sent: the same text, character for character, but for the signed tokens (the same lengths, so
// the same SMS segments), which are signed anew and taken out for everyone but admins.
import { smsSegments, withoutLinkTokens } from '@policy-push/core';
import { rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deliveryIdFromToken } from '../src/routes/unsubscribe/unsubscribe-service';
import { buildTestApp, call, keyHeaders, policyBody, seedWorld, startSandboxDispatcher, type TestApp } from './helpers';

type Sent = { channel: string; content: Record<string, any> };

describe('the message as sent', () => {
  let h: TestApp;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  let policyId: string;
  let preview: any;
  const sent = new Map<string, Sent & { deliveryId: string }>();
  const base = () => h.app.deps.config.publicBaseUrl;

  beforeAll(async () => {
    h = await buildTestApp();
    // A mainland phone (no reply comes back from it through Twilio), a mailbox and a WeChat follower.
    world = await seedWorld(h, [
      { phone: '+8613800138021' },
      { email: 'reader@example.com', channels: ['email'] },
      { wechatOpenid: 'oWechatReader000000000001', channels: ['wechat'] },
    ]);
    const body = policyBody(world.department.id, world.category.id, { docNumber: 'AS-SENT-1' });
    preview = await call(h, 'POST', '/v1/policies/preview', body, 200);
    policyId = (await call(h, 'POST', '/v1/policies', body, 202)).policy.id;
    const sandbox = await startSandboxDispatcher(h);
    await vi.waitFor(async () => expect((await call(h, 'GET', `/v1/policies/${policyId}/push`)).delivered).toBe(3), {
      timeout: 15_000,
      interval: 50,
    });
    await sandbox.stop(); // flushes the sandbox's record
    const rows = rowsOf<Sent & { delivery_id: string }>(
      await h.t.db.execute(sql`
        select s.delivery_id::text as delivery_id, s.channel, s.content from sandbox_messages s
        join deliveries d on d.id = s.delivery_id where d.policy_id = ${Number(policyId)}`),
    );
    for (const r of rows) sent.set(r.channel, { deliveryId: r.delivery_id, channel: r.channel, content: r.content });
  }, 60_000);
  afterAll(() => h.close());

  const previewOf = (channel: string) => preview.messages.find((m: any) => m.message.channel === channel).message;
  const tokens = (text: string) => text.match(/\/[rup]\/[^\s"<]+/g) ?? [];

  it('the Chinese SMS carries the signed unsubscribe link, not a reply hint that cannot arrive from +86', () => {
    const text: string = sent.get('sms')!.content.text;
    expect(text).not.toContain('回T');
    // Within the default budget the title still fits beside the two links.
    expect(text.startsWith(`【广州测试】${policyBody('', '').title}`)).toBe(true);
    expect(text).toMatch(new RegExp(` 退订 ${base()}/u/\\d+\\.[0-9a-z]+\\.[A-Za-z0-9_-]{22}$`));
    const token = text.slice(text.lastIndexOf('/u/') + 3);
    expect(deliveryIdFromToken(h.app.deps.signingSecret, token)).toBe(Number(sent.get('sms')!.deliveryId));
  });

  it('the preview shows each message exactly as it was sent, links through /r/ of their real length', () => {
    const sms = previewOf('sms').sms;
    const sentSms = sent.get('sms')!.content;
    expect(sms.text).toContain(`${base()}/r/`);
    expect(sms.text).not.toContain(policyBody('', '').url);
    expect(withoutLinkTokens(sms.text)).toBe(withoutLinkTokens(sentSms.text));
    expect(tokens(sms.text).map((t) => t.length)).toEqual(tokens(sentSms.text).map((t) => t.length));
    expect(sms.segments).toBe(smsSegments(sms.text).segments);
    expect(sms.segments).toBe(sentSms.segments);

    const email = previewOf('email').email;
    const sentEmail = sent.get('email')!.content;
    expect(email.subject).toBe(sentEmail.subject);
    expect(withoutLinkTokens(email.text)).toBe(withoutLinkTokens(sentEmail.text));
    expect(email.text.length).toBe(sentEmail.text.length);
    expect(withoutLinkTokens(email.html)).toBe(withoutLinkTokens(sentEmail.html));

    const wechat = previewOf('wechat').wechat;
    const sentWechat = sent.get('wechat')!.content;
    expect(wechat.data).toEqual(sentWechat.data);
    expect(wechat.url.length).toBe(sentWechat.url.length);
    expect(withoutLinkTokens(wechat.url)).toBe(withoutLinkTokens(sentWechat.url));
  });

  it('the preview shows one message per channel and language: an English-speaking contact gets the English title', async () => {
    const two = await seedWorld(h, [{ phone: '+8613800138022' }, { phone: '+8613800138023' }]);
    await h.t.db.execute(sql`update contacts set locale = 'en' where id = ${Number(two.enterprises[1].contact.id)}`);
    const body = policyBody(two.department.id, two.category.id, {
      docNumber: 'AS-SENT-EN',
      titleEn: 'Rent relief for small firms',
      summaryEn: 'Three months of rent waived.',
    });
    const answer = await call(h, 'POST', '/v1/policies/preview', body, 200);
    const sms = answer.messages.filter((m: any) => m.message.channel === 'sms');
    expect(sms.map((m: any) => m.message.locale).sort()).toEqual(['en', 'zh-Hans']);
    expect(sms.find((m: any) => m.message.locale === 'en').message.sms.text).toContain('Rent relief for small firms');
    expect(sms.find((m: any) => m.message.locale === 'zh-Hans').message.sms.text).not.toContain('Rent relief');
  });

  it('GET /v1/deliveries/{id}/message renders the sent message again from its version, with working links for admins', async () => {
    for (const channel of ['sms', 'email', 'wechat']) {
      const s = sent.get(channel)!;
      const m = await call(h, 'GET', `/v1/deliveries/${s.deliveryId}/message`, undefined, 200);
      expect(m).toMatchObject({ deliveryId: s.deliveryId, policyId, policyVersion: 1, kind: 'policy', renderedFrom: 'version_snapshot' });
      expect(m.links).toBe('signed_again');
      const shown = m.message[channel];
      if (channel === 'sms') {
        expect(withoutLinkTokens(shown.text)).toBe(withoutLinkTokens(s.content.text));
        expect(shown.text.length).toBe(s.content.text.length);
        expect(shown.segments).toBe(s.content.segments);
        const token = shown.text.slice(shown.text.lastIndexOf('/u/') + 3);
        expect(deliveryIdFromToken(h.app.deps.signingSecret, token)).toBe(Number(s.deliveryId));
      } else if (channel === 'email') {
        expect(shown.subject).toBe(s.content.subject);
        expect(withoutLinkTokens(shown.html)).toBe(withoutLinkTokens(s.content.html));
        expect(shown.text.length).toBe(s.content.text.length);
      } else {
        expect(shown).toMatchObject({ templateId: s.content.templateId, data: s.content.data });
        expect(withoutLinkTokens(shown.url)).toBe(withoutLinkTokens(s.content.url));
      }
    }
  });

  it('shows the version as published after the department changes its SMS signature', async () => {
    await call(h, 'PATCH', `/v1/departments/${world.department.id}`, { smsSignature: '新签名局' }, 200);
    const s = sent.get('sms')!;
    const m = await call(h, 'GET', `/v1/deliveries/${s.deliveryId}/message`, undefined, 200);
    expect(m.message.sms.text.startsWith('【广州测试】')).toBe(true);
    expect(withoutLinkTokens(m.message.sms.text)).toBe(withoutLinkTokens(s.content.text));
  });

  it('says when a version has no snapshot and renders it from the policy as it is now', async () => {
    await h.t.db.execute(sql`update policy_versions set snapshot = null where policy_id = ${Number(policyId)}`);
    const m = await call(h, 'GET', `/v1/deliveries/${sent.get('sms')!.deliveryId}/message`, undefined, 200);
    expect(m.renderedFrom).toBe('current_policy');
    expect(m.message.sms.text.startsWith('【新签名局】')).toBe(true);
  });

  it('masks the address and removes the signed tokens for publishers and ops; an enterprise reads its own', async () => {
    const s = sent.get('sms')!;
    const publisher = await keyHeaders(h, { role: 'publisher', departmentIds: [Number(world.department.id)] });
    const ops = await keyHeaders(h, { role: 'ops' });
    const enterprise = await keyHeaders(h, { role: 'enterprise', enterpriseId: Number(world.enterprises[0].enterprise.id) });
    const other = await keyHeaders(h, { role: 'enterprise', enterpriseId: Number(world.enterprises[1].enterprise.id) });
    const get = (headers: Record<string, string>) =>
      h.app.inject({ method: 'GET', url: `/v1/deliveries/${s.deliveryId}/message`, headers });
    for (const headers of [publisher, ops, enterprise]) {
      const res = await get(headers);
      expect(res.statusCode, res.body).toBe(200);
      const m = res.json();
      expect(m.links).toBe('removed');
      expect(m.message.sms.text).toContain(`${base()}/u/…`);
      expect(m.message.sms.text).toContain(`${base()}/r/…`);
      expect(m.message.sms.text).not.toMatch(/\/[ru]\/[^…]/);
    }
    expect((await get(publisher)).json().to).toBe('+86138****8021');
    expect((await get(ops)).json().to).toBe('+86138****8021');
    expect((await get(enterprise)).json().to).toBe('+8613800138021');
    expect((await get(other)).statusCode).toBe(404);
  });

  it('answers 404 for an unknown delivery and 400 for a bad id', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/v1/deliveries/999999999/message', headers: h.auth })).statusCode).toBe(404);
    const bad = await h.app.inject({ method: 'GET', url: '/v1/deliveries/abc/message', headers: h.auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.fields[0].path).toContain('id');
  });
});
