import { contacts, eq } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, tableCounts, type TestApp, expectRefused } from '../../../test/helpers';

describe('contacts', () => {
  let h: TestApp;
  let enterpriseId: string;
  beforeAll(async () => {
    h = await buildTestApp();
    const e = await call('POST', '/enterprises', {
      creditCode: '9144030071526726XG',
      name: '联系人测试公司',
      industry: { section: 'C' },
      district: '440106',
      size: 'medium',
    });
    enterpriseId = e.json().id;
  });
  afterAll(() => h.close());

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    h.app.inject({ method, url: `/v1${url}`, headers: h.auth, payload });
  const create = async (payload: object) => {
    const res = await call('POST', `/enterprises/${enterpriseId}/contacts`, payload);
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  const refused = (method: 'POST' | 'PATCH' | 'PUT', url: string, payload: object, status: number, code: string, path: string) =>
    expectRefused(h, method, `/v1${url}`, payload, status, code, path);

  it('creates with defaults, stores the phone in E.164 and the email domain in lower case', async () => {
    const c = await create({ name: '张三', phone: '138 0013 8000', email: 'Zhang.San@Example.COM' });
    expect(c).toMatchObject({
      enterpriseId,
      name: '张三',
      phone: '+8613800138000',
      email: 'Zhang.San@example.com',
      wechatOpenid: null,
      locale: 'zh-Hans',
      channels: ['wechat', 'sms', 'email'],
      optedOut: [],
      suppressed: false,
      consent: { source: 'agency-entered', at: expect.any(String) },
      emailConfirmedAt: null,
      quietHours: null,
    });
    expect((await call('GET', `/contacts/${c.id}`)).json()).toEqual(c);

    const hk = await create({ phone: '+852 5123 4567', locale: 'zh-Hant', channels: ['sms'], optedOut: ['email'] });
    expect(hk).toMatchObject({ phone: '+85251234567', locale: 'zh-Hant', channels: ['sms'], optedOut: ['email'] });
    const wx = await create({ wechatOpenid: 'oAbC-123_xyz', channels: ['email', 'wechat'] });
    expect(wx.channels).toEqual(['email', 'wechat']);
  });

  it('lists the contacts of one enterprise by id with a cursor', async () => {
    const other = await call('POST', '/enterprises', {
      creditCode: '91350100M000100Y43',
      name: '另一家',
      industry: { section: 'F' },
      district: '440103',
      size: 'micro',
    });
    const otherId = other.json().id;
    const mine = [await create({ email: 'a@example.org' }), await create({ email: 'b@example.org' })];
    const theirs = await call('POST', `/enterprises/${otherId}/contacts`, { email: 'c@example.org' });
    expect(theirs.statusCode).toBe(201);

    const all = (await call('GET', `/enterprises/${otherId}/contacts`)).json();
    expect(all).toEqual({ items: [theirs.json()], nextCursor: null });

    const ids: string[] = [];
    let cursor = '';
    do {
      const res = (await call('GET', `/enterprises/${enterpriseId}/contacts?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json();
      expect(res.items.length).toBeLessThanOrEqual(1);
      ids.push(...res.items.map((c: { id: string }) => c.id));
      cursor = res.nextCursor ?? '';
    } while (cursor);
    expect(ids).toEqual([...ids].sort((a, b) => Number(a) - Number(b)));
    expect(ids).toEqual(expect.arrayContaining(mine.map((c) => c.id)));
    expect(ids).not.toContain(theirs.json().id);
  });

  it('updates only the fields given and deletes', async () => {
    const c = await create({ phone: '13800138000', email: 'x@example.org' });
    const patched = await call('PATCH', `/contacts/${c.id}`, { email: null, optedOut: ['sms'], locale: 'en' });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      phone: '+8613800138000',
      email: null,
      optedOut: ['sms'],
      locale: 'en',
      channels: ['wechat', 'sms', 'email'],
    });
    const phone = await call('PATCH', `/contacts/${c.id}`, { phone: '+86 139 0000 0000' });
    expect(phone.json().phone).toBe('+8613900000000');

    expect((await call('DELETE', `/contacts/${c.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/contacts/${c.id}`)).statusCode).toBe(404);
    expect((await call('DELETE', `/contacts/${c.id}`)).statusCode).toBe(404);
  });

  it('refuses a contact without any address with 422 no_address', async () => {
    const url = `/enterprises/${enterpriseId}/contacts`;
    await refused('POST', url, { name: '无地址' }, 422, 'no_address', 'phone');
    await refused('POST', url, { phone: null, email: null }, 422, 'no_address', 'wechatOpenid');
    const c = await create({ phone: '13800138000', wechatOpenid: 'openid_123' });
    await refused('PATCH', `/contacts/${c.id}`, { phone: null, wechatOpenid: null }, 422, 'no_address', 'email');
    // Removing one of two addresses is fine.
    expect((await call('PATCH', `/contacts/${c.id}`, { phone: null })).statusCode).toBe(200);
    await refused('PATCH', `/contacts/${c.id}`, { wechatOpenid: null }, 422, 'no_address', 'phone');
  });

  it('refuses a phone that is not a valid mobile with 422', async () => {
    const url = `/enterprises/${enterpriseId}/contacts`;
    await refused('POST', url, { phone: '020 8888 8888' }, 422, 'phone_not_mobile', 'phone');
    await refused('POST', url, { phone: '12345' }, 422, 'invalid_phone', 'phone');
    await refused('POST', url, { phone: 'call me maybe', email: 'a@example.org' }, 422, 'invalid_phone', 'phone');
    await refused('POST', url, { phone: '13800138000 ext. 12' }, 422, 'invalid_phone', 'phone');
    const c = await create({ email: 'p@example.org' });
    await refused('PATCH', `/contacts/${c.id}`, { phone: '020 8888 8888' }, 422, 'phone_not_mobile', 'phone');
  });

  it('refuses malformed fields with 400', async () => {
    const url = `/enterprises/${enterpriseId}/contacts`;
    await refused('POST', url, { email: 'not an email' }, 400, 'format', 'email');
    await refused('POST', url, { wechatOpenid: 'short' }, 400, 'pattern', 'wechatOpenid');
    await refused('POST', url, { wechatOpenid: 'has space 123' }, 400, 'pattern', 'wechatOpenid');
    await refused('POST', url, { email: 'a@example.org', channels: ['sms', 'sms'] }, 400, 'uniqueItems', 'channels');
    await refused('POST', url, { email: 'a@example.org', channels: ['fax'] }, 400, 'anyOf', 'channels.0');
    await refused('POST', url, { email: 'a@example.org', channels: [] }, 400, 'minItems', 'channels');
    await refused('POST', url, { email: 'a@example.org', locale: 'fr' }, 400, 'anyOf', 'locale');
    await refused('POST', url, { email: 'a@example.org', suppressed: true }, 400, 'unknown_field', 'suppressed');
    await refused('POST', url, { phone: 13800138000 }, 400, 'type', 'phone');
    const c = await create({ email: 'q@example.org' });
    await refused('PATCH', `/contacts/${c.id}`, {}, 400, 'minProperties', 'body');
    await refused('PATCH', `/contacts/${c.id}`, { enterpriseId }, 400, 'unknown_field', 'enterpriseId');
  });

  it("records how consent was given and the contact's own quiet hours", async () => {
    const c = await create({ phone: '13800138010', consentSource: 'self-service', quietHours: '22:30-07:00' });
    expect(c).toMatchObject({ consent: { source: 'self-service' }, quietHours: '22:30-07:00' });
    const patched = (await call('PATCH', `/contacts/${c.id}`, { consentSource: 'agency-entered', quietHours: null })).json();
    expect(patched).toMatchObject({ consent: { source: 'agency-entered' }, quietHours: null });
    expect(Date.parse(patched.consent.at)).toBeGreaterThanOrEqual(Date.parse(c.consent.at));
    // Other changes leave the consent as it was.
    const renamed = (await call('PATCH', `/contacts/${c.id}`, { name: '新名字', quietHours: '12:00-13:30' })).json();
    expect(renamed).toMatchObject({ consent: patched.consent, quietHours: '12:00-13:30' });
  });

  it('refuses quiet hours that are not HH:MM-HH:MM with 422 invalid_quiet_hours', async () => {
    const url = `/enterprises/${enterpriseId}/contacts`;
    for (const quietHours of ['25:00-08:00', '8:00-09:00', '22:00-08:60', '22:00–08:00', '22:00-08:00 ', '08:00-08:00', '']) {
      await refused('POST', url, { phone: '13800138011', quietHours }, 422, 'invalid_quiet_hours', 'quietHours');
    }
    const c = await create({ email: 'quiet@example.org' });
    await refused('PATCH', `/contacts/${c.id}`, { quietHours: '2200-0800' }, 422, 'invalid_quiet_hours', 'quietHours');
    await refused('POST', url, { phone: '13800138011', consentSource: 'phone-call' }, 400, 'anyOf', 'consentSource');
    await refused('PATCH', `/contacts/${c.id}`, { quietHours: 2200 }, 400, 'anyOf', 'quietHours');
  });

  it('forgets an email confirmation when the address changes', async () => {
    const c = await create({ phone: '13800138012', email: 'confirmed@example.org' });
    await h.t.db
      .update(contacts)
      .set({ emailConfirmedAt: new Date('2026-01-02T03:04:05Z') })
      .where(eq(contacts.id, Number(c.id)));
    const confirmed = '2026-01-02T03:04:05.000Z';
    expect((await call('PATCH', `/contacts/${c.id}`, { phone: '13800138013' })).json().emailConfirmedAt).toBe(confirmed);
    expect((await call('PATCH', `/contacts/${c.id}`, { email: 'confirmed@EXAMPLE.org' })).json().emailConfirmedAt).toBe(confirmed);
    expect((await call('PATCH', `/contacts/${c.id}`, { email: 'other@example.org' })).json().emailConfirmedAt).toBeNull();
  });

  it('answers 404 for an unknown enterprise or contact', async () => {
    const before = await tableCounts(h.t);
    const created = await call('POST', '/enterprises/987654/contacts', { phone: '13800138000' });
    expect(created.statusCode).toBe(404);
    expect(created.json().error.code).toBe('not_found');
    expect(await tableCounts(h.t)).toEqual(before);
    expect((await call('GET', '/enterprises/987654/contacts')).statusCode).toBe(404);
    for (const [method, payload] of [['GET'], ['PATCH', { name: 'x' }], ['DELETE']] as const) {
      const res = await call(method, '/contacts/987654', payload);
      expect(res.statusCode, method).toBe(404);
    }
  });
});
