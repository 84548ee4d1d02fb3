// The console's delivery log, delivery timeline and enterprises (issue 14), by role, through inject().
// Real Postgres (PGlite or TEST_DATABASE_URL), the real fan-out and reach refresher.
import { fanOutNextChunk, refreshReach, rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, keyHeaders, opsSignIn, policyBody, seedWorld, type TestApp } from '../../../test/helpers';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const PHONE = '+8613812345678';
const EMAIL = 'xiaoming@example.com';
const OPENID = 'oWx1234567890abcdefXYZ';
const deliveryIdsIn = (html: string) => [...html.matchAll(/data-delivery="(\d+)"/g)].map((m) => Number(m[1]));

describe('/ops delivery log and enterprises (issue 14)', () => {
  let h: TestApp;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  let policyId: string;
  let admin: { cookie: string; csrf: string };
  let ops: { cookie: string; csrf: string };
  let publisher: { cookie: string; csrf: string };
  let mine: number[];
  let others: number[];

  beforeAll(async () => {
    h = await buildTestApp();
    world = await seedWorld(h, [
      { phone: PHONE, email: EMAIL, wechatOpenid: OPENID, channels: ['sms', 'email'] },
      { phone: '+8613912345678', channels: ['sms'] },
    ]);
    await call(h, 'PATCH', `/v1/contacts/${world.enterprises[0].contact.id}`, { name: '王小明' }, 200);
    // A title Excel would take for a formula: the CSV must keep it text.
    const body = policyBody(world.department.id, world.category.id, { title: '=HYPERLINK("http://evil.example")政策' });
    policyId = (await call(h, 'POST', '/v1/policies', body, 202)).policy.id;
    while (await fanOutNextChunk(h.t.db, 1000));
    await refreshReach(h.t.db);
    const ids = async (contactId: string) =>
      rowsOf<{ id: string }>(
        await h.t.db.execute(sql`select id::text from deliveries where contact_id = ${Number(contactId)} order by id`),
      ).map((r) => Number(r.id));
    mine = await ids(world.enterprises[0].contact.id);
    others = await ids(world.enterprises[1].contact.id);
    admin = await opsSignIn(h, h.auth.authorization.replace('Bearer ', ''));
    ops = await opsSignIn(h, (await keyHeaders(h, { role: 'ops' })).authorization.replace('Bearer ', ''));
    publisher = await opsSignIn(
      h,
      (await keyHeaders(h, { role: 'publisher', departmentIds: [Number(world.department.id)] })).authorization.replace('Bearer ', ''),
    );
  });
  afterAll(() => h.close());

  const get = (who: { cookie: string }, url: string) => h.app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });

  it('finds a recipient by any usual form of the address, and keeps it masked for ops', async () => {
    expect(mine.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);
    for (const typed of ['13812345678', '+86 138 1234 5678', 'XiaoMing@Example.com', OPENID]) {
      const res = await get(ops, `/ops/deliveries?${new URLSearchParams({ recipient: typed })}`);
      expect(res.statusCode, typed).toBe(200);
      expect(deliveryIdsIn(res.body).sort(), typed).toEqual([...mine].sort());
      expect(res.body).not.toContain('13812345678');
      expect(res.body).not.toContain(EMAIL);
      // The links (older, CSV) carry the contacts found, never the address.
      expect(res.body).toContain(`contactIds=${world.enterprises[0].contact.id}`);
    }
    const nobody = await get(ops, '/ops/deliveries?recipient=13700000000');
    expect(deliveryIdsIn(nobody.body)).toEqual([]);
    expect(nobody.body).toContain('data-recipient-contacts="0"');
  });

  it('finds an enterprise by credit code or name, and filters by error code, provider and dates', async () => {
    const e0 = world.enterprises[0].enterprise;
    const byCode = await get(admin, `/ops/deliveries?enterprise=${e0.creditCode}`);
    expect(deliveryIdsIn(byCode.body).sort()).toEqual([...mine].sort());
    expect(byCode.body).toContain(`href="/ops/enterprises/${e0.id}"`);
    const byName = await get(admin, `/ops/deliveries?${new URLSearchParams({ enterprise: e0.name })}`);
    expect(deliveryIdsIn(byName.body).sort()).toEqual([...mine].sort());

    await h.t.db.execute(sql`update deliveries set status = 'failed', error_code = 'E_TEST' where id = ${others[0]}`);
    const byError = await get(admin, `/ops/deliveries?errorCode=E_TEST&policyId=${policyId}`);
    expect(deliveryIdsIn(byError.body)).toEqual([others[0]]);
    expect((await get(admin, '/ops/deliveries?provider=nobody')).body).not.toContain('data-delivery=');
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    expect(deliveryIdsIn((await get(admin, `/ops/deliveries?from=${today}&to=${today}&policyId=${policyId}`)).body).length).toBe(
      mine.length + others.length,
    );
    expect(deliveryIdsIn((await get(admin, `/ops/deliveries?to=2020-01-01&policyId=${policyId}`)).body)).toEqual([]);
    await h.t.db.execute(sql`update deliveries set status = 'pending', error_code = null where id = ${others[0]}`);
  });

  it('refuses unknown and bad filters with a 400 naming them', async () => {
    for (const [url, code, fields] of [
      ['/ops/deliveries?foo=1', 'unknown_filter', 'foo'],
      ['/ops/deliveries?status=lost', 'invalid_status', 'status'],
      ['/ops/deliveries?from=2026-02-30', 'invalid_from', 'from'],
      ['/ops/deliveries?provider=A%20B&channel=fax', 'invalid_filter', 'channel provider'],
      ['/ops/deliveries/export?sort=id', 'unknown_filter', 'sort'],
      ['/ops/enterprises?name=x', 'unknown_filter', 'name'],
    ]) {
      const res = await get(ops, url);
      expect(res.statusCode, url).toBe(400);
      expect(res.body, url).toContain(`data-code="${code}"`);
      expect(res.body, url).toContain(`data-fields="${fields}"`);
    }
    // The API's log takes the same filters, and refuses unknown ones too.
    const api = await h.app.inject({ method: 'GET', url: '/v1/deliveries?recipient=13812345678', headers: h.auth });
    expect(
      api
        .json()
        .items.map((d: { id: string }) => Number(d.id))
        .sort(),
    ).toEqual([...mine].sort());
    const byEnterprise = await h.app.inject({
      method: 'GET',
      url: `/v1/deliveries?enterprise=${world.enterprises[1].enterprise.creditCode}`,
      headers: await keyHeaders(h, { role: 'ops' }),
    });
    expect(byEnterprise.json().items.map((d: { id: string }) => Number(d.id))).toEqual([...others].reverse());
    expect((await h.app.inject({ method: 'GET', url: '/v1/deliveries?foo=1', headers: h.auth })).statusCode).toBe(400);
  });

  it('downloads the filter as CSV: no addresses for any role, formulas kept as text', async () => {
    for (const who of [admin, ops]) {
      const res = await get(who, `/ops/deliveries/export?recipient=13812345678`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/csv');
      const lines = res.body
        .replace(/^\uFEFF/, '')
        .trim()
        .split('\r\n');
      expect(lines[0]).toMatch(/^delivery_id,/);
      expect(
        lines
          .slice(1)
          .map((l) => Number(l.split(',')[0]))
          .sort(),
      ).toEqual([...mine].sort());
      expect(res.body).not.toContain('13812345678');
      expect(res.body).not.toContain(EMAIL);
      expect(res.body).not.toContain(OPENID);
      expect(res.body).toContain(`"'=HYPERLINK(""http://evil.example"")政策"`);
    }
    expect((await get(publisher, '/ops/deliveries/export')).statusCode).toBe(403);
  });

  it('retries the failed ones in the filter after a confirmation with the count, audited', async () => {
    await h.t.db.execute(
      sql`update deliveries set status = 'failed', error_code = 'E_DOWN' where id = any(${`{${others.join(',')}}`}::bigint[])`,
    );
    const retries = async () =>
      rowsOf<{ n: number }>(await h.t.db.execute(sql`select count(*)::int as n from audit_log where action = 'deliveries.retry'`))[0].n;
    const before = await retries();
    const log = await get(ops, `/ops/deliveries?policyId=${policyId}&status=failed`);
    expect(log.body).toContain('data-retry');
    // A filter the retry cannot honour exactly offers no button.
    expect((await get(ops, `/ops/deliveries?policyId=${policyId}&recipient=13912345678`)).body).not.toContain('data-retry');

    const fields = { policyId, status: 'failed', errorCode: 'E_DOWN' };
    const noCsrf = await h.app.inject({
      method: 'POST',
      url: '/ops/deliveries/retry',
      headers: { ...FORM, cookie: ops.cookie },
      payload: new URLSearchParams({ ...fields, confirm: 'yes' }).toString(),
    });
    expect(noCsrf.statusCode).toBe(403);
    const confirm = await h.app.inject({
      method: 'POST',
      url: '/ops/deliveries/retry',
      headers: { ...FORM, cookie: ops.cookie },
      payload: new URLSearchParams({ ...fields, _csrf: ops.csrf }).toString(),
    });
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain(`data-retry-count="${others.length >= 1 ? 1 : 0}"`);
    // The confirmation wrote nothing.
    expect(await retries()).toBe(before);
    expect(
      rowsOf<{ n: number }>(
        await h.t.db.execute(sql`select count(*)::int as n from deliveries where status = 'failed' and error_code = 'E_DOWN'`),
      )[0].n,
    ).toBe(others.length);

    const bad = await h.app.inject({
      method: 'POST',
      url: '/ops/deliveries/retry',
      headers: { ...FORM, cookie: ops.cookie },
      payload: new URLSearchParams({ policyId, provider: 'twilio', _csrf: ops.csrf }).toString(),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('data-fields="provider"');

    const done = await h.app.inject({
      method: 'POST',
      url: '/ops/deliveries/retry',
      headers: { ...FORM, cookie: ops.cookie },
      payload: new URLSearchParams({ ...fields, confirm: 'yes', _csrf: ops.csrf }).toString(),
    });
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('data-requeued="1"');
    const [row] = rowsOf<{ subject_id: string; details: { count: number } }>(
      await h.t.db.execute(sql`select subject_id, details from audit_log where action = 'deliveries.retry' order by id desc limit 1`),
    );
    expect([await retries(), row.subject_id, row.details.count]).toEqual([before + 1, policyId, 1]);
  });

  it("shows a delivery's names, contact masked per role, opens and the message as sent", async () => {
    const id = mine[0];
    await h.t.db.execute(
      sql`insert into delivery_opens (delivery_id, first_opened_at, last_opened_at, opens) values (${id}, now() - interval '1 hour', now(), 3)`,
    );
    const asOps = await get(ops, `/ops/deliveries/${id}`);
    expect(asOps.statusCode).toBe(200);
    expect(asOps.body).toContain(`href="/ops/enterprises/${world.enterprises[0].enterprise.id}"`);
    expect(asOps.body).toContain(`href="/ops/policies/${policyId}"`);
    expect(asOps.body).toContain('data-opens="3"');
    expect(asOps.body).toContain('data-entry="last_opened"');
    expect(asOps.body).toContain('data-rendered-message');
    expect(asOps.body).toContain('王**');
    expect(asOps.body).not.toContain('王小明');
    expect(asOps.body).not.toMatch(/13812345678|xiaoming@/);
    const asAdmin = await get(admin, `/ops/deliveries/${id}`);
    expect(asAdmin.body).toContain('王小明');
    expect(asAdmin.body).toMatch(/\+8613812345678|xiaoming@example\.com/);
    expect((await get(publisher, `/ops/deliveries/${id}`)).statusCode).toBe(403);
  });

  it('searches enterprises and shows one with contacts (masked for ops), subscriptions, consent history and policies received', async () => {
    const e0 = world.enterprises[0].enterprise;
    const found = await get(ops, `/ops/enterprises?q=${encodeURIComponent(e0.name)}`);
    expect(found.statusCode).toBe(200);
    expect(found.body).toContain(`data-enterprise="${e0.id}"`);
    expect((await get(ops, `/ops/enterprises?q=${e0.creditCode}`)).body).toContain(`data-enterprise="${e0.id}"`);

    const asOps = await get(ops, `/ops/enterprises/${e0.id}`);
    expect(asOps.statusCode).toBe(200);
    expect(asOps.body).toContain('data-consent="agency-entered"');
    expect(asOps.body).toContain(`data-received="${policyId}"`);
    expect(asOps.body).toContain('data-action="contact.update"');
    expect(asOps.body).toContain('data-action="contact.create"');
    expect(asOps.body).not.toMatch(/13812345678|xiaoming@|王小明/);
    expect(asOps.body).not.toContain(OPENID);
    expect(asOps.body).toContain('138****5678');
    const asAdmin = await get(admin, `/ops/enterprises/${e0.id}`);
    for (const raw of [PHONE, EMAIL, OPENID, '王小明']) expect(asAdmin.body).toContain(raw);
    expect((await get(admin, '/ops/enterprises/999999999')).statusCode).toBe(404);
    expect((await get(publisher, `/ops/enterprises/${e0.id}`)).statusCode).toBe(403);
    expect((await get(publisher, '/ops/enterprises')).statusCode).toBe(403);
    // Only the roles that may open it see the link.
    expect((await get(ops, '/ops')).body).toContain('href="/ops/enterprises"');
    expect((await get(publisher, '/ops/compose')).body).not.toContain('href="/ops/enterprises"');
  });

  it('labels every table cell with its column, for the cards a phone shows', async () => {
    for (const url of ['/ops', `/ops/deliveries?policyId=${policyId}`, `/ops/enterprises/${world.enterprises[0].enterprise.id}`]) {
      const body = (await get(admin, url)).body;
      const cells = [...body.matchAll(/<td(?=[\s>])([^>]*)>/g)];
      expect(cells.length, url).toBeGreaterThan(0);
      expect(
        cells.filter((c) => !/data-label="[^"]+"/.test(c[1])),
        url,
      ).toEqual([]);
    }
  });
});
