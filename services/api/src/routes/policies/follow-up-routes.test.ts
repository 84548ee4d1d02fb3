// actionBy and follow-up plans on publish and amend (issue 15): bad input is refused field by
// field and writes nothing; amending re-plans the steps not yet taken; revoking cancels them.
import { rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, policyBody, seedWorld, tableCounts, type TestApp } from '../../../test/helpers';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('follow-up plans', () => {
  let h: TestApp;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  beforeAll(async () => {
    h = await buildTestApp();
    world = await seedWorld(h, [{ phone: '13800138000' }]);
  });
  afterAll(() => h.close());

  const body = (extra: Record<string, unknown> = {}) => policyBody(world.department.id, world.category.id, extra);
  const post = (payload: unknown) => h.app.inject({ method: 'POST', url: '/v1/policies', headers: h.auth, payload: payload as object });
  const patch = (id: string, payload: unknown) =>
    h.app.inject({ method: 'PATCH', url: `/v1/policies/${id}`, headers: h.auth, payload: payload as object });
  const at = (ms: number) => new Date(Date.now() + ms).toISOString();
  const steps = async (policyId: string) =>
    rowsOf<{ step: number; anchor: string; offset_hours: number; due_at: Date | string; status: string }>(
      await h.t.db.execute(
        sql`select step, anchor, offset_hours, due_at, status from reminder_steps where policy_id = ${Number(policyId)} order by step`,
      ),
    ).map((r) => ({ ...r, due_at: new Date(r.due_at).toISOString() }));

  it('refuses a bad actionBy or plan naming the field, and writes nothing', async () => {
    const before = await tableCounts(h.t);
    const cases: [Record<string, unknown>, number, string, string][] = [
      [body({ actionBy: at(-HOUR) }), 422, 'action_by_in_past', 'actionBy'],
      [body({ actionBy: at(10 * DAY), validUntil: at(5 * DAY) }), 422, 'action_by_after_valid_until', 'actionBy'],
      [body({ publishAt: at(2 * DAY), actionBy: at(DAY) }), 422, 'action_by_before_publish', 'actionBy'],
      [
        body({
          actionBy: at(20 * DAY),
          followUp: { steps: [{ afterPublish: 'P1D' }, { afterPublish: 'P2D' }, { afterPublish: 'P3D' }, { afterPublish: 'P4D' }] },
        }),
        422,
        'too_many_steps',
        'followUp.steps',
      ],
      [body({ followUp: { steps: [{ afterPublish: 'P0D' }] } }), 422, 'delay_not_positive', 'followUp.steps.0.afterPublish'],
      [body({ followUp: { steps: [{ afterPublish: '-P3D' }] } }), 422, 'invalid_duration', 'followUp.steps.0.afterPublish'],
      [body({ followUp: { steps: [{ afterPublish: 'PT0H' }] } }), 422, 'delay_not_positive', 'followUp.steps.0.afterPublish'],
      [body({ followUp: { steps: [{ beforeActionBy: 'P2D' }] } }), 422, 'action_by_missing', 'followUp.steps.0.beforeActionBy'],
      [
        body({ actionBy: at(DAY), followUp: { steps: [{ beforeActionBy: 'P2D' }] } }),
        422,
        'step_before_publish',
        'followUp.steps.0.beforeActionBy',
      ],
      [
        body({ actionBy: at(2 * DAY), followUp: { steps: [{ afterPublish: 'P3D' }] } }),
        422,
        'step_after_action_by',
        'followUp.steps.0.afterPublish',
      ],
      [body({ followUp: { steps: [{ afterPublish: 'P3D', extra: 1 }] } }), 400, 'invalid_request', 'followUp'],
    ];
    for (const [payload, status, code, path] of cases) {
      const res = await post(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      const error = res.json().error;
      const paths = error.fields.map((f: { path: string }) => f.path);
      expect(
        paths.some((p: string) => p.startsWith(path)),
        res.body,
      ).toBe(true);
      if (status === 422) expect(error.fields.find((f: { path: string }) => f.path === path).code).toBe(code);
    }
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('plans the steps at publish, re-plans them when actionBy is amended, and revoking cancels them', async () => {
    const actionBy = at(10 * DAY);
    const res = await post(body({ actionBy, followUp: { steps: [{ afterPublish: 'P3D' }, { beforeActionBy: 'P1DT12H' }] } }));
    expect(res.statusCode).toBe(202);
    const { policy } = res.json();
    expect(policy.actionBy).toBe(actionBy);
    const planned = await steps(policy.id);
    expect(planned.map((s) => [s.step, s.anchor, s.offset_hours, s.status])).toEqual([
      [1, 'publish', 72, 'planned'],
      [2, 'action_by', 36, 'planned'],
    ]);
    expect(planned[1].due_at).toBe(new Date(Date.parse(actionBy) - 36 * HOUR).toISOString());

    // Moving actionBy moves the steps anchored on it, in place: no new version, no update notice.
    const later = at(12 * DAY);
    const amended = await patch(policy.id, { actionBy: later });
    expect(amended.statusCode, amended.body).toBe(200);
    expect(amended.json()).toMatchObject({ actionBy: later, version: 1 });
    const moved = await steps(policy.id);
    expect(moved[0].due_at).toBe(planned[0].due_at);
    expect(moved[1].due_at).toBe(new Date(Date.parse(later) - 36 * HOUR).toISOString());

    // Bad amendments are refused and change nothing.
    const before = await tableCounts(h.t);
    for (const [payload, path, code] of [
      [{ actionBy: at(-HOUR) }, 'actionBy', 'action_by_in_past'],
      [{ actionBy: null }, 'actionBy', 'action_by_missing'],
      [
        { followUp: { steps: [{ afterPublish: 'P1D' }, { afterPublish: 'P2D' }, { afterPublish: 'P3D' }, { afterPublish: 'P4D' }] } },
        'followUp.steps',
        'too_many_steps',
      ],
      [{ validUntil: at(11 * DAY) }, 'actionBy', 'action_by_after_valid_until'],
    ] as const) {
      const refused = await patch(policy.id, payload);
      expect(refused.statusCode, JSON.stringify(payload)).toBe(422);
      expect(refused.json().error.fields.find((f: { path: string }) => f.path === path)?.code, refused.body).toBe(code);
    }
    expect(await tableCounts(h.t)).toEqual(before);
    expect(await steps(policy.id)).toEqual(moved);

    // A new plan replaces the steps not yet taken, numbered after those taken.
    await h.t.db.execute(sql`update reminder_steps set status = 'done' where policy_id = ${Number(policy.id)} and step = 1`);
    const replanned = await patch(policy.id, { followUp: { steps: [{ beforeActionBy: 'P2D' }] } });
    expect(replanned.statusCode, replanned.body).toBe(200);
    expect((await steps(policy.id)).map((s) => [s.step, s.anchor, s.status])).toEqual([
      [1, 'publish', 'done'],
      [2, 'action_by', 'planned'],
    ]);
    const report = await call(h, 'GET', `/v1/policies/${policy.id}/reminders`, undefined, 200);
    expect(report.steps.map((s: { step: number; beforeActionBy?: string }) => [s.step, s.beforeActionBy])).toEqual([
      [1, undefined],
      [2, 'P2D'],
    ]);

    await call(h, 'POST', `/v1/policies/${policy.id}/revoke`, { reason: '撤回' }, 200);
    expect((await steps(policy.id)).map((s) => s.status)).toEqual(['done', 'cancelled']);
  });
});
