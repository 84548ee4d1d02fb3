import { describe, expect, it } from 'vitest';
import { describeChanges } from './policy-changes';

const v1 = { title: '措施', summary: '摘要一', url: 'https://a.example/1', interpretationUrls: [], validUntil: null };

describe('describeChanges', () => {
  it('names what changed, per locale', () => {
    const v2 = { ...v1, title: '措施（修订）', validUntil: new Date('2027-01-01T00:00:00Z') };
    expect(describeChanges(v1, v2, 'zh-Hans')).toBe('本次修改：标题、有效期。');
    expect(describeChanges(v1, v2, 'zh-Hant')).toBe('本次修改：標題、有效期。');
    expect(describeChanges(v1, { ...v1, interpretationUrls: ['https://a.example/jd'] }, 'en')).toBe('Changed: interpretation links. ');
  });
  it('is empty when nothing a reader sees changed', () => {
    expect(describeChanges(v1, { ...v1 }, 'zh-Hans')).toBe('');
  });
});
