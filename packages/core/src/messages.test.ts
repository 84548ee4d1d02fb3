import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  cutToLimit,
  defaultWechatFields,
  escapeHtml,
  formatShanghaiDate,
  formatShanghaiDateTime,
  renderEmail,
  renderSms,
  renderWechat,
  type MessagePolicy,
} from './messages';
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
};
const link = 'https://pp.example.cn/l/Ab3dE';
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
        character_string4: { value: 'DEMO-2020-001' },
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
    const r = renderSms(policy, { link, segmentBudget: 3 });
    expect(r.text).toBe(`【广州发改】${policy.title}：${policy.summary} ${link} 回T退订`);
    expect(r.encoding).toBe('UCS-2');
    expect(r.segments).toBe(smsSegments(r.text).segments);
    expect(r.segments).toBeLessThanOrEqual(3);
    expect(r.domesticLength).toBe(cps(r.text));
  });

  it('cuts the summary first, keeping as much of it as the budget allows', () => {
    const summary = '对符合条件的项目给予资金奖励。'.repeat(20);
    const r = renderSms({ ...policy, summary }, { link, segmentBudget: 2 });
    expect(r.segments).toBe(2);
    const kept = r.text.slice(`【广州发改】${policy.title}：`.length, r.text.indexOf(`… ${link} 回T退订`));
    expect(summary.startsWith(kept)).toBe(true);
    const oneMore = r.text.replace(`${kept}…`, `${summary.slice(0, kept.length + 1)}…`);
    expect(smsSegments(oneMore).segments).toBe(3);
  });

  it('drops the summary and cuts the title when the budget is tight', () => {
    // Fixed parts: 【广州发改】 6 + ' ' + link 45 + ' ' + 回T退订 4 = 57, leaving 13 of 70.
    const link45 = 'https://pp.example.cn/l/' + 'x'.repeat(21);
    const r = renderSms(policy, { link: link45, segmentBudget: 1 });
    expect(r.text).toBe(`【广州发改】${[...policy.title].slice(0, 12).join('')}… ${link45} 回T退订`);
    expect(r).toMatchObject({ segments: 1, domesticLength: 70 });
  });

  it('exceeds the budget only when signature, link and hint alone do', () => {
    const longLink = 'https://pp.example.cn/' + 'x'.repeat(80);
    const r = renderSms(policy, { link: longLink, segmentBudget: 1 });
    expect(r.text).toBe(`【广州发改】 ${longLink} 回T退订`);
    expect(r.segments).toBe(2);
  });

  it('prefixes updates and revocations, and takes a custom opt-out hint', () => {
    const r = renderSms({ ...policy, kind: 'update' }, { link, segmentBudget: 3, optOutHint: '拒收请回复R' });
    expect(r.text.startsWith('【广州发改】政策更新：广州市')).toBe(true);
    expect(r.text.endsWith('拒收请回复R')).toBe(true);
    expect(renderSms({ ...policy, kind: 'revocation' }, { link, segmentBudget: 3 }).text).toContain('】政策撤销：');
  });

  it('keeps the domestic 500-character cap even with a large budget', () => {
    const r = renderSms({ ...policy, summary: '政'.repeat(1000) }, { link, segmentBudget: 20 });
    expect(r.domesticLength).toBe(500);
  });

  it('fits any title and summary into any budget that the fixed parts fit', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.integer({ min: 1, max: 8 }),
        (title, summary, budget) => {
          const r = renderSms({ ...policy, title, summary }, { link, segmentBudget: budget });
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
