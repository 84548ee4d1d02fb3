// Daily caps per department and channel, and the large-audience confirmation (README "Limits"):
// a publish, a push again or an amendment that would pass a limit is refused with a 422 naming
// the channel, the cap and the counts, and writes nothing.
import { fanOutNextChunk } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shanghaiDayStart } from '../src/routes/policies/publish-limits';
import { buildTestApp, call, policyBody, seedWorld, tableCounts, type TestApp } from './helpers';

let h: TestApp;
beforeAll(async () => {
  h = await buildTestApp({ DEPARTMENT_DAILY_CAP_SMS: '3', LARGE_AUDIENCE_THRESHOLD: '4' });
});
afterAll(() => h.close());

const fanOutAll = async () => {
  while (await fanOutNextChunk(h.t.db, 1000));
};
const sms = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ phone: `+8613800${String(from + i).padStart(6, '0')}` }));

async function expectRefusedWithoutWrites(method: 'POST' | 'PATCH', url: string, payload: object | undefined, code: string) {
  const before = await tableCounts(h.t);
  const res = await h.app.inject({ method, url, headers: h.auth, payload });
  expect(res.statusCode, res.body).toBe(422);
  expect(res.json().error.code).toBe(code);
  expect(await tableCounts(h.t)).toEqual(before);
  return res.json().error as { code: string; message: string; fields: { path: string; code: string }[] };
}

describe('the Asia/Shanghai day', () => {
  it('starts at 16:00 UTC', () => {
    expect(shanghaiDayStart(new Date('2024-05-01T15:59:59Z')).toISOString()).toBe('2024-04-30T16:00:00.000Z');
    expect(shanghaiDayStart(new Date('2024-05-01T16:00:00Z')).toISOString()).toBe('2024-05-01T16:00:00.000Z');
  });
});

describe('a large audience', () => {
  it('needs confirmLargeAudience: true, and the refusal names the audience size', async () => {
    const world = await seedWorld(
      h,
      Array.from({ length: 5 }, (_, i) => ({ email: `large-${i}@example.com` })),
    );
    const body = policyBody(world.department.id, world.category.id);
    const error = await expectRefusedWithoutWrites('POST', '/v1/policies', body, 'large_audience_unconfirmed');
    expect(error.message).toContain('5 contacts');
    expect(error.fields).toEqual([{ path: 'confirmLargeAudience', code: 'large_audience_unconfirmed' }]);
    await expectRefusedWithoutWrites('POST', '/v1/policies', { ...body, confirmLargeAudience: false }, 'large_audience_unconfirmed');
    await call(h, 'POST', '/v1/policies', { ...body, confirmLargeAudience: true }, 202);
  });

  it('the flag is a boolean and nothing else', async () => {
    const world = await seedWorld(h, [{ email: 'flag@example.com' }]);
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/policies',
      headers: h.auth,
      payload: { ...policyBody(world.department.id, world.category.id), confirmLargeAudience: 'yes' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields).toContainEqual({ path: 'confirmLargeAudience', code: 'type' });
  });
});

describe('the daily cap per department and channel', () => {
  it('counts what the department queued today, fanned out or still waiting', async () => {
    await fanOutAll();
    const world = await seedWorld(h, sms(2, 1));
    const first = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);

    // Not fanned out yet: its push still counts, by its audience.
    let error = await expectRefusedWithoutWrites(
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id),
      'daily_cap_exceeded',
    );
    expect(error.fields).toEqual([{ path: 'audience.sms', code: 'daily_cap_exceeded' }]);
    expect(error.message).toContain('sms: cap 3 a day, 2 already queued today, this would add 2');

    // Fanned out: its deliveries count.
    await fanOutAll();
    error = await expectRefusedWithoutWrites(
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id),
      'daily_cap_exceeded',
    );
    expect(error.message).toContain('2 already queued today, this would add 2');

    // An amendment sends an update notice to each prior recipient: 2 + 2 > 3.
    await expectRefusedWithoutWrites('PATCH', `/v1/policies/${first.policy.id}`, { title: '修订后的标题' }, 'daily_cap_exceeded');
    // Pushing again reaches only contacts without the policy: none here.
    await call(h, 'POST', `/v1/policies/${first.policy.id}/push`, undefined, 202);

    // Another department has its own cap.
    const elsewhere = await seedWorld(h, sms(3, 100));
    await call(h, 'POST', '/v1/policies', policyBody(elsewhere.department.id, elsewhere.category.id), 202);
  });

  it('a push again is refused when its new contacts would pass the cap', async () => {
    await fanOutAll();
    const world = await seedWorld(h, sms(2, 200));
    const published = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    await fanOutAll();
    // Two more contacts at these enterprises: a push again would add 2 to the 2 queued today.
    for (const [i, { enterprise }] of world.enterprises.entries()) {
      await call(h, 'POST', `/v1/enterprises/${enterprise.id}/contacts`, sms(1, 300 + i)[0], 201);
    }
    const error = await expectRefusedWithoutWrites('POST', `/v1/policies/${published.policy.id}/push`, undefined, 'daily_cap_exceeded');
    expect(error.message).toContain('2 already queued today, this would add 2');
  });

  it('channels without a cap are not limited', async () => {
    const world = await seedWorld(h, [{ email: 'a@example.com' }, { email: 'b@example.com' }, { email: 'c@example.com' }]);
    await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
  });
});
