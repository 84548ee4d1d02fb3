import { smsSegments } from '@policy-push/core';
import { describe, expect, it } from 'vitest';
import type { OutboundMessage } from './channel';
import { deliveryContext } from './delivery-context.fixture';
import { type DeliveryContext, renderOutbound } from './render';
import { validateMessage } from './sandbox/validate-message';

type Of<C extends OutboundMessage['channel']> = Extract<OutboundMessage, { channel: C }>;
const sms = (ctx: DeliveryContext) => renderOutbound(ctx) as Of<'sms'>;
const email = (ctx: DeliveryContext) => renderOutbound(ctx) as Of<'email'>;
const wechat = (ctx: DeliveryContext) => renderOutbound(ctx) as Of<'wechat'>;

const base = deliveryContext('sms', '+12025550150');
const LONG = {
  ...base.policy,
  title: '关于进一步加快推进全市制造业中小企业数字化转型和智能化改造若干政策措施的通知（征求意见稿）',
  summary: '为贯彻落实国家和省关于推动制造业高质量发展的决策部署，'.repeat(12),
  titleEn:
    'Notice on several policy measures to further accelerate the digital transformation and intelligent upgrading of small and medium-sized manufacturers across the city',
  summaryEn: 'To implement the national and provincial decisions on high-quality development of manufacturing, '.repeat(10),
};
const LOCALES = ['zh-CN', 'en'] as const;

describe('renderOutbound', () => {
  it('keeps the delivery id, channel and recipient', () => {
    for (const [channel, to] of [
      ['sms', '+12025550150'],
      ['email', 'a@example.com'],
      ['wechat', 'oAbC'],
    ] as const) {
      const ctx = deliveryContext(channel, to);
      expect(renderOutbound(ctx)).toMatchObject({ deliveryId: ctx.deliveryId, channel, to });
    }
  });

  describe.each(LOCALES)('sms, %s', (locale) => {
    it.each([1, 2, 3])('stays within a budget of %i segment(s) and counts them', (budget) => {
      const ctx = deliveryContext('sms', '+12025550150', { locale, policy: LONG, smsSegmentBudget: budget });
      const { content } = sms(ctx);
      expect(content.segments).toBeLessThanOrEqual(budget);
      expect(content.segments).toBe(smsSegments(content.text).segments);
      expect(content.text.startsWith('【广州发改】')).toBe(true);
      expect(content.text).toContain(ctx.links.policy);
      expect(validateMessage('sms', sms(ctx))).toBeNull();
    });
  });

  it('sms: the text follows the locale', () => {
    const zh = sms(deliveryContext('sms', '+12025550150')).content.text;
    const en = sms(deliveryContext('sms', '+12025550150', { locale: 'en', smsSegmentBudget: 3 })).content.text;
    expect(zh).toContain('关于支持中小企业数字化转型的若干措施');
    expect(en).toContain('Measures to support the digital transformation of SMEs');
    expect(en.startsWith('【广州发改】')).toBe(true);
  });

  describe.each(LOCALES)('wechat, %s', (locale) => {
    it('uses the default fields and the sandbox template without a department template', () => {
      const msg = wechat(deliveryContext('wechat', 'oAbC', { locale, policy: LONG }));
      expect(msg.content.templateId).toBe('sandbox-default');
      expect(Object.keys(msg.content.data)).toEqual(['thing1', 'thing2', 'time3', 'character_string4']);
      expect(msg.content.url).toBe(base.links.policy);
      expect([...msg.content.data.thing1.value].length).toBeLessThanOrEqual(20);
      expect(msg.content.data.time3.value).toBe('2024年5月6日 09:30');
      expect(validateMessage('wechat', msg)).toBeNull();
    });

    it("uses the department's template, every value within its limit", () => {
      const wechatTemplate = {
        templateId: 'tmpl-GZFGW-001',
        fields: [
          { key: 'thing2', type: 'thing' },
          { key: 'phrase1', type: 'phrase' },
          { key: 'thing5', type: 'thing' },
          { key: 'thing7', type: 'thing' },
          { key: 'date3', type: 'date' },
          { key: 'character_string4', type: 'character_string' },
          { key: 'keyword6', type: 'some-future-type' },
        ],
      };
      const ctx = deliveryContext('wechat', 'oAbC', {
        locale,
        kind: 'update',
        policy: LONG,
        department: { ...base.department, wechatTemplate },
      });
      const msg = wechat(ctx);
      expect(msg.content.templateId).toBe('tmpl-GZFGW-001');
      expect(Object.keys(msg.content.data)).toEqual(wechatTemplate.fields.map((f) => f.key));
      expect(msg.content.data.phrase1.value).toBe('政策更新');
      expect(msg.content.data.date3.value).toBe('2024年5月6日');
      for (const [key, limit] of [
        ['thing2', 20],
        ['thing5', 20],
        ['thing7', 20],
        ['character_string4', 32],
        ['keyword6', 20],
      ] as const) {
        expect([...msg.content.data[key].value].length).toBeLessThanOrEqual(limit);
      }
      expect(validateMessage('wechat', msg)).toBeNull();
    });
  });

  it('wechat: english text and department name for en, chinese otherwise', () => {
    const zh = wechat(deliveryContext('wechat', 'oAbC')).content.data;
    const en = wechat(deliveryContext('wechat', 'oAbC', { locale: 'en-GB' })).content.data;
    expect(zh.thing1.value).toBe('关于支持中小企业数字化转型的若干措施');
    expect(zh.thing2.value).toBe('广州市发展和改革委员会');
    expect(en.thing1.value).toBe('Measures to support…');
    expect(en.thing2.value.startsWith('Guangzhou')).toBe(true);
  });

  describe.each(LOCALES)('email, %s', (locale) => {
    it('has subject, text and html parts with the policy and unsubscribe links', () => {
      const ctx = deliveryContext('email', 'someone@example.com', { locale });
      const { content } = email(ctx);
      expect(content.unsubscribeUrl).toBe(ctx.links.unsubscribe);
      expect(content.subject).not.toMatch(/[\r\n]/);
      expect(content.text).toContain(ctx.links.policy);
      expect(content.text).toContain(ctx.links.unsubscribe);
      expect(content.html).toContain(`href="${ctx.links.policy}"`);
      expect(content.html).toContain(`href="${ctx.links.unsubscribe}"`);
      expect(validateMessage('email', email(ctx))).toBeNull();
    });

    it('escapes the policy text in the html part', () => {
      const policy = {
        ...base.policy,
        title: '<script>alert(1)</script>通知',
        summary: '补助 & "奖励" <b>',
        titleEn: '<img src=x onerror=alert(1)>',
        summaryEn: 'Grants & "awards" <b>',
      };
      const { content } = email(deliveryContext('email', 'someone@example.com', { locale, policy }));
      expect(content.html).not.toMatch(/<script|<img|<b>/);
      expect(content.html).toContain(locale === 'en' ? '&lt;img src=x onerror=alert(1)&gt;' : '&lt;script&gt;alert(1)&lt;/script&gt;通知');
      expect(content.html).toContain(
        locale === 'en' ? 'Grants &amp; &quot;awards&quot; &lt;b&gt;' : '补助 &amp; &quot;奖励&quot; &lt;b&gt;',
      );
    });
  });

  it('email: en uses the english subject', () => {
    expect(email(deliveryContext('email', 'a@example.com', { locale: 'en' })).content.subject).toBe(
      '[Guangzhou Development and Reform Commission] Measures to support the digital transformation of SMEs',
    );
    expect(email(deliveryContext('email', 'a@example.com')).content.subject).toBe(
      '[广州市发展和改革委员会] 关于支持中小企业数字化转型的若干措施',
    );
  });

  it('en falls back to the chinese text unless both english title and summary are given', () => {
    for (const policy of [
      { ...base.policy, summaryEn: null },
      { ...base.policy, titleEn: null },
    ]) {
      const msg = email(deliveryContext('email', 'a@example.com', { locale: 'en', policy }));
      expect(msg.content.subject).toBe('[广州市发展和改革委员会] 关于支持中小企业数字化转型的若干措施');
      expect(msg.content.text).toContain(base.policy.summary);
    }
  });

  it('marks a revocation as such', () => {
    const msg = email(deliveryContext('email', 'a@example.com', { kind: 'revocation' }));
    expect(msg.content.subject).toContain('政策撤销');
  });
});
