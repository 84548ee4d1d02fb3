import { Writable } from 'node:stream';
import { createLogger, openLink, signToken } from '@policy-push/core';
import { rowsOf, sql } from '@policy-push/db';
import { type ReachFixture, seedReachFixture } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, tableCounts, type TestApp } from '../../../test/helpers';
import { buildApp } from '../../app';

const DAY = 86_400_000;

describe('the open link /r/<token>', () => {
  let h: TestApp;
  let f: ReachFixture;
  const linkOf = (deliveryId: number, now = new Date()) =>
    new URL(openLink('https://push.example.org', h.app.deps.signingSecret, deliveryId, now)).pathname;
  const BROWSER = 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36';
  const get = (url: string, userAgent = BROWSER) => h.app.inject({ method: 'GET', url, headers: { 'user-agent': userAgent } });
  const opens = async (deliveryId: number) => {
    const [row] = rowsOf<{ opens: number; first: string; last: string; machine: number; engaged: string | null }>(
      await h.t.db.execute(
        sql`select opens, first_opened_at as first, last_opened_at as last, machine_opens as machine, engaged_at as engaged
          from delivery_opens where delivery_id = ${deliveryId}`,
      ),
    );
    const [events] = rowsOf<{ n: number }>(
      await h.t.db.execute(sql`select count(*)::int as n from delivery_events where delivery_id = ${deliveryId} and type = 'opened'`),
    );
    return {
      opens: row?.opens ?? 0,
      machine: row?.machine ?? 0,
      engaged: row?.engaged ?? null,
      first: row?.first,
      last: row?.last,
      events: events.n,
    };
  };

  beforeAll(async () => {
    h = await buildTestApp();
    f = await seedReachFixture(h.t.db);
    // Sent ten minutes ago (an open within a minute of the send is a scanner's), and e3's email too.
    await h.t.db.execute(sql`
      update deliveries set sent_at = sent_at - interval '10 minutes', finished_at = finished_at - interval '10 minutes'
      where policy_id = ${f.policyId}`);
    await h.t.db.execute(
      sql`update deliveries set status = 'sent', sent_at = now() - interval '10 minutes' where id = ${f.deliveries.e3email}`,
    );
  });
  afterAll(() => h.close());

  it('redirects to the policy, and counts the open once per delivery for awareness however often it is clicked', async () => {
    const before = await call(h, 'GET', `/v1/policies/${f.policyId}/reach`, undefined, 200);
    expect(before.totals).toMatchObject({ targeted: 8, engaged: 3, awareness: 0.375 });

    const link = linkOf(f.deliveries.e3email);
    for (let i = 0; i < 3; i++) {
      const res = await get(link);
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe('https://policy.example.gov.cn/reach');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toBe('no-store');
    }
    const o = await opens(f.deliveries.e3email);
    expect(o).toMatchObject({ opens: 3, events: 1 });
    expect(new Date(o.last!).getTime()).toBeGreaterThanOrEqual(new Date(o.first!).getTime());

    const after = await call(h, 'GET', `/v1/policies/${f.policyId}/reach`, undefined, 200);
    expect(after.upToDate).toBe(true);
    expect(after.totals).toMatchObject({ targeted: 8, engaged: 4, awareness: 0.5 });
    expect(after.byChannel.find((c: any) => c.channel === 'email')).toMatchObject({ engaged: 2 });
  });

  it('leads to the interpretation (解讀) with ?to=interpretation, and a digest to the contact’s inbox', async () => {
    const res = await get(`${linkOf(f.deliveries.e1email)}?to=interpretation`);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://policy.example.gov.cn/reach/jiedu');
    expect((await get(`${linkOf(f.deliveries.e1email)}?to=policy`)).headers.location).toBe('https://policy.example.gov.cn/reach');

    const [digest] = rowsOf<{ id: string }>(
      await h.t.db.execute(sql`
        insert into deliveries (enterprise_id, contact_id, channel, kind, status, digest_period, sent_at)
        select enterprise_id, contact_id, 'email', 'digest', 'sent', 'daily:open-link-test', now() - interval '5 minutes'
        from deliveries where id = ${f.deliveries.e6email}
        returning id`),
    );
    await h.t.db.execute(sql`update deliveries set status = 'digested', digest_id = ${digest.id} where id = ${f.deliveries.e6email}`);
    const inbox = await get(linkOf(Number(digest.id)));
    expect(inbox.statusCode).toBe(302);
    expect(inbox.headers.location).toMatch(/\/p\/[0-9]+\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    // The held delivery folded into the digest is engaged through it.
    const reach = await call(h, 'GET', `/v1/policies/${f.policyId}/reach`, undefined, 200);
    expect(reach.bySize.find((s: any) => s.size === 'small')).toMatchObject({ sent: 5, engaged: 5 });
  });

  it('records a HEAD, a scanner and an open within a minute of the send as machine opens, not engagement; a later real open counts', async () => {
    const engaged = async () => (await call(h, 'GET', `/v1/policies/${f.policyId}/reach`, undefined, 200)).totals.engaged;
    const before = await engaged();
    const link = linkOf(f.deliveries.e2sms);

    const head = await h.app.inject({ method: 'HEAD', url: link, headers: { 'user-agent': BROWSER } });
    expect(head.statusCode).toBe(302);
    for (const scanner of ['Mozilla/5.0 (compatible; BingPreview/1.0b)', 'Barracuda Sentinel (EE)', '']) {
      expect((await get(link, scanner)).statusCode, scanner).toBe(302);
    }
    await h.t.db.execute(sql`update deliveries set sent_at = now() - interval '30 seconds' where id = ${f.deliveries.e2sms}`);
    expect((await get(link)).statusCode).toBe(302);
    expect(await opens(f.deliveries.e2sms)).toMatchObject({ opens: 5, machine: 5, engaged: null, events: 1 });
    expect(await engaged()).toBe(before);

    await h.t.db.execute(sql`update deliveries set sent_at = now() - interval '3 minutes' where id = ${f.deliveries.e2sms}`);
    expect((await get(link)).statusCode).toBe(302);
    expect(await opens(f.deliveries.e2sms)).toMatchObject({ opens: 6, machine: 5, events: 1 });
    expect((await opens(f.deliveries.e2sms)).engaged).not.toBeNull();
    expect(await engaged()).toBe(before + 1);
  });

  it('refuses forged, expired, other-purpose and malformed tokens with a 400 page, and writes nothing', async () => {
    const secret = h.app.deps.signingSecret;
    const token = linkOf(f.deliveries.e8wechat).slice('/r/'.length);
    const [subject, expiry, mac] = token.split('.');
    const refused = {
      'a changed signature': `${subject}.${expiry}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
      'another delivery under the same signature': `${(f.deliveries.e8wechat + 1).toString(36)}.${expiry}.${mac}`,
      'a later expiry under the same signature': `${subject}.${(parseInt(expiry, 36) + 1).toString(36)}.${mac}`,
      'signed with another secret': linkOf(f.deliveries.e8wechat).replace(
        token,
        signToken('x'.repeat(32), 'open', subject, new Date(Date.now() + DAY)),
      ),
      expired: linkOf(f.deliveries.e8wechat, new Date(Date.now() - 401 * DAY)).slice('/r/'.length),
      'an unsubscribe token': signToken(secret, 'unsubscribe', String(f.deliveries.e8wechat), new Date(Date.now() + DAY)),
      'a decimal subject': signToken(secret, 'open', '0012', new Date(Date.now() + DAY)),
      garbage: 'not-a-token',
      empty: '',
    };
    const before = await tableCounts(h.t);
    for (const [what, bad] of Object.entries(refused)) {
      const t = bad.startsWith('/r/') ? bad.slice(3) : bad;
      const res = await get(`/r/${t}`);
      expect(res.statusCode, what).toBe(400);
      expect(res.headers['content-type'], what).toMatch(/^text\/html/);
      expect(res.body, what).toContain('链接无效或已过期');
    }
    const badTarget = await get(`${linkOf(f.deliveries.e8wechat)}?to=elsewhere`);
    expect(badTarget.statusCode).toBe(400);
    expect(badTarget.json().error.fields).toContainEqual({ path: 'querystring.to', code: 'anyOf' });
    expect((await get(`${linkOf(f.deliveries.e8wechat)}?to=policy&extra=1`)).statusCode).toBe(400);
    // Authentic, but the delivery does not exist.
    const unknown = await get(linkOf(999_999_999));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('找不到这条消息');
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('keeps the token out of the request log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = await buildApp({ ...h.app.deps, logger: createLogger({ level: 'debug' }, sink) });
    try {
      const url = linkOf(f.deliveries.e8wechat);
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(302);
      const log = lines.join('');
      expect(log).toContain('/r/[token]');
      expect(log).toContain('message opened');
      expect(log).not.toContain(url.slice('/r/'.length));
    } finally {
      await app.close();
    }
  });
});
