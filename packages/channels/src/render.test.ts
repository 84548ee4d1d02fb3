import { smsSegments, toHant } from '@policy-push/core';
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
// zh-CN stands for any tag other than the three the contacts table holds: it reads as zh-Hans.
const LOCALES = ['zh-Hans', 'zh-CN', 'zh-Hant', 'en'] as const;
const SIGNATURE: Record<(typeof LOCALES)[number], string> = {
  'zh-Hans': '【广州发改】',
  'zh-CN': '【广州发改】',
  'zh-Hant': '【廣州發改】',
  en: '【广州发改】', // the approved signature, whatever the language
};
// Every locale carries a second link (to unsubscribe: no reply reaches us from +86 numbers), and
// the two links alone take 2 UCS-2 segments.
const SMS_BUDGETS: Record<(typeof LOCALES)[number], number[]> = {
  'zh-Hans': [2, 3],
  'zh-CN': [2, 3],
  'zh-Hant': [2, 3],
  en: [2, 3],
};
// Characters of the fixture's policy, department and signature whose traditional form differs.
const SIMPLIFIED_ONLY = [...'关于业数转对规给万补报广发员会号'];
const simplifiedIn = (s: string) => SIMPLIFIED_ONLY.filter((c) => s.includes(c));
const inScript = (locale: string, s: string) => (locale === 'zh-Hant' ? toHant(s) : s);

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
    it.each(SMS_BUDGETS[locale])('stays within a budget of %i segment(s) and counts them', (budget) => {
      const ctx = deliveryContext('sms', '+12025550150', { locale, policy: LONG, smsSegmentBudget: budget });
      const { content } = sms(ctx);
      expect(content.segments).toBeLessThanOrEqual(budget);
      expect(content.segments).toBe(smsSegments(content.text).segments);
      expect(content.text.startsWith(SIGNATURE[locale])).toBe(true);
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
      expect(Object.keys(msg.content.data)).toEqual(['thing1', 'thing2', 'time3', 'thing4']);
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
        locale === 'en' ? 'Grants &amp; &quot;awards&quot; &lt;b&gt;' : inScript(locale, '补助 &amp; &quot;奖励&quot; &lt;b&gt;'),
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
  describe('locales', () => {
    const update = { kind: 'update' as const };
    const phraseTemplate = {
      templateId: 'tmpl-GZFGW-002',
      fields: [
        { key: 'thing1', type: 'thing' },
        { key: 'thing2', type: 'thing' },
        { key: 'phrase3', type: 'phrase' },
        { key: 'thing4', type: 'thing' },
      ],
    };
    const withPhrase = { department: { ...base.department, wechatTemplate: phraseTemplate } };

    it('sms: each locale has its own words and script', () => {
      const text = (locale: string) => sms(deliveryContext('sms', '+12025550150', { locale, ...update, smsSegmentBudget: 4 })).content.text;
      const { links } = base;
      expect(text('zh-Hans')).toBe(
        `【广州发改】政策更新：关于支持中小企业数字化转型的若干措施：对完成数字化改造的规上工业企业给予最高200万元补助，申报截止6月30日。 ${links.policy} 退订 ${links.unsubscribe}`,
      );
      expect(text('zh-Hant')).toBe(
        `【廣州發改】政策更新：關於支持中小企業數字化轉型的若干措施：對完成數字化改造的規上工業企業給予最高200萬元補助，申報截止6月30日。 ${links.policy} 退訂 ${links.unsubscribe}`,
      );
      expect(text('en')).toBe(
        `【广州发改】Policy update: Measures to support the digital transformation of SMEs: Grants of up to 2 million yuan for industrial enterprises that complete a digital upgrade. Apply by 30 June. ${links.policy} Unsubscribe: ${links.unsubscribe}`,
      );
      expect(simplifiedIn(text('zh-Hant'))).toEqual([]);
    });

    it('sms, en: a budget of one segment cannot hold both links, so only the fixed parts go', () => {
      const { content } = sms(deliveryContext('sms', '+12025550150', { locale: 'en', smsSegmentBudget: 1 }));
      expect(content.text).toBe(`【广州发改】 ${base.links.policy} Unsubscribe: ${base.links.unsubscribe}`);
      expect(content.segments).toBe(2);
    });

    it('wechat: each locale has its own words and script', () => {
      const data = (locale: string, kind: 'update' | 'revocation') =>
        wechat(deliveryContext('wechat', 'oAbC', { locale, kind, ...withPhrase })).content.data;
      expect(data('zh-Hans', 'revocation')).toEqual({
        thing1: { value: '政策撤销：关于支持中小企业数字化转型的…' },
        thing2: { value: '广州市发展和改革委员会' },
        phrase3: { value: '政策撤销' },
        thing4: { value: '对完成数字化改造的规上工业企业给予最高…' },
      });
      const hant = data('zh-Hant', 'revocation');
      expect(hant).toEqual({
        thing1: { value: '政策撤銷：關於支持中小企業數字化轉型的…' },
        thing2: { value: '廣州市發展和改革委員會' },
        phrase3: { value: '政策撤銷' },
        thing4: { value: '對完成數字化改造的規上工業企業給予最高…' },
      });
      for (const { value } of Object.values(hant)) expect(simplifiedIn(value)).toEqual([]);
      expect(data('en', 'update')).toEqual({
        thing1: { value: 'Policy update: Meas…' },
        thing2: { value: 'Guangzhou Developme…' },
        phrase3: { value: '政策更新' }, // WeChat takes only Chinese characters here
        thing4: { value: 'Grants of up to 2 m…' },
      });
    });

    it('email: each locale has its own words and script', () => {
      const content = (locale: string) => email(deliveryContext('email', 'a@example.com', { locale, ...update })).content;
      const { links } = base;

      const hans = content('zh-Hans');
      expect(hans.subject).toBe('[广州市发展和改革委员会] 政策更新：关于支持中小企业数字化转型的若干措施');
      expect(hans.text).toContain('广州市发展和改革委员会 · 文号：穗发改〔2024〕17号 · 2024年5月6日');
      expect(hans.text).toContain(`查看全文：${links.policy}`);
      expect(hans.text).toContain(`退订：${links.unsubscribe}`);
      expect(hans.html).toContain('<html lang="zh-CN">');

      const hant = content('zh-Hant');
      expect(hant.subject).toBe('[廣州市發展和改革委員會] 政策更新：關於支持中小企業數字化轉型的若干措施');
      expect(hant.text).toContain('廣州市發展和改革委員會 · 文號：穗發改〔2024〕17號 · 2024年5月6日');
      expect(hant.text).toContain('對完成數字化改造的規上工業企業給予最高200萬元補助，申報截止6月30日。');
      expect(hant.text).toContain(`查看全文：${links.policy}`);
      expect(hant.text).toContain(`退訂：${links.unsubscribe}`);
      expect(hant.html).toContain('<html lang="zh-HK">');
      expect(hant.html).toContain(`<a href="${links.unsubscribe}">退訂</a>`);
      for (const part of [hant.subject, hant.text, hant.html]) expect(simplifiedIn(part)).toEqual([]);

      const en = content('en');
      expect(en.subject).toBe(
        '[Guangzhou Development and Reform Commission] Policy update: Measures to support the digital transformation of SMEs',
      );
      expect(en.text).toContain('Guangzhou Development and Reform Commission · Document No.: 穗发改〔2024〕17号 · 6 May 2024');
      expect(en.text).toContain(`Read the full text: ${links.policy}`);
      expect(en.text).toContain(`Unsubscribe: ${links.unsubscribe}`);
      expect(en.html).toContain('<html lang="en">');
      expect(en.html).toContain(`<a href="${links.unsubscribe}">Unsubscribe</a>`);
    });

    it('en is used only when both the english title and summary exist, on every channel', () => {
      for (const policy of [
        { ...base.policy, summaryEn: null },
        { ...base.policy, titleEn: null },
        { ...base.policy, titleEn: '', summaryEn: '' },
      ]) {
        for (const [channel, to] of [
          ['sms', '+12025550150'],
          ['email', 'a@example.com'],
          ['wechat', 'oAbC'],
        ] as const) {
          const { deliveryId } = base;
          const en = renderOutbound(deliveryContext(channel, to, { deliveryId, locale: 'en', policy, ...update, ...withPhrase }));
          const zh = renderOutbound(deliveryContext(channel, to, { deliveryId, locale: 'zh-Hans', policy, ...update, ...withPhrase }));
          expect(en).toEqual(zh);
        }
      }
    });

    it('reads other tags: zh-HK and zh-TW as zh-Hant, unknown ones as zh-Hans', () => {
      const subject = (locale: string) => email(deliveryContext('email', 'a@example.com', { locale })).content.subject;
      expect(subject('zh-HK')).toBe(subject('zh-Hant'));
      expect(subject('zh-TW')).toBe(subject('zh-Hant'));
      for (const other of ['zh-CN', 'fr', '', 'zh']) expect(subject(other)).toBe(subject('zh-Hans'));
      expect(subject('zh-Hant')).toBe('[廣州市發展和改革委員會] 關於支持中小企業數字化轉型的若干措施');
    });
  });
});
