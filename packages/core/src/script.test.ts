import { describe, expect, it } from 'vitest';
import { samplePolicies } from './reference';
import { localise, normaliseLocale, toHans, toHant } from './script';

describe('toHant: Hong Kong characters, mainland terms', () => {
  // Each pair would come out differently with Taiwan phrasing (s2twp), shown in the comment.
  it.each([
    ['优化', '優化'], // not 最佳化
    ['文件', '文件'], // not 檔案
    ['门户网站', '門户網站'], // not 入口網站
    ['应用', '應用'],
  ])('%s → %s', (hans, hant) => {
    expect(toHant(hans)).toBe(hant);
  });

  it('converts a whole policy title by phrase', () => {
    const { title } = samplePolicies.find((p) => p.docNumber === 'DEMO-2020-009')!;
    expect(title).toBe('广州市突发事件预警信息发布管理规定');
    // 信息 stays (Taiwan: 資訊) and 发布 is 發佈 in Hong Kong (Taiwan: 釋出).
    expect(toHant(title)).toBe('廣州市突發事件預警信息發佈管理規定');
  });

  it('leaves latin text, digits, links and punctuation alone', () => {
    const text = '申报截止6月30日，详见 https://gz.example.gov.cn/p?id=17&a=b（DEMO-2020-001）';
    expect(toHant(text)).toBe('申報截止6月30日，詳見 https://gz.example.gov.cn/p?id=17&a=b（DEMO-2020-001）');
  });
});

describe('toHans', () => {
  it('turns Hong Kong characters back into simplified ones', () => {
    expect(toHans('廣州市發展和改革委員會')).toBe('广州市发展和改革委员会');
  });

  it('round-trips a plain sentence', () => {
    const sentence = '企业可通过政府门户网站申请资金补助，并上传相关文件。';
    const hant = toHant(sentence);
    expect(hant).toBe('企業可通過政府門户網站申請資金補助，並上傳相關文件。');
    expect(toHans(hant)).toBe(sentence);
  });
});

describe('localise', () => {
  it('converts for zh-Hant only', () => {
    expect(localise('应用优化', 'zh-Hant')).toBe('應用優化');
    expect(localise('应用优化', 'zh-Hans')).toBe('应用优化');
    expect(localise('应用优化', 'en')).toBe('应用优化');
  });
});

describe('normaliseLocale', () => {
  it.each([
    ['zh-Hans', 'zh-Hans'],
    ['zh-Hant', 'zh-Hant'],
    ['en', 'en'],
    ['en-GB', 'en'],
    ['EN_us', 'en'],
    ['zh-Hant-HK', 'zh-Hant'],
    ['zh-HK', 'zh-Hant'],
    ['zh_MO', 'zh-Hant'],
    ['zh-TW', 'zh-Hant'],
    ['zh-CN', 'zh-Hans'],
    ['zh-Hans-HK', 'zh-Hans'],
    ['zh', 'zh-Hans'],
    ['fr', 'zh-Hans'],
    ['english', 'zh-Hans'],
    ['', 'zh-Hans'],
  ] as const)('%s → %s', (tag, locale) => {
    expect(normaliseLocale(tag)).toBe(locale);
  });
});
