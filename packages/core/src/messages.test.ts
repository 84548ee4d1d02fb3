import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  cutToLimit,
  defaultWechatFields,
  escapeHtml,
  formatEnglishDate,
  formatShanghaiDate,
  MESSAGE_WORDS,
  formatShanghaiDateTime,
  renderEmail,
  renderSms,
  renderWechat,
  type MessagePolicy,
  type WechatTemplateField,
} from './messages';
import { toHant } from './script';
import { smsSegments } from './sms-segments';

const policy: MessagePolicy = {
  title: '广州市加快生物医药产业发展若干规定',
  summary: '支持生物医药企业研发创新、临床试验和产业化，对符合条件的项目给予资金奖励。',
  url: 'https://policy.example.gov.cn/2020/001',
  docNumber: 'DEMO-2020-001',
  departmentNameZh: '广州市发展和改革委员会',
  smsSignature: '广州发改',
  // 16:30 UTC is 00:30 the next day in Shanghai.
  publishedAt: new Date('2020-03-01T16:30:00Z'),
  urgent: false,
  kind: 'policy',
  locale: 'zh-Hans',
};
const link = 'https://pp.example.cn/l/Ab3dE';
const unsubscribeUrl = 'https://pp.example.cn/u/TOKEN';
const cps = (s: string) => [...s].length;

describe('Shanghai date formatting', () => {
  it('formats in UTC+8 whatever the process time zone', () => {
    expect(formatShanghaiDateTime(policy.publishedAt)).toBe('2020年3月2日 00:30');
    expect(formatShanghaiDate(new Date('2020-12-31T15:59:00Z'))).toBe('2020年12月31日');
    expect(formatShanghaiDate(new Date('2020-12-31T16:00:00Z'))).toBe('2021年1月1日');
  });
});

describe('cutToLimit', () => {
  it('keeps values within the limit untouched', () => {
    expect(cutToLimit('一二三四五六七八九十一二三四五六七八九十', 'thing')).toBe('一二三四五六七八九十一二三四五六七八九十');
    expect(cutToLimit('政策更新', 'phrase')).toBe('政策更新');
  });

  it('cuts each type to its limit in code points, ending with …', () => {
    const long = '政'.repeat(40);
    expect(cutToLimit(long, 'thing')).toBe('政'.repeat(19) + '…');
    expect(cutToLimit(long, 'keyword')).toBe('政'.repeat(19) + '…');
    expect(cutToLimit('A'.repeat(33), 'character_string')).toBe('A'.repeat(31) + '…');
    expect(cutToLimit('1'.repeat(40), 'number')).toHaveLength(32);
    expect(cutToLimit('x'.repeat(40), 'letter')).toHaveLength(32);
    expect(cutToLimit('六个字的短语', 'phrase')).toBe('六个字的…');
  });

  it('counts characters outside the BMP as one', () => {
    const rare = '𠀀'.repeat(20); // CJK Extension B: two UTF-16 units each
    expect(cutToLimit(rare, 'thing')).toBe(rare);
    expect(cps(cutToLimit(rare + '𠀀', 'thing'))).toBe(20);
  });

  it('strips emoji before counting, including sequences', () => {
    expect(cutToLimit('🎉新政策😀发布👨‍👩‍👧❤️🇨🇳', 'thing')).toBe('新政策发布');
    expect(cutToLimit('😀'.repeat(30) + '政策', 'thing')).toBe('政策');
    expect(cutToLimit('高新技术企业™', 'thing')).toBe('高新技术企业™');
  });

  it('strips line breaks and never cuts inside the limit by whitespace', () => {
    expect(cutToLimit('第一行\n第二行\r\n第三行', 'keyword')).toBe('第一行 第二行 第三行');
  });

  it('formats ISO timestamps for time and date, leaving other text alone', () => {
    expect(cutToLimit('2020-03-01T16:30:00Z', 'time')).toBe('2020年3月2日 00:30');
    expect(cutToLimit('2020-03-01T16:30:00.000+08:00', 'date')).toBe('2020年3月1日');
    expect(cutToLimit('12', 'time')).toBe('12');
  });

  it('never exceeds the limit for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (s) => {
        const out = cutToLimit(s, 'thing');
        return cps(out) <= 20 && !/[\r\n]/.test(out);
      }),
    );
  });
});

describe('renderWechat', () => {
  it('fills the default fields and reports what was cut', () => {
    const r = renderWechat(policy, defaultWechatFields);
    expect(r).toEqual({
      fields: {
        thing1: { value: '广州市加快生物医药产业发展若干规定' },
        thing2: { value: '广州市发展和改革委员会' },
        time3: { value: '2020年3月2日 00:30' },
        thing4: { value: 'DEMO-2020-001' },
      },
      cut: [],
      url: policy.url,
    });
    const long = renderWechat({ ...policy, title: '广州市加快推进数字新基建发展三年行动计划（2020—2022年）' }, defaultWechatFields);
    expect(long.fields.thing1.value).toBe('广州市加快推进数字新基建发展三年行动计…');
    expect(long.cut).toEqual(['thing1']);
  });

  it('marks updates and revocations in the title and uses a given link', () => {
    const r = renderWechat({ ...policy, kind: 'revocation', title: '短标题' }, defaultWechatFields, { link });
    expect(r.fields.thing1.value).toBe('政策撤销：短标题');
    expect(r.url).toBe(link);
  });

  it('infers sources from the field types when none is given', () => {
    const r = renderWechat({ ...policy, kind: 'update' }, [
      { key: 'thing7', type: 'thing' },
      { key: 'phrase2', type: 'phrase' },
      { key: 'thing3', type: 'thing' },
      { key: 'date4', type: 'date' },
      { key: 'character_string9', type: 'character_string' },
    ]);
    expect(r.fields).toEqual({
      thing7: { value: '政策更新：广州市加快生物医药产业发展若…' },
      phrase2: { value: '政策更新' },
      thing3: { value: '广州市发展和改革委员会' },
      date4: { value: '2020年3月2日' },
      character_string9: { value: 'DEMO-2020-001' },
    });
  });
});

describe('renderSms', () => {
  it('sends everything when it fits the budget', () => {
    const r = renderSms(policy, { link, unsubscribeUrl, segmentBudget: 3 });
    expect(r.text).toBe(`【广州发改】${policy.title}：${policy.summary} ${link} 退订 ${unsubscribeUrl}`);
    expect(r.encoding).toBe('UCS-2');
    expect(r.segments).toBe(smsSegments(r.text).segments);
    expect(r.segments).toBeLessThanOrEqual(3);
    expect(r.domesticLength).toBe(cps(r.text));
  });

  it('cuts the summary first, keeping as much of it as the budget allows', () => {
    const summary = '对符合条件的项目给予资金奖励。'.repeat(20);
    const r = renderSms({ ...policy, summary }, { link, unsubscribeUrl, segmentBudget: 2 });
    expect(r.segments).toBe(2);
    const kept = r.text.slice(`【广州发改】${policy.title}：`.length, r.text.indexOf(`… ${link} 退订 ${unsubscribeUrl}`));
    expect(summary.startsWith(kept)).toBe(true);
    const oneMore = r.text.replace(`${kept}…`, `${summary.slice(0, kept.length + 1)}…`);
    expect(smsSegments(oneMore).segments).toBe(3);
  });

  it('drops the summary and cuts the title when the budget is tight', () => {
    // Fixed parts: 【广州发改】 6 + ' ' + link 29 + ' ' + '退订 ' 3 + unsubscribe link 17 = 57, leaving 13 of 70.
    const shortUnsubscribe = 'https://pp.cn/u/T';
    const r = renderSms(policy, { link, unsubscribeUrl: shortUnsubscribe, segmentBudget: 1 });
    expect(r.text).toBe(`【广州发改】${[...policy.title].slice(0, 12).join('')}… ${link} 退订 ${shortUnsubscribe}`);
    expect(r).toMatchObject({ segments: 1, domesticLength: 70 });
  });

  it('exceeds the budget only when signature, link and hint alone do', () => {
    const longLink = 'https://pp.example.cn/' + 'x'.repeat(80);
    const r = renderSms(policy, { link: longLink, unsubscribeUrl, segmentBudget: 1 });
    expect(r.text).toBe(`【广州发改】 ${longLink} 退订 ${unsubscribeUrl}`);
    expect(r.segments).toBe(3);
  });

  it('prefixes updates and revocations, and takes a custom opt-out hint', () => {
    const r = renderSms({ ...policy, kind: 'update' }, { link, unsubscribeUrl, segmentBudget: 3, optOutHint: '拒收请回复R' });
    expect(r.text.startsWith('【广州发改】政策更新：广州市')).toBe(true);
    expect(r.text.endsWith('拒收请回复R')).toBe(true);
    expect(renderSms({ ...policy, kind: 'revocation' }, { link, unsubscribeUrl, segmentBudget: 3 }).text).toContain('】政策撤销：');
  });

  it('keeps the domestic 500-character cap even with a large budget', () => {
    const r = renderSms({ ...policy, summary: '政'.repeat(1000) }, { link, unsubscribeUrl, segmentBudget: 20 });
    expect(r.domesticLength).toBe(500);
  });

  it('fits any title and summary into any budget that the fixed parts fit', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.integer({ min: 1, max: 8 }),
        (title, summary, budget) => {
          const r = renderSms({ ...policy, title, summary }, { link, unsubscribeUrl, segmentBudget: budget });
          const s = smsSegments(r.text);
          return s.segments === r.segments && r.segments <= budget && r.domesticLength <= 500;
        },
      ),
    );
  });
});

describe('renderEmail', () => {
  const opts = { link, unsubscribeUrl: 'https://pp.example.cn/u/TOKEN' };

  it('builds subject, text and html with every part', () => {
    const r = renderEmail(policy, opts);
    expect(r.subject).toBe(`[广州市发展和改革委员会] ${policy.title}`);
    for (const part of [policy.docNumber, policy.summary, link, opts.unsubscribeUrl, '2020年3月2日']) {
      expect(r.text).toContain(part);
      expect(r.html).toContain(part);
    }
    expect(r.html).toContain(`<a href="${link}">`);
  });

  it('escapes every value in the html', () => {
    const evil = '<script>alert("x")</script>';
    const r = renderEmail(
      { ...policy, title: evil, summary: evil, docNumber: evil, departmentNameZh: evil },
      { link: 'https://a.example/?a=1&b="2"', unsubscribeUrl: opts.unsubscribeUrl },
    );
    expect(r.html).not.toContain('<script>');
    expect(r.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(r.html).toContain('href="https://a.example/?a=1&amp;b=&quot;2&quot;"');
  });

  it('does not turn a javascript: link into an anchor', () => {
    const r = renderEmail(policy, { link: 'javascript:alert(1)', unsubscribeUrl: opts.unsubscribeUrl });
    expect(r.html).not.toContain('href="javascript:');
  });

  it('keeps the subject on one line and names the kind', () => {
    const r = renderEmail({ ...policy, kind: 'update', title: '标题\r\nBcc: x@example.com' }, opts);
    expect(r.subject).toBe('[广州市发展和改革委员会] 政策更新：标题 Bcc: x@example.com');
  });

  it('escapeHtml covers the five special characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});

describe('locales', () => {
  // Simplified text full of characters that differ in traditional script (优 门 应 …).
  const zh: MessagePolicy = {
    title: '关于优化政府门户网站应用服务的通知',
    summary: '企业可通过政府门户网站申请资金补助，并上传相关文件。',
    titleEn: 'Notice on improving the applications of the government portal',
    summaryEn: 'Enterprises can apply for grants on the government portal and upload the documents.',
    url: 'https://policy.example.gov.cn/2024/003',
    docNumber: '穗政数〔2024〕3号',
    departmentNameZh: '广州市政务服务数据管理局',
    departmentNameEn: 'Guangzhou Government Services and Data Administration',
    smsSignature: '广州政数',
    publishedAt: new Date('2020-03-01T16:30:00Z'),
    urgent: false,
    kind: 'update',
    locale: 'zh-Hans',
  };
  const hant: MessagePolicy = { ...zh, locale: 'zh-Hant' };
  const en: MessagePolicy = { ...zh, locale: 'en' };
  // Every one of these occurs in the policy above and has a different traditional form.
  const SIMPLIFIED_ONLY = [...'关于优门网应务广数据传补请过资业号'];
  const simplifiedIn = (s: string) => SIMPLIFIED_ONLY.filter((c) => s.includes(c));
  const HAN = /\p{Script=Han}/u;
  const emailOpts = { link, unsubscribeUrl };
  const smsOpts = { link, unsubscribeUrl, segmentBudget: 3 };
  const values = (r: ReturnType<typeof renderWechat>) => Object.values(r.fields).map((f) => f.value);
  const kindFields: WechatTemplateField[] = [...defaultWechatFields, { key: 'phrase5', type: 'phrase' }];

  it('has every zh-Hant word as the Hong Kong form of its zh-Hans word', () => {
    const hans = MESSAGE_WORDS['zh-Hans'];
    const hk = MESSAGE_WORDS['zh-Hant'];
    for (const kind of ['policy', 'update', 'revocation'] as const) {
      expect(hk.kindPrefix[kind]).toBe(toHant(hans.kindPrefix[kind]));
      expect(hk.kindPhrase[kind]).toBe(toHant(hans.kindPhrase[kind]));
    }
    for (const key of ['docNumber', 'readFullText', 'unsubscribe', 'colon'] as const) expect(hk[key]).toBe(toHant(hans[key]));
    // Twilio carries no replies from +86 numbers: every locale's way out is the signed link.
    expect(hk.smsOptOut(unsubscribeUrl)).toBe(`退訂 ${unsubscribeUrl}`);
    expect(hk.kindPrefix.revocation).toBe('政策撤銷：');
    expect(hans.smsOptOut(unsubscribeUrl)).toBe(`退订 ${unsubscribeUrl}`);
    for (const words of Object.values(MESSAGE_WORDS)) expect(words.smsOptOut(unsubscribeUrl)).toContain(unsubscribeUrl);
  });

  it('keeps every WeChat phrase to at most 5 Chinese characters, as the platform requires', () => {
    for (const words of Object.values(MESSAGE_WORDS)) {
      for (const phrase of Object.values(words.kindPhrase)) expect(phrase).toMatch(/^\p{Script=Han}{1,5}$/u);
    }
  });

  describe('wechat', () => {
    it('zh-Hans: the stored text and simplified words', () => {
      const r = renderWechat(zh, kindFields);
      expect(r.fields.thing1.value).toBe('政策更新：关于优化政府门户网站应用服务…');
      expect(r.fields.thing2.value).toBe('广州市政务服务数据管理局');
      expect(r.fields.thing4.value).toBe('穗政数〔2024〕3号');
      expect(r.fields.phrase5.value).toBe('政策更新');
    });

    it('zh-Hant: Hong Kong characters in every field, words included', () => {
      const r = renderWechat({ ...hant, kind: 'revocation' }, kindFields);
      expect(r.fields).toEqual({
        thing1: { value: '政策撤銷：關於優化政府門户網站應用服務…' },
        thing2: { value: '廣州市政務服務數據管理局' },
        time3: { value: '2020年3月2日 00:30' },
        thing4: { value: '穗政數〔2024〕3號' },
        phrase5: { value: '政策撤銷' },
      });
      expect(r.cut).toEqual(['thing1']);
      for (const v of values(r)) expect(simplifiedIn(v)).toEqual([]);
    });

    it('zh-Hant: converts the whole text before cutting it', () => {
      // 面条 is one phrase (麪條); cutting first would leave a lone 面, converted as 面.
      const title = '关于支持本市传统食品企业扩大生产新鲜面条的通知';
      const r = renderWechat({ ...hant, kind: 'policy', title }, defaultWechatFields);
      expect(r.fields.thing1.value).toBe('關於支持本市傳統食品企業擴大生產新鮮麪…');
      expect([...r.fields.thing1.value]).toHaveLength(20);
    });

    it('en: english title and department, english kind prefix, chinese phrase and date formats', () => {
      const r = renderWechat(en, [...kindFields, { key: 'thing6', type: 'thing', source: 'summary' }]);
      expect(r.fields.thing1.value).toBe('Policy update: Noti…');
      expect(r.fields.thing2.value).toBe('Guangzhou Governmen…');
      expect(r.fields.thing6.value).toBe('Enterprises can app…');
      expect(r.fields.phrase5.value).toBe('政策更新');
      expect(r.fields.time3.value).toBe('2020年3月2日 00:30');
    });

    it('en without both english texts: the zh-Hans message, not chinese under english words', () => {
      const zhRendered = renderWechat(zh, kindFields);
      expect(renderWechat({ ...en, summaryEn: null }, kindFields)).toEqual(zhRendered);
      expect(renderWechat({ ...en, titleEn: '  ' }, kindFields)).toEqual(zhRendered);
      expect(renderWechat({ ...en, titleEn: undefined, summaryEn: undefined }, kindFields)).toEqual(zhRendered);
    });
  });

  describe('sms', () => {
    it('zh-Hans: simplified signature, prefix and opt-out hint', () => {
      const r = renderSms(zh, smsOpts);
      expect(r.text).toBe(`【广州政数】政策更新：${zh.title}：${zh.summary} ${link} 退订 ${unsubscribeUrl}`);
    });

    it('zh-Hant: Hong Kong characters throughout, 退訂 with the link', () => {
      const r = renderSms({ ...hant, kind: 'revocation' }, smsOpts);
      expect(r.text).toBe(
        `【廣州政數】政策撤銷：關於優化政府門户網站應用服務的通知：企業可通過政府門户網站申請資金補助，並上傳相關文件。 ${link} 退訂 ${unsubscribeUrl}`,
      );
      expect(simplifiedIn(r.text)).toEqual([]);
      expect(r.domesticLength).toBe(cps(r.text));
    });

    it('en: english text, chinese signature, an unsubscribe link instead of a reply hint', () => {
      const r = renderSms(en, { ...smsOpts, segmentBudget: 4 });
      expect(r.text).toBe(`【广州政数】Policy update: ${zh.titleEn}: ${zh.summaryEn} ${link} Unsubscribe: ${unsubscribeUrl}`);
      expect(r.text).not.toContain('回T');
      expect(r.encoding).toBe('UCS-2'); // the signature alone makes it so
    });

    it('en without both english texts: the zh-Hans message', () => {
      expect(renderSms({ ...en, titleEn: null }, smsOpts)).toEqual(renderSms(zh, smsOpts));
    });

    // Signature, kind, both links and 退訂 alone are 74 characters: more than one segment.
    it.each([2, 3, 4])('zh-Hant stays within a budget of %i segment(s), cutting converted text', (budget) => {
      const long = { ...hant, summary: zh.summary.repeat(10) };
      const r = renderSms(long, { ...smsOpts, segmentBudget: budget });
      expect(r.segments).toBeLessThanOrEqual(budget);
      expect(r.segments).toBe(smsSegments(r.text).segments);
      expect(r.text.startsWith('【廣州政數】政策更新：')).toBe(true);
      expect(r.text.endsWith(`${link} 退訂 ${unsubscribeUrl}`)).toBe(true);
      expect(simplifiedIn(r.text)).toEqual([]);
    });

    it.each([2, 3, 4])('en stays within a budget of %i segments', (budget) => {
      const long = { ...en, summaryEn: zh.summaryEn!.repeat(10) };
      const r = renderSms(long, { ...smsOpts, segmentBudget: budget });
      expect(r.segments).toBeLessThanOrEqual(budget);
      expect(r.segments).toBe(smsSegments(r.text).segments);
      expect(r.text.endsWith(`${link} Unsubscribe: ${unsubscribeUrl}`)).toBe(true);
    });

    it('en: the two links alone need two segments, so a budget of one keeps only the fixed parts', () => {
      const r = renderSms(en, { ...smsOpts, segmentBudget: 1 });
      expect(r.text).toBe(`【广州政数】Policy update: ${link} Unsubscribe: ${unsubscribeUrl}`);
      expect(r.segments).toBe(2);
    });

    it('fits any text into any budget that the fixed parts fit, in every locale', () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'grapheme', maxLength: 100 }),
          fc.string({ unit: 'grapheme', maxLength: 200 }),
          fc.constantFrom('zh-Hans', 'zh-Hant', 'en'),
          fc.integer({ min: 2, max: 8 }),
          (text, summary, locale, budget) => {
            const p: MessagePolicy = { ...zh, locale, title: text, titleEn: text, summary, summaryEn: summary };
            const r = renderSms(p, { ...smsOpts, segmentBudget: budget });
            return smsSegments(r.text).segments === r.segments && r.segments <= budget && r.domesticLength <= 500;
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe('email', () => {
    it('zh-Hans: simplified labels', () => {
      const r = renderEmail(zh, emailOpts);
      expect(r.subject).toBe(`[广州市政务服务数据管理局] 政策更新：${zh.title}`);
      expect(r.text).toBe(
        [
          `政策更新：${zh.title}`,
          '广州市政务服务数据管理局 · 文号：穗政数〔2024〕3号 · 2020年3月2日',
          '',
          zh.summary,
          '',
          `查看全文：${link}`,
          '',
          `退订：${unsubscribeUrl}`,
          '',
        ].join('\n'),
      );
      expect(r.html).toContain('<html lang="zh-CN">');
      expect(r.html).toContain(`<a href="${link}">查看全文</a>`);
      expect(r.html).toContain(`<a href="${unsubscribeUrl}">退订</a>`);
    });

    it('zh-Hant: Hong Kong characters in subject, text and html', () => {
      const r = renderEmail({ ...hant, kind: 'revocation' }, emailOpts);
      expect(r.subject).toBe('[廣州市政務服務數據管理局] 政策撤銷：關於優化政府門户網站應用服務的通知');
      expect(r.text).toContain('廣州市政務服務數據管理局 · 文號：穗政數〔2024〕3號 · 2020年3月2日');
      expect(r.text).toContain('企業可通過政府門户網站申請資金補助，並上傳相關文件。');
      expect(r.text).toContain(`查看全文：${link}`);
      expect(r.text).toContain(`退訂：${unsubscribeUrl}`);
      expect(r.html).toContain('<html lang="zh-HK">');
      expect(r.html).toContain(`<a href="${unsubscribeUrl}">退訂</a>`);
      for (const part of [r.subject, r.text, r.html]) expect(simplifiedIn(part)).toEqual([]);
    });

    it('en: english text, department, labels and date', () => {
      const r = renderEmail(en, emailOpts);
      expect(r.subject).toBe(`[Guangzhou Government Services and Data Administration] Policy update: ${zh.titleEn}`);
      expect(r.subject).not.toMatch(HAN);
      expect(r.text).toBe(
        [
          `Policy update: ${zh.titleEn}`,
          'Guangzhou Government Services and Data Administration · Document No.: 穗政数〔2024〕3号 · 2 March 2020',
          '',
          zh.summaryEn,
          '',
          `Read the full text: ${link}`,
          '',
          `Unsubscribe: ${unsubscribeUrl}`,
          '',
        ].join('\n'),
      );
      expect(r.html).toContain('<html lang="en">');
      expect(r.html).toContain(`<a href="${link}">Read the full text</a>`);
      expect(r.html).toContain(`<a href="${unsubscribeUrl}">Unsubscribe</a>`);
      // The document number is the only Chinese left: it is an identifier.
      expect(r.html.replaceAll(zh.docNumber, '')).not.toMatch(HAN);
    });

    it('en without both english texts: the zh-Hans message', () => {
      expect(renderEmail({ ...en, summaryEn: '' }, emailOpts)).toEqual(renderEmail(zh, emailOpts));
    });

    it('en without an english department name keeps the chinese one', () => {
      expect(renderEmail({ ...en, departmentNameEn: null }, emailOpts).subject).toBe(
        `[广州市政务服务数据管理局] Policy update: ${zh.titleEn}`,
      );
    });

    it('shows a non-web link as text with the locale colon', () => {
      expect(renderEmail(en, { link: 'javascript:alert(1)', unsubscribeUrl }).html).toContain('Read the full text: javascript:alert(1)');
      expect(renderEmail(hant, { link: 'javascript:alert(1)', unsubscribeUrl }).html).toContain('查看全文：javascript:alert(1)');
    });
  });

  it('formats english dates in Shanghai time', () => {
    expect(formatEnglishDate(new Date('2020-12-31T16:00:00Z'))).toBe('1 January 2021');
    expect(formatEnglishDate(new Date('2024-05-06T01:30:00Z'))).toBe('6 May 2024');
  });
});
