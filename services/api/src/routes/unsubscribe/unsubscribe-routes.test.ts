import { createLogger, parseConfig, signToken } from '@policy-push/core';
import { rowsOf, sql } from '@policy-push/db';
import { createTestDb, type TestDb } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, contactAudit, tableCounts, type TestApp } from '../../../test/helpers';
import { buildApp } from '../../app';
import type { AppInstance } from '../../app-instance';

const DAY = 86_400_000;
const ONE_CLICK = 'List-Unsubscribe=One-Click';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let seq = 0;
/** One enterprise with one contact (email and phone) and a sent delivery on each channel, as the dispatcher leaves them. */
async function seedRecipient(t: TestDb) {
  const n = `${process.pid}-${++seq}`;
  const [e] = rowsOf<{ id: string }>(
    await t.db.execute(sql`
      insert into enterprises (credit_code, name, industry_section, district, size)
      values (${'U' + n}, '退订测试企业', 'C', '440106', 'small') returning id`),
  );
  const [c] = rowsOf<{ id: string }>(
    await t.db.execute(sql`
      insert into contacts (enterprise_id, email, phone, channels)
      values (${e.id}, ${`c${n}@example.com`}, '+8613800138000', '{email,sms}') returning id`),
  );
  const delivery = async (channel: string) => {
    const [d] = rowsOf<{ id: string }>(
      await t.db.execute(sql`
        insert into deliveries (enterprise_id, contact_id, channel, status, provider_message_id, sent_at)
        values (${e.id}, ${c.id}, ${channel}, 'sent', ${`pm-${channel}-${n}`}, now()) returning id`),
    );
    return String(d.id);
  };
  return { contactId: String(c.id), email: await delivery('email'), sms: await delivery('sms') };
}

async function optedOut(t: TestDb, contactId: string): Promise<string[]> {
  const [row] = rowsOf<{ opted_out: string[] }>(await t.db.execute(sql`select opted_out from contacts where id = ${contactId}`));
  return row.opted_out;
}

async function events(t: TestDb, deliveryId: string) {
  return rowsOf<{ type: string; channel: string; provider_message_id: string | null }>(
    await t.db.execute(sql`select type, channel, provider_message_id from delivery_events where delivery_id = ${deliveryId} order by id`),
  );
}

describe('one-click unsubscribe link', () => {
  let h: TestApp;
  let secret: string;
  beforeAll(async () => {
    h = await buildTestApp();
    secret = h.app.deps.signingSecret;
  });
  afterAll(() => h.close());

  // As the dispatcher signs it (send-one.ts): purpose 'unsubscribe', the delivery id, an expiry.
  const token = (deliveryId: string, o: { purpose?: string; expiresAt?: Date; key?: string } = {}) =>
    signToken(o.key ?? secret, o.purpose ?? 'unsubscribe', deliveryId, o.expiresAt ?? new Date(Date.now() + 400 * DAY));
  const get = (t: string) => h.app.inject({ method: 'GET', url: `/u/${t}` });
  const post = (t: string, payload = ONE_CLICK, headers: Record<string, string> = FORM) =>
    h.app.inject({ method: 'POST', url: `/u/${t}`, headers, payload });

  it('GET shows a self-contained confirmation page (zh-Hans, English below) that posts back, and changes nothing', async () => {
    const r = await seedRecipient(h.t);
    const before = await tableCounts(h.t);
    const res = await get(token(r.email));

    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.body).toMatch(/^<!doctype html><html lang="zh-Hans">/);
    expect(res.body).toContain('通过电子邮件');
    expect(res.body.indexOf('退订政策推送')).toBeLessThan(res.body.indexOf('Unsubscribe from policy notifications'));
    expect(res.body).toContain('<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">');
    // Nothing from anywhere else: no scripts, stylesheets, images or absolute links.
    expect(res.body).not.toMatch(/<script|<link|<img|src=|https?:\/\//);
    expect(await tableCounts(h.t)).toEqual(before);
    expect(await optedOut(h.t, r.contactId)).toEqual([]);

    expect((await get(token(r.sms))).body).toContain('通过短信');
  });

  it('POST List-Unsubscribe=One-Click, with no cookie or login, opts the contact out of that channel only and records the event', async () => {
    const r = await seedRecipient(h.t);
    const bystander = await seedRecipient(h.t);

    const res = await post(token(r.email));

    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('您已退订');
    expect(res.body).toContain('You are unsubscribed');
    expect(await optedOut(h.t, r.contactId)).toEqual(['email']);
    expect(await optedOut(h.t, bystander.contactId)).toEqual([]);
    expect(await events(h.t, r.email)).toEqual([{ type: 'unsubscribed', channel: 'email', provider_message_id: null }]);
    expect(await events(h.t, r.sms)).toEqual([]);
    // The recipient's own act, in the audit log as theirs (issue 12).
    expect(await contactAudit(h.t, r.contactId)).toEqual([{ actor: 'recipient', api_key_id: null, action: 'contact.unsubscribe' }]);

    // The SMS link of the same contact takes SMS away too, and only that.
    expect((await post(token(r.sms))).statusCode).toBe(200);
    expect(await optedOut(h.t, r.contactId)).toEqual(['email', 'sms']);
    expect(await events(h.t, r.sms)).toEqual([{ type: 'unsubscribed', channel: 'sms', provider_message_id: null }]);
  });

  it('a repeated POST changes nothing and still answers success', async () => {
    const r = await seedRecipient(h.t);
    const t = token(r.email);
    expect((await post(t)).statusCode).toBe(200);
    const after = await tableCounts(h.t);

    const again = await post(t);
    const concurrent = await Promise.all([post(t), post(t)]);

    for (const res of [again, ...concurrent]) {
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('您已退订');
    }
    expect(await tableCounts(h.t)).toEqual(after);
    expect(await optedOut(h.t, r.contactId)).toEqual(['email']);
    expect(await events(h.t, r.email)).toHaveLength(1);
  });

  it('accepts the multipart/form-data body RFC 8058 says providers should send', async () => {
    const r = await seedRecipient(h.t);
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const encoded = new Request('http://localhost/', { method: 'POST', body: form });
    const res = await post(token(r.email), Buffer.from(await encoded.arrayBuffer()) as unknown as string, {
      'content-type': encoded.headers.get('content-type')!,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(await optedOut(h.t, r.contactId)).toEqual(['email']);
  });

  describe('refused links write nothing', () => {
    const refusedTokens = (deliveryId: string): [string, string][] => {
      const good = token(deliveryId);
      const [body, sig] = good.split('.');
      const otherSubject = Buffer.from(JSON.stringify({ p: 'unsubscribe', s: '1', e: Math.floor(Date.now() / 1000) + 3600 })).toString(
        'base64url',
      );
      return [
        ['a forged signature', `${body}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`],
        ['a body swapped under a real signature', `${otherSubject}.${sig}`],
        ['a token for another purpose', token(deliveryId, { purpose: 'bind-wechat' })],
        ['an expired token', token(deliveryId, { expiresAt: new Date(Date.now() - 1000) })],
        ['a token signed with another key', token(deliveryId, { key: 'another-signing-secret-of-32-chars!!' })],
        ['not a token at all', 'hello'],
        ['an empty token', ''],
      ];
    };

    it('a forged, swapped, other-purpose, expired, other-key or junk token: GET and POST answer a 400 page', async () => {
      const r = await seedRecipient(h.t);
      const before = await tableCounts(h.t);
      for (const [name, bad] of refusedTokens(r.email)) {
        for (const res of [await get(bad), await post(bad)]) {
          expect(res.statusCode, name).toBe(400);
          expect(res.headers['content-type'], name).toBe('text/html; charset=utf-8');
          expect(res.body, name).toContain('链接无效或已过期');
          expect(res.body, name).toContain('This link is invalid or has expired');
        }
      }
      expect(await tableCounts(h.t)).toEqual(before);
      expect(await optedOut(h.t, r.contactId)).toEqual([]);
    });

    it('a valid token for a delivery that does not exist → 404 page', async () => {
      const before = await tableCounts(h.t);
      for (const res of [await get(token('999999999')), await post(token('999999999'))]) {
        expect(res.statusCode).toBe(404);
        expect(res.body).toContain('找不到这条消息');
      }
      expect(await tableCounts(h.t)).toEqual(before);
    });

    it.each([
      ['no body', undefined, {}],
      ['another value', 'List-Unsubscribe=Yes', FORM],
      ['another field only', 'unsubscribe=1', FORM],
    ])('a POST with %s → 400 in the error shape', async (_name, payload, headers) => {
      const r = await seedRecipient(h.t);
      const before = await tableCounts(h.t);
      const res = await h.app.inject({ method: 'POST', url: `/u/${token(r.email)}`, headers, payload });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
      expect(await tableCounts(h.t)).toEqual(before);
    });

    it('a body in an unsupported content type → 415, and a broken multipart body → 400', async () => {
      const r = await seedRecipient(h.t);
      const before = await tableCounts(h.t);
      const xml = await post(token(r.email), '<List-Unsubscribe>One-Click</List-Unsubscribe>', { 'content-type': 'application/xml' });
      expect(xml.statusCode).toBe(415);
      const broken = await post(token(r.email), 'not multipart', { 'content-type': 'multipart/form-data; boundary=xyz' });
      expect(broken.statusCode).toBe(400);
      expect(broken.json().error.code).toBe('invalid_form');
      expect(await tableCounts(h.t)).toEqual(before);
    });
  });
});

describe('unsubscribe link logging', () => {
  let t: TestDb;
  let app: AppInstance;
  const lines: string[] = [];
  beforeAll(async () => {
    t = await createTestDb();
    const config = parseConfig({ LOG_LEVEL: 'debug' });
    const logger = createLogger({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    app = await buildApp({ config, db: t, logger, signingSecret: 'a-test-signing-secret-of-32-chars!!' });
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  it('never writes the token, even in debug request logs', async () => {
    const r = await seedRecipient(t);
    const link = signToken('a-test-signing-secret-of-32-chars!!', 'unsubscribe', r.email, new Date(Date.now() + DAY));
    expect((await app.inject({ method: 'GET', url: `/u/${link}` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: `/u/${link}`, headers: FORM, payload: ONE_CLICK })).statusCode).toBe(200);
    expect(lines.join('')).toContain('/u/[token]');
    expect(lines.join('')).toContain('unsubscribed by signed link');
    expect(lines.join('')).not.toContain(link.split('.')[1]);
  });
});
