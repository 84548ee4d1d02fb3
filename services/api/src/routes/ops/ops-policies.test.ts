// The console's policies (issue 14) through inject(), as admin, ops and publisher: the list with
// its search, filters, pages and refusals; the policy page (reach read with the catch-up, names
// not codes, failures in plain words, gaps, versions); the live JSON; and the actions, each
// audited as the API audits it, refusals shown beside the fields with nothing written.
import { fanOutNextChunk, refreshReach, rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, keyHeaders, opsSignIn, policyBody, seedWorld, tableCounts, type TestApp } from '../../../test/helpers';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (fields: Record<string, string | string[]>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) p.append(k, one);
  return p.toString();
};

describe('/ops/policies', () => {
  let h: TestApp;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  let other: Awaited<ReturnType<typeof seedWorld>>;
  let mine: { id: string; docNumber: string };
  let theirs: { id: string; docNumber: string };
  let admin: Awaited<ReturnType<typeof opsSignIn>>;
  let ops: Awaited<ReturnType<typeof opsSignIn>>;
  let publisher: Awaited<ReturnType<typeof opsSignIn>>;

  beforeAll(async () => {
    h = await buildTestApp();
    world = await seedWorld(h, [{ phone: '+8613812345678', channels: ['sms'] }, { email: 'a@example.com' }]);
    other = await seedWorld(h, [{ phone: '+8613912345678' }]);
    mine = (
      await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id, { title: '稳岗补贴申领指南 mine' }), 202)
    ).policy;
    theirs = (
      await call(h, 'POST', '/v1/policies', policyBody(other.department.id, other.category.id, { title: '另一个部门的政策 theirs' }), 202)
    ).policy;
    while (await fanOutNextChunk(h.t.db, 1000));
    // One SMS failed with a carrier code: the page says what it means.
    await h.t.db.execute(
      sql`update deliveries set status = 'failed', error_code = '30005' where policy_id = ${Number(mine.id)} and channel = 'sms'`,
    );
    // And the email was accepted: reached, and on the reach-over-time chart.
    await h.t.db.execute(
      sql`update deliveries set status = 'sent', sent_at = now() where policy_id = ${Number(mine.id)} and channel = 'email'`,
    );
    const key = (headers: { authorization: string }) => headers.authorization.replace('Bearer ', '');
    admin = await opsSignIn(h, key(h.auth));
    ops = await opsSignIn(h, key(await keyHeaders(h, { role: 'ops' })));
    publisher = await opsSignIn(h, key(await keyHeaders(h, { role: 'publisher', departmentIds: [Number(world.department.id)] })));
  });
  afterAll(() => h.close());

  const get = (who: { cookie: string }, url: string) => h.app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });
  const post = (who: { cookie: string; csrf: string }, url: string, fields: Record<string, string | string[]>) =>
    h.app.inject({ method: 'POST', url, headers: { ...FORM, cookie: who.cookie }, payload: form({ _csrf: who.csrf, ...fields }) });
  // The page recounts reach before it answers (derived counters, not a write of the form's): settled first.
  const counts = async () => {
    while ((await refreshReach(h.t.db)).more);
    return tableCounts(h.t);
  };
  const audits = async (policyId: string) =>
    rowsOf<{ action: string; api_key_id: string }>(
      await h.t.db.execute(
        sql`select action, api_key_id::text from audit_log where subject_type = 'policy' and subject_id = ${policyId} order by id`,
      ),
    ).map((r) => r.action);

  it('lists every policy for admin and ops, with its department, status and reach from the counters', async () => {
    for (const who of [admin, ops]) {
      const res = await get(who, '/ops/policies');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(`data-policy-link="${mine.id}"`);
      expect(res.body).toContain(`data-policy-link="${theirs.id}"`);
      expect(res.body).toContain('测试局');
      expect(res.body).toContain('data-status="published"');
    }
    // Reach comes from reach_rollup: after a recount the targeted column counts both enterprises.
    await get(admin, `/ops/policies/${mine.id}`); // the page's catch-up recounts
    const after = await get(admin, `/ops/policies?q=${encodeURIComponent(mine.docNumber)}`);
    expect(after.body).toMatch(/data-col="targeted">2</);
    expect(after.body).toMatch(/data-col="reached">50\.0%</);
    expect(after.body).toMatch(/data-col="awareness">0\.0%</);
  });

  it('shows a publisher only its departments’ policies, and its nav has no operators’ pages', async () => {
    const res = await get(publisher, '/ops/policies');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`data-policy-link="${mine.id}"`);
    expect(res.body).not.toContain(`data-policy-link="${theirs.id}"`);
    expect(res.body).toContain('href="/ops/policies"');
    expect(res.body).not.toContain('href="/ops/deliveries"');
    // Another department's filter answers an empty list, as the API's does.
    const foreign = await get(publisher, `/ops/policies?departmentId=${other.department.id}`);
    expect(foreign.statusCode).toBe(200);
    expect(foreign.body).not.toContain('data-policy-link=');
    // And its page is as missing.
    expect((await get(publisher, `/ops/policies/${theirs.id}`)).statusCode).toBe(404);
  });

  it('searches by title or document number and filters by department, status and date', async () => {
    const byTitle = await get(admin, `/ops/policies?q=${encodeURIComponent('稳岗补贴')}`);
    expect(byTitle.body).toContain(`data-policy-link="${mine.id}"`);
    expect(byTitle.body).not.toContain(`data-policy-link="${theirs.id}"`);
    const byDoc = await get(admin, `/ops/policies?q=${encodeURIComponent(theirs.docNumber.toLowerCase())}`);
    expect(byDoc.body).toContain(`data-policy-link="${theirs.id}"`);
    expect(byDoc.body).not.toContain(`data-policy-link="${mine.id}"`);
    const byDept = await get(admin, `/ops/policies?departmentId=${other.department.id}`);
    expect(byDept.body).toContain(`data-policy-link="${theirs.id}"`);
    expect(byDept.body).not.toContain(`data-policy-link="${mine.id}"`);
    expect((await get(admin, '/ops/policies?status=scheduled')).body).not.toContain(`data-policy-link="${mine.id}"`);
    expect((await get(admin, '/ops/policies?from=2000-01-01&to=2000-01-02')).body).not.toContain('data-policy-link=');
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    expect((await get(admin, `/ops/policies?from=${today}&to=${today}`)).body).toContain(`data-policy-link="${mine.id}"`);
    // A literal % is matched as itself, not as a wildcard.
    expect((await get(admin, '/ops/policies?q=%25')).body).not.toContain('data-policy-link=');
  });

  it('pages through the list with a cursor that keeps the filters', async () => {
    // 51 more rows of the same department, written directly: 51 publishes would take half a minute.
    await h.t.db.execute(sql`insert into policies (department_id, doc_number, title, summary, url)
      select ${Number(world.department.id)}, 'PAGE-' || i, '分页 ' || i, '分页测试', 'https://policy.example.gov.cn/p' from generate_series(1, 51) i`);
    const first = await get(admin, `/ops/policies?departmentId=${world.department.id}`);
    expect(first.body.match(/data-policy-link=/g)).toHaveLength(50);
    const next = /rel="next" href="\/ops\/policies\?([^"]+)"/.exec(first.body)![1].replace(/&amp;/g, '&');
    expect(next).toContain(`departmentId=${world.department.id}`);
    const second = await get(admin, `/ops/policies?${next}`);
    expect(second.body.match(/data-policy-link=/g)).toHaveLength(2);
    expect(second.body).toContain(`data-policy-link="${mine.id}"`);
    expect(second.body).not.toContain('rel="next"');
  });

  it('refuses unknown and bad query parameters with a 400 naming them, keeping what was typed', async () => {
    const unknown = await get(admin, '/ops/policies?q=abc&colour=red&page=2');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.body).toContain('data-path="colour"');
    expect(unknown.body).toContain('data-path="page"');
    expect(unknown.body).toContain('value="abc"');
    for (const [query, path] of [
      ['status=gone', 'status'],
      ['departmentId=x', 'departmentId'],
      ['from=2025-13-45', 'from'],
      ['from=2025-02-02&to=2025-01-01', 'to'],
      ['cursor=-1', 'cursor'],
    ]) {
      const res = await get(admin, `/ops/policies?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.body, query).toContain(`data-path="${path}"`);
    }
  });

  it('shows a policy’s reach with names, failures in plain words, gaps and versions; ops sees no actions', async () => {
    const res = await get(ops, `/ops/policies/${mine.id}`);
    expect(res.statusCode).toBe(200);
    // Read with the catch-up: the numbers are there without a background job.
    expect(res.body).toContain('data-reach="targeted" class="n">2<');
    expect(res.body).toContain('data-up-to-date="true"');
    expect(res.body).toContain('天河区'); // district 440106 by name
    expect(res.body).toContain('制造业'); // industry section C by name
    expect(res.body).toContain('data-error-code="30005"');
    expect(res.body).toContain('号码不存在');
    expect(res.body).toContain('data-gap-reason="failed"');
    expect(res.body).toContain('data-version="1"');
    // Reach over time, from the hourly rollup: the line ends at the funnel's reached count.
    expect(res.body).toMatch(/data-reach-chart data-points="[1-9]/);
    expect(res.body).toMatch(/data-series="reached"[^>]* points="[\d.]+,[\d.]+/);
    expect(res.body).toContain('src="/ops/assets/policy-live.js"');
    expect(res.body).not.toContain('data-actions');
    expect(res.body).toContain('data-link="deliveries"');
    // Ops may not act: the action paths answer 403, and nothing is written.
    const refused = await post(ops, `/ops/policies/${mine.id}/push`, {});
    expect(refused.statusCode).toBe(403);
    // A publisher sees the actions and no link to the delivery log it may not open.
    const asPublisher = await get(publisher, `/ops/policies/${mine.id}`);
    expect(asPublisher.body).toContain('data-actions');
    expect(asPublisher.body).not.toContain('/ops/deliveries');
  });

  it('shows what the follow-up reminders did once one went out', async () => {
    const before = await get(admin, `/ops/policies/${mine.id}`);
    expect(before.body).not.toContain('data-follow-ups');
    await h.t.db.execute(sql`
      insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, reminder_step, sent_at)
      select policy_id, policy_version, enterprise_id, contact_id, channel, 'reminder', 'sent', 1, now()
      from deliveries where policy_id = ${Number(mine.id)} and channel = 'email' and kind = 'policy'`);
    const res = await get(admin, `/ops/policies/${mine.id}`);
    expect(res.body).toContain('data-follow-up="remindersSent">1<');
    expect(res.body).toContain('data-follow-up="reminded">1<');
    expect(res.body).toContain('data-follow-up="engagedAfterReminder">0<');
  });

  it('serves the live numbers as JSON and the script from this origin, under the CSP', async () => {
    const live = await get(publisher, `/ops/policies/${mine.id}/live`);
    expect(live.statusCode).toBe(200);
    const n = live.json();
    expect(n.reach.targeted).toBe('2');
    expect(n.fields.matched).toBe('2');
    expect(typeof n.done).toBe('boolean');
    expect(n.chart.points).toBeGreaterThan(0);
    expect(n.chart.reached).toMatch(/^[\d.]+,[\d.]+/);
    expect((await get(publisher, `/ops/policies/${theirs.id}/live`)).statusCode).toBe(404);
    const script = await get(publisher, '/ops/assets/policy-live.js');
    expect(script.headers['content-type']).toContain('text/javascript');
    expect(script.body).toContain('data-live');
    const csp = String((await get(publisher, `/ops/policies/${mine.id}`)).headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline';script"); // scripts never inline
  });

  it('amends as the API does: a new version, audited; bad input shows beside the field and writes nothing', async () => {
    const before = await counts();
    const bad = await post(publisher, `/ops/policies/${mine.id}/amend`, {
      title: '',
      summary: '减免租金、延期缴纳社保、加大金融支持，帮助中小企业渡过难关。',
      url: 'not a url',
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('data-error-for="title"');
    expect(bad.body).toContain('data-error-for="url"');
    expect(bad.body).toContain('value="not a url"');
    expect(await tableCounts(h.t)).toEqual(before);
    const nothing = await post(publisher, `/ops/policies/${mine.id}/amend`, {});
    expect(nothing.statusCode).toBe(422);
    expect(await tableCounts(h.t)).toEqual(before);

    const res = await post(publisher, `/ops/policies/${mine.id}/amend`, {
      title: '稳岗补贴申领指南（修订）',
      interpretationUrls: ['https://policy.example.gov.cn/jd/1', 'https://policy.example.gov.cn/jd/2', ''],
    });
    expect([res.statusCode, res.headers.location], res.body.slice(-3000)).toEqual([303, `/ops/policies/${mine.id}?done=amend`]);
    const policy = await call(h, 'GET', `/v1/policies/${mine.id}`, undefined, 200);
    expect(policy).toMatchObject({ version: 2, title: '稳岗补贴申领指南（修订）' });
    expect(policy.interpretationUrls).toHaveLength(2);
    expect(await audits(mine.id)).toContain('policy.amend');
    const page = await get(publisher, res.headers.location as string);
    expect(page.body).toContain('data-notice');
    expect(page.body).toContain('data-version="2"');
  });

  it('pushes again, audited', async () => {
    const res = await post(admin, `/ops/policies/${mine.id}/push`, {});
    expect(res.statusCode).toBe(303);
    expect((await audits(mine.id)).filter((a) => a === 'policy.push')).toHaveLength(1);
  });

  it('revokes only after a confirmation, with the notice option, audited', async () => {
    const before = await counts();
    const empty = await post(publisher, `/ops/policies/${mine.id}/revoke`, { reason: '' });
    expect(empty.statusCode).toBe(422);
    expect(empty.body).toContain('data-error-for="reason"');
    const ask = await post(publisher, `/ops/policies/${mine.id}/revoke`, { reason: '政策已废止', notifyRecipients: 'yes' });
    expect(ask.statusCode).toBe(200);
    expect(ask.body).toContain('data-confirm="revoke"');
    expect(ask.body).toContain('value="政策已废止"');
    expect(ask.body).toContain('name="notifyRecipients" value="yes"');
    expect(await tableCounts(h.t)).toEqual(before);
    const done = await post(publisher, `/ops/policies/${mine.id}/revoke`, {
      reason: '政策已废止',
      notifyRecipients: 'yes',
      confirm: 'yes',
    });
    expect(done.statusCode).toBe(303);
    expect((await call(h, 'GET', `/v1/policies/${mine.id}`, undefined, 200)).status).toBe('revoked');
    const [row] = rowsOf<{ details: { notifyRecipients: boolean } }>(
      await h.t.db.execute(
        sql`select details from audit_log where action = 'policy.revoke' and subject_id = ${mine.id} order by id desc limit 1`,
      ),
    );
    expect(row.details.notifyRecipients).toBe(true);
    // A revoked policy cannot be revoked again: the API's 409, shown on the page.
    const again = await post(publisher, `/ops/policies/${mine.id}/revoke`, { reason: 'x', confirm: 'yes' });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain('policy_not_revocable');
  });

  it('reschedules and cancels a scheduled policy; another department’s is not found', async () => {
    const publishAt = new Date(Date.now() + 3 * 86_400_000);
    const { policy } = await call(
      h,
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id, { publishAt: publishAt.toISOString() }),
      202,
    );
    const page = await get(publisher, `/ops/policies/${policy.id}`);
    expect(page.body).toContain('id="amend-publishAt"');
    expect(page.body).toContain('data-action="cancel"');
    const past = await post(publisher, `/ops/policies/${policy.id}/amend`, { publishAt: '2020-01-01T09:00' });
    expect(past.statusCode).toBe(422);
    expect(past.body).toContain('data-code="publish_at_in_past"');
    expect(past.body).toContain('value="2020-01-01T09:00"');
    const later = new Date(publishAt.getTime() + 86_400_000 + 8 * 3_600_000).toISOString().slice(0, 16);
    expect((await post(publisher, `/ops/policies/${policy.id}/amend`, { publishAt: later })).statusCode).toBe(303);
    const moved = await call(h, 'GET', `/v1/policies/${policy.id}`, undefined, 200);
    expect(new Date(moved.publishAt).getTime()).toBe(new Date(`${later}:00+08:00`).getTime());

    const ask = await post(publisher, `/ops/policies/${policy.id}/cancel`, {});
    expect(ask.body).toContain('data-confirm="cancel"');
    expect((await call(h, 'GET', `/v1/policies/${policy.id}`, undefined, 200)).status).toBe('scheduled');
    expect((await post(publisher, `/ops/policies/${policy.id}/cancel`, { confirm: 'yes' })).statusCode).toBe(303);
    expect((await call(h, 'GET', `/v1/policies/${policy.id}`, undefined, 200)).status).toBe('cancelled');
    expect(await audits(policy.id)).toEqual(['policy.publish', 'policy.amend', 'policy.cancel']);

    const before = await counts();
    expect((await post(publisher, `/ops/policies/${theirs.id}/push`, {})).statusCode).toBe(404);
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('refuses an action without the CSRF token', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: `/ops/policies/${theirs.id}/push`,
      headers: { ...FORM, cookie: admin.cookie },
      payload: form({}),
    });
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('data-code="csrf"');
  });
});
