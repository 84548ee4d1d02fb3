import { describe, expect, it } from 'vitest';
import { maskEmail, maskPhone, preferencesPage, type PreferencesView, shanghaiDate } from './preferences-pages';

const view = (over: Partial<PreferencesView> = {}): PreferencesView => ({
  contact: {
    id: 1,
    enterpriseId: 2,
    enterpriseName: '测试企业',
    phone: null,
    email: null,
    wechatOpenid: null,
    optedOut: [],
    suppressed: false,
    consentSource: 'self-service',
    consentAt: new Date('2030-01-01T20:00:00Z'),
    emailConfirmedAt: null,
  },
  subscriptions: [],
  categories: [],
  departments: [],
  inbox: [],
  reachability: { requireConfirmedEmail: false },
  ...over,
});

describe('preferences pages', () => {
  it('mask phone numbers and email addresses', () => {
    expect(maskPhone('+8613800138000')).toBe('138****8000');
    expect(maskPhone('+14155550123')).toBe('+14****0123');
    expect(maskPhone('+861234')).toBe('****');
    expect(maskEmail('li.lei@example.com')).toBe('l***@example.com');
    expect(maskEmail('@example.com')).toBe('***');
  });

  it('say "receiving" only where the fan-out would send: not to an unconfirmed email the deployment will not use', () => {
    const contact = { ...view().contact, email: 'li.lei@example.com', phone: '+8613800138000' };
    const strict = preferencesPage(view({ contact, reachability: { requireConfirmedEmail: true } }));
    expect(strict).toContain('email</span>：地址确认前不会发送');
    expect(strict).toContain('SMS</span>：接收中');
    expect(preferencesPage(view({ contact }))).toContain('email</span>：接收中');
    expect(preferencesPage(view({ contact: { ...contact, suppressed: true } }))).not.toContain('：接收中');
  });

  it('show dates in Asia/Shanghai', () => {
    expect(shanghaiDate(new Date('2030-01-01T20:00:00Z'))).toBe('2030-01-02');
    expect(preferencesPage(view())).toContain('由您本人提交，2030-01-02');
  });

  it('link only web URLs from the inbox, and escape every value', () => {
    const item = {
      policyId: 1,
      departmentNameZh: '局"',
      departmentNameEn: 'Bureau',
      lastAt: new Date(),
      outcome: 'sent' as const,
      policyStatus: 'published',
      read: false,
    };
    const page = preferencesPage(
      view({
        inbox: [
          { ...item, title: '<b>一</b>', url: 'javascript:alert(1)' },
          { ...item, title: '二', url: 'https://policy.example.gov.cn/a?b=1&c="2"' },
        ],
      }),
    );
    expect(page).not.toContain('javascript:');
    expect(page).toContain('<p>&lt;b&gt;一&lt;/b&gt;</p>');
    // A web URL is opened through the inbox (a form that marks it read, then redirects).
    expect(page).toContain('<input type="hidden" name="policyId" value="1"><button type="submit">二</button></form>');
    expect(page).toContain('未读');
    expect(page).toContain('局&quot;');
  });

  it('offer to take back each opted-out channel, and no "unsubscribe from everything" once done', () => {
    const page = preferencesPage(view({ contact: { ...view().contact, optedOut: ['wechat', 'sms', 'email'] } }));
    expect(page.match(/name="action" value="resubscribe-channel"/g)).toHaveLength(3);
    expect(page).not.toContain('value="unsubscribe-all"');
    expect(page).toContain('您已退订全部渠道');
  });
});
