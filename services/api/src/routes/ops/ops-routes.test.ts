// The console through inject(): signing in, the cookie's flags, CSRF on every form, helmet's
// headers, and pages that show what the API knows. The browser test (test/ops-console.browser.test.ts)
// drives the same pages in Chromium.
import { smsSegments } from '@policy-push/core';
import { fanOutNextChunk, refreshReach, sql } from '@policy-push/db';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, opsSignIn, policyBody, seedWorld, tableCounts, type TestApp } from '../../../test/helpers';

const hidden = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
const cookieOf = (res: LightMyRequestResponse, name: string) =>
  (
    res.cookies as {
      name: string;
      value: string;
      httpOnly?: boolean;
      sameSite?: string;
      secure?: boolean;
      path?: string;
      maxAge?: number;
    }[]
  ).find((c) => c.name === name);
const form = (fields: Record<string, string | string[]>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) p.append(k, one);
  return p.toString();
};
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('/ops', () => {
  let h: TestApp;
  let key: string;
  beforeAll(async () => {
    // inject() comes from 127.0.0.1: as from a proxy on this machine, whose X-Forwarded-Proto counts.
    h = await buildTestApp({ TRUST_PROXY: 'loopback' });
    key = h.auth.authorization.replace('Bearer ', '');
  });
  afterAll(() => h.close());

  const signIn = (headers: Record<string, string> = {}) => opsSignIn(h, key, headers);
  const signedIn = () => opsSignIn(h, key);

  it('sends a visitor without a session to the sign-in page, and refuses their POSTs', async () => {
    const get = await h.app.inject({ method: 'GET', url: '/ops' });
    expect(get.statusCode).toBe(303);
    expect(get.headers.location).toBe('/ops/login');
    const post = await h.app.inject({ method: 'POST', url: '/ops/compose/publish', headers: FORM, payload: form({ title: 'x' }) });
    expect(post.statusCode).toBe(401);
    expect(post.body).toContain('data-code="unauthorized"');
    const forged = await h.app.inject({
      method: 'GET',
      url: '/ops',
      headers: { cookie: 'pp_ops_session=1-abc.zzzzzz.AAAAAAAAAAAAAAAAAAAAAA' },
    });
    expect(forged.statusCode).toBe(303);
  });

  it('serves the sign-in form with helmet headers and a double-submit nonce', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/ops/login' });
    expect(res.statusCode).toBe(200);
    const nonce = cookieOf(res, 'pp_ops_login');
    expect(nonce).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ops' });
    expect(hidden(res.body, '_csrf')).toBe(nonce!.value);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('refuses a bad key and a sign-in without its nonce, setting no session', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/ops/login' });
    const nonce = cookieOf(page, 'pp_ops_login')!.value;
    const bad = await h.app.inject({
      method: 'POST',
      url: '/ops/login',
      headers: { ...FORM, cookie: `pp_ops_login=${nonce}` },
      payload: form({ key: 'pp_thisisnotarealkeyatallnoreally0123456789', _csrf: nonce }),
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.body).toContain('data-code="bad_key"');
    expect(cookieOf(bad, 'pp_ops_session')).toBeUndefined();

    const noNonce = await h.app.inject({ method: 'POST', url: '/ops/login', headers: FORM, payload: form({ key }) });
    expect(noNonce.statusCode).toBe(403);
    expect(noNonce.body).toContain('data-code="csrf"');
    expect(cookieOf(noNonce, 'pp_ops_session')).toBeUndefined();
    const otherNonce = await h.app.inject({
      method: 'POST',
      url: '/ops/login',
      headers: { ...FORM, cookie: `pp_ops_login=${nonce}` },
      payload: form({ key, _csrf: 'someone-elses-nonce' }),
    });
    expect(otherNonce.statusCode).toBe(403);
  });

  it('trades a good key for an HttpOnly, SameSite=Strict session cookie, Secure over https, not holding the key', async () => {
    const { res, session } = await signIn();
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/ops');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ops' });
    expect(session!.secure).toBeFalsy();
    expect(session!.value).not.toContain(key);
    const https = await signIn({ 'x-forwarded-proto': 'https' });
    expect(https.session!.secure).toBe(true);

    const overview = await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie: `pp_ops_session=${session!.value}` } });
    expect(overview.statusCode).toBe(200);
    expect(overview.body).toContain('data-health="ok"');
    expect(overview.body).toContain('data-role="admin"');
    expect(overview.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('refuses every form posted without the session’s CSRF token, writing nothing', async () => {
    const world = await seedWorld(h, [{ email: 'csrf@example.com' }]);
    const { cookie, csrf } = await signedIn();
    const other = await signedIn();
    expect(other.csrf).not.toBe(csrf);
    const fields = { ...policyBody(world.department.id, world.category.id) } as Record<string, string | string[]>;
    const before = await tableCounts(h.t);
    for (const token of [undefined, '', other.csrf, csrf.slice(0, -1)]) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/ops/compose/publish',
        headers: { ...FORM, cookie },
        payload: form(token === undefined ? fields : { ...fields, _csrf: token }),
      });
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('data-code="csrf"');
    }
    const logout = await h.app.inject({ method: 'POST', url: '/ops/logout', headers: { ...FORM, cookie }, payload: form({}) });
    expect(logout.statusCode).toBe(403);
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('previews without writing, refuses a bad form with 422, then publishes once and shows the API’s numbers', async () => {
    const world = await seedWorld(h, [{ email: 'one@example.com' }, { phone: '+12025550150', channels: ['sms'] }]);
    const { cookie, csrf } = await signedIn();
    const body = policyBody(world.department.id, world.category.id, { docNumber: `OPS-${Date.now()}` });
    const fields = { ...(body as Record<string, string | string[]>), _csrf: csrf };

    const compose = await h.app.inject({ method: 'GET', url: '/ops/compose', headers: { cookie } });
    expect(compose.statusCode).toBe(200);
    expect(compose.body).toContain(`name="categoryIds" value="${world.category.id}"`);

    const before = await tableCounts(h.t);
    const bad = await h.app.inject({
      method: 'POST',
      url: '/ops/compose/preview',
      headers: { ...FORM, cookie },
      payload: form({ ...fields, url: 'javascript:alert(1)', categoryIds: [] }),
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('data-field="url"');
    expect(bad.body).toContain('data-field="categoryIds"');

    const preview = await h.app.inject({
      method: 'POST',
      url: '/ops/compose/preview',
      headers: { ...FORM, cookie },
      payload: form(fields),
    });
    expect(preview.statusCode).toBe(200);
    expect(preview.body).toContain('data-count="enterprises">2<');
    expect(preview.body).toContain('data-count="sms">1<');
    // The SMS as it will be sent: its link goes through /r/, the unsubscribe link is there (no
    // reply reaches us from +86 numbers), both as long as the real ones; segments counted on it.
    const [, smsText, segments] = /data-rendered="sms"[\s\S]*?<div class="msg">([^<]*)<\/div>[\s\S]*?data-sms-segments="(\d+)"/.exec(
      preview.body,
    )!;
    const base = h.app.deps.config.publicBaseUrl;
    expect(smsText).toContain(`${base}/r/`);
    expect(smsText).toMatch(new RegExp(` 退订 ${base}/u/\\d+\\.[0-9a-z]+\\.[A-Za-z0-9_-]{22}$`));
    expect(Number(segments)).toBe(smsSegments(smsText).segments);
    expect(preview.body).toContain('data-email-subject');
    expect(preview.body).not.toContain('one@example.com'); // addresses are masked
    expect(preview.body).toContain('o***@example.com');
    expect(await tableCounts(h.t)).toEqual(before);

    const publish = () =>
      h.app.inject({ method: 'POST', url: '/ops/compose/publish', headers: { ...FORM, cookie }, payload: form(fields) });
    const published = await publish();
    expect(published.statusCode).toBe(303);
    const policyId = /^\/ops\/policies\/(\d+)$/.exec(published.headers.location as string)![1];
    // A second click answers the first publish.
    expect((await publish()).headers.location).toBe(published.headers.location);

    while (await fanOutNextChunk(h.t.db, 100)) {}
    const api = await call(h, 'GET', `/v1/policies/${policyId}/push`, undefined, 200);
    const page = await h.app.inject({ method: 'GET', url: `/ops/policies/${policyId}`, headers: { cookie } });
    expect(page.statusCode).toBe(200);
    for (const field of ['matched', 'pending', 'sent', 'delivered', 'failed']) {
      expect(page.body).toContain(`data-field="${field}">${api[field]}<`);
    }
    expect(api.matched).toBe(2);
    // The reach funnel shows the addressable stage and why the others were not.
    await refreshReach(h.t.db);
    const reachPage = (await h.app.inject({ method: 'GET', url: `/ops/policies/${policyId}`, headers: { cookie } })).body;
    expect(reachPage).toContain('data-reach="targeted" class="n">2<');
    expect(reachPage).toContain('data-reach="addressable" class="n">2<');
    expect(reachPage).toContain('data-unaddressable="noAddress">0<');
  });

  it('shows a stalled push on the overview, and finds deliveries in the log', async () => {
    const world = await seedWorld(h, [{ email: 'stall@example.com' }]);
    const published = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    while (await fanOutNextChunk(h.t.db, 100)) {}
    await h.t.db.execute(sql`
      update deliveries set next_attempt_at = now() - interval '11 minutes', updated_at = now() - interval '11 minutes'
      where policy_id = ${Number(published.policy.id)}`);
    const { cookie } = await signedIn();
    const overview = await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie } });
    expect(overview.body).toContain('data-health="alert"');
    expect(overview.body).toContain(`data-alert="stalled-push" data-push="${published.push.id}"`);

    const log = await h.app.inject({
      method: 'GET',
      url: `/ops/deliveries?policyId=${published.policy.id}&status=pending&channel=email`,
      headers: { cookie },
    });
    expect(log.statusCode).toBe(200);
    const deliveryId = /data-delivery="(\d+)"/.exec(log.body)![1];
    const one = await h.app.inject({ method: 'GET', url: `/ops/deliveries/${deliveryId}`, headers: { cookie } });
    expect(one.statusCode).toBe(200);
    expect(one.body).toContain('data-timeline');

    for (const [url, code] of [
      ['/ops/deliveries?status=lost', 'invalid_status'],
      ['/ops/deliveries?policyId=abc', 'invalid_policyId'],
      ['/ops/deliveries/0', 'invalid_id'],
      ['/ops/outbox?channel=fax', 'invalid_filter'],
    ]) {
      const res = await h.app.inject({ method: 'GET', url, headers: { cookie } });
      expect(res.statusCode, url).toBe(400);
      expect(res.body).toContain(`data-code="${code}"`);
    }
    expect((await h.app.inject({ method: 'GET', url: '/ops/deliveries/999999999', headers: { cookie } })).statusCode).toBe(404);
  });

  it('ends the sessions of a key rotated since (issue 12)', async () => {
    const made = await call(h, 'POST', '/v1/api-keys', { name: 'rotated at the console', role: 'ops' }, 201);
    const { cookie } = await opsSignIn(h, made.key);
    expect((await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie } })).statusCode).toBe(200);
    const rotated = await call(h, 'POST', `/v1/api-keys/${made.id}/rotate`, undefined, 200);
    const res = await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie } });
    expect([res.statusCode, res.headers.location]).toEqual([303, '/ops/login']);
    // The new secret signs in as before.
    const again = await opsSignIn(h, rotated.key);
    expect((await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie: again.cookie } })).statusCode).toBe(200);
  });

  it('ends the session on the server at sign-out: the old cookie opens nothing after (issue 12)', async () => {
    const { cookie, csrf } = await signedIn();
    const other = await signedIn();
    const logout = await h.app.inject({ method: 'POST', url: '/ops/logout', headers: { ...FORM, cookie }, payload: form({ _csrf: csrf }) });
    expect([logout.statusCode, logout.headers.location]).toEqual([303, '/ops/login']);
    // A copy of the cookie kept by the browser, or stolen, is worth nothing now.
    const res = await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie } });
    expect([res.statusCode, res.headers.location]).toEqual([303, '/ops/login']);
    // Another sign-in of the same key is another session, still open.
    expect((await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie: other.cookie } })).statusCode).toBe(200);
  });

  it('ends the sessions of a key revoked since', async () => {
    const { cookie } = await signedIn();
    expect((await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie } })).statusCode).toBe(200);
    await h.t.db.execute(sql`update api_keys set revoked_at = now()`);
    const res = await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/ops/login');
  });
});

describe('/ops publishing a large audience', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await buildTestApp({ LARGE_AUDIENCE_THRESHOLD: '1' });
  });
  afterAll(() => h.close());

  it('asks for the confirmation box past LARGE_AUDIENCE_THRESHOLD, refuses without it, and publishes with it', async () => {
    const world = await seedWorld(h, [{ email: 'a@example.com' }, { email: 'b@example.com' }]);
    const { cookie, csrf } = await opsSignIn(h, h.auth.authorization.replace('Bearer ', ''));
    const fields = {
      ...(policyBody(world.department.id, world.category.id, { docNumber: `OPS-LARGE-${Date.now()}` }) as Record<
        string,
        string | string[]
      >),
      _csrf: csrf,
    };

    const preview = await h.app.inject({
      method: 'POST',
      url: '/ops/compose/preview',
      headers: { ...FORM, cookie },
      payload: form(fields),
    });
    expect(preview.body).toContain('name="confirmLargeAudience" value="yes" required');

    const before = await tableCounts(h.t);
    const unconfirmed = await h.app.inject({
      method: 'POST',
      url: '/ops/compose/publish',
      headers: { ...FORM, cookie },
      payload: form(fields),
    });
    expect(unconfirmed.statusCode).toBe(422);
    expect(unconfirmed.body).toContain('data-field="confirmLargeAudience"');
    expect(await tableCounts(h.t)).toEqual(before);

    const confirmed = await h.app.inject({
      method: 'POST',
      url: '/ops/compose/publish',
      headers: { ...FORM, cookie },
      payload: form({ ...fields, confirmLargeAudience: 'yes' }),
    });
    expect(confirmed.statusCode).toBe(303);
  });
});
