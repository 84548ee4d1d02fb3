import { describe, expect, it } from 'vitest';
import { durationHours, planFollowUp } from './follow-up';
import { type MessagePolicy, renderEmail, renderSms, renderWechat } from './messages';
import { reminderSummaries } from './policy-changes';
import { smsSegments } from './sms-segments';

const HOUR = 3_600_000;
const now = new Date('2030-03-01T02:00:00Z');

describe('follow-up plans', () => {
  it('reads ISO 8601 durations in whole days and hours, and nothing else', () => {
    expect(durationHours('P3D')).toBe(72);
    expect(durationHours('PT36H')).toBe(36);
    expect(durationHours('P1DT12H')).toBe(36);
    expect(durationHours('P0D')).toBe(0);
    for (const bad of ['-P3D', 'P', 'PT', '3', 'P1W', 'PT30M', 'P1.5D', '']) expect(durationHours(bad), bad).toBeNull();
  });

  it('plans steps from publication and back from actionBy', () => {
    const actionBy = new Date(now.getTime() + 10 * 24 * HOUR);
    const { steps, problems } = planFollowUp({
      plan: { steps: [{ afterPublish: 'P3D' }, { beforeActionBy: 'P2D' }] },
      actionBy,
      publishAt: now,
      validUntil: null,
      now,
      maxSteps: 3,
    });
    expect(problems).toEqual([]);
    expect(steps.map((s) => [s.anchor, s.offsetHours, s.dueAt.toISOString()])).toEqual([
      ['publish', 72, new Date(now.getTime() + 72 * HOUR).toISOString()],
      ['action_by', 48, new Date(actionBy.getTime() - 48 * HOUR).toISOString()],
    ]);
  });

  it('counts the steps already taken against the cap', () => {
    const plan = { steps: [{ afterPublish: 'P1D' }, { afterPublish: 'P2D' }] };
    const base = { plan, actionBy: null, publishAt: now, validUntil: null, now, maxSteps: 3 };
    expect(planFollowUp({ ...base, alreadyDone: 1 }).problems).toEqual([]);
    expect(planFollowUp({ ...base, alreadyDone: 2 }).problems).toEqual([{ path: 'followUp.steps', code: 'too_many_steps' }]);
  });
});

describe('reminder text', () => {
  const actionBy = new Date('2030-03-10T10:00:00Z'); // 18:00 in Shanghai
  const policy = (locale: MessagePolicy['locale'], title = '关于开展2030年度研发费用加计扣除申报工作的通知'): MessagePolicy => ({
    title,
    ...reminderSummaries(
      { summary: '符合条件的企业请按要求提交材料。'.repeat(8), summaryEn: 'Eligible enterprises should file.' },
      actionBy,
    ),
    titleEn: 'R&D super deduction filing',
    url: 'https://policy.example.gov.cn/rd',
    docNumber: '穗科〔2030〕1号',
    departmentNameZh: '广州市科学技术局',
    smsSignature: '广州科技',
    publishedAt: now,
    urgent: false,
    kind: 'reminder',
    locale,
  });
  const sms = {
    link: 'https://pp.example.gov.cn/r/abcdefghijklmnop',
    unsubscribeUrl: 'https://pp.example.gov.cn/u/abcdefghijkl',
    segmentBudget: 3,
  };

  it('says what the policy asks and by when, in Beijing time, in every locale, within the SMS budget', () => {
    const zh = renderSms(policy('zh-Hans'), sms);
    expect(zh.text).toContain(
      '【广州科技】提醒：关于开展2030年度研发费用加计扣除申报工作的通知：请于2030年3月10日 18:00（北京时间）前办理。',
    );
    expect(zh.segments).toBeLessThanOrEqual(3);
    expect(smsSegments(zh.text).segments).toBe(zh.segments);
    expect(renderSms(policy('zh-Hant'), sms).text).toContain('請於2030年3月10日 18:00（北京時間）前辦理');
    expect(renderSms(policy('en'), sms).text).toContain(
      'Reminder: R&D super deduction filing: Please act by 10 March 2030, 18:00 Beijing time.',
    );
    const email = renderEmail(policy('zh-Hans'), { link: sms.link, unsubscribeUrl: sms.unsubscribeUrl });
    expect(email.subject).toBe('[广州市科学技术局] 提醒：关于开展2030年度研发费用加计扣除申报工作的通知');
    expect(email.text).toContain('请于2030年3月10日 18:00（北京时间）前办理。');
    const wechat = renderWechat(policy('zh-Hans'), [
      { key: 'thing1', type: 'thing' },
      { key: 'phrase2', type: 'phrase' },
    ]);
    expect(wechat.fields.phrase2.value).toBe('政策提醒');
    expect(wechat.fields.thing1.value.startsWith('提醒：')).toBe(true);
  });
});
