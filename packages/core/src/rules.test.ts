import { describe, it, expect } from 'vitest';
import { subjectMatchesRule, validateRule, type AudienceRule, type RuleSubject } from './rules';

// Rules come from JSON in real life: this lets tests pass shapes the type forbids.
const asRule = (v: unknown) => v as AudienceRule;
const codes = (rule: unknown) => validateRule(asRule(rule)).map((p) => `${p.path}:${p.code}`);

describe('validateRule', () => {
  it('accepts valid rules, including the empty rule', () => {
    expect(validateRule({})).toEqual([]);
    expect(
      validateRule({
        industries: { any: ['C', '27', 'M'] },
        districts: { any: ['440106', '440112'] },
        sizes: { any: ['small', 'micro'] },
        tags: { any: ['高新技术企业'], all: ['规上工业'] },
      }),
    ).toEqual([]);
  });

  it('reports empty_list for empty lists and for a tags object with neither any nor all', () => {
    expect(codes({ industries: { any: [] } })).toEqual(['industries.any:empty_list']);
    expect(codes({ tags: { all: [] } })).toEqual(['tags.all:empty_list']);
    expect(codes({ tags: {} })).toEqual(['tags:empty_list']);
    expect(codes({ sizes: {} })).toEqual(['sizes:empty_list']);
  });

  it('reports all_not_allowed on single-valued dimensions', () => {
    expect(codes({ districts: { all: ['440106'] } })).toEqual(['districts.all:all_not_allowed']);
    expect(codes({ industries: { any: ['C'], all: ['M'] } })).toEqual(['industries.all:all_not_allowed']);
  });

  it('reports unknown_industry with the index of the bad value', () => {
    expect(codes({ industries: { any: ['C', 'Z', '98', '1', 'c'] } })).toEqual([
      'industries.any.1:unknown_industry',
      'industries.any.2:unknown_industry',
      'industries.any.3:unknown_industry',
      'industries.any.4:unknown_industry',
    ]);
  });

  it('reports unknown_district and unknown_size', () => {
    expect(codes({ districts: { any: ['440100'] } })).toEqual(['districts.any.0:unknown_district']);
    expect(codes({ sizes: { any: ['micro', 'huge'] } })).toEqual(['sizes.any.1:unknown_size']);
  });

  it('reports invalid_tag for blank and over-long tags, counting characters', () => {
    expect(codes({ tags: { any: ['', ' ', 'x'.repeat(65)] } })).toEqual([
      'tags.any.0:invalid_tag',
      'tags.any.1:invalid_tag',
      'tags.any.2:invalid_tag',
    ]);
    expect(codes({ tags: { all: ['企'.repeat(64)] } })).toEqual([]);
  });

  it('reports unknown_key at the top level and inside a dimension', () => {
    expect(codes({ regions: { any: ['x'] } })).toEqual(['regions:unknown_key']);
    expect(codes({ sizes: { any: ['small'], none: ['large'] } })).toEqual(['sizes.none:unknown_key']);
    expect(codes({ tags: { any: ['a'], some: ['b'] } })).toEqual(['tags.some:unknown_key']);
  });

  it('reports invalid_type for shapes JSON can carry but the type forbids', () => {
    expect(codes(null)).toEqual([':invalid_type']);
    expect(codes({ sizes: ['small'] })).toEqual(['sizes:invalid_type']);
    expect(codes({ sizes: { any: 'small' } })).toEqual(['sizes.any:invalid_type']);
    expect(codes({ tags: { any: [1] } })).toEqual(['tags.any.0:invalid_type']);
  });

  it('reports every problem at once', () => {
    expect(codes({ industries: { any: [] }, foo: 1, sizes: { all: ['x'] } })).toEqual([
      'industries.any:empty_list',
      'foo:unknown_key',
      'sizes.all:all_not_allowed',
    ]);
  });
});

describe('subjectMatchesRule', () => {
  const e: RuleSubject = {
    industrySection: 'C',
    industryDivision: '27',
    district: '440112',
    size: 'small',
    tags: ['高新技术企业', '规上工业'],
  };

  it('matches everyone with the empty rule', () => {
    expect(subjectMatchesRule({}, e)).toBe(true);
  });

  it('matches an industry by section letter or by division', () => {
    expect(subjectMatchesRule({ industries: { any: ['C'] } }, e)).toBe(true);
    expect(subjectMatchesRule({ industries: { any: ['M', '27'] } }, e)).toBe(true);
    expect(subjectMatchesRule({ industries: { any: ['26'] } }, e)).toBe(false);
    expect(subjectMatchesRule({ industries: { any: ['27'] } }, { ...e, industryDivision: null })).toBe(false);
  });

  it('matches district and size by any', () => {
    expect(subjectMatchesRule({ districts: { any: ['440106', '440112'] } }, e)).toBe(true);
    expect(subjectMatchesRule({ districts: { any: ['440106'] } }, e)).toBe(false);
    expect(subjectMatchesRule({ sizes: { any: ['large'] } }, e)).toBe(false);
  });

  it('matches tags by any and by all, both when given', () => {
    expect(subjectMatchesRule({ tags: { any: ['x', '规上工业'] } }, e)).toBe(true);
    expect(subjectMatchesRule({ tags: { all: ['高新技术企业', '规上工业'] } }, e)).toBe(true);
    expect(subjectMatchesRule({ tags: { all: ['高新技术企业', 'x'] } }, e)).toBe(false);
    expect(subjectMatchesRule({ tags: { any: ['规上工业'], all: ['x'] } }, e)).toBe(false);
    expect(subjectMatchesRule({ tags: { any: ['x'] } }, { ...e, tags: [] })).toBe(false);
  });

  it('ANDs the dimensions', () => {
    const rule: AudienceRule = { industries: { any: ['C'] }, sizes: { any: ['small'] } };
    expect(subjectMatchesRule(rule, e)).toBe(true);
    expect(subjectMatchesRule(rule, { ...e, size: 'large' })).toBe(false);
    expect(subjectMatchesRule(rule, { ...e, industrySection: 'M', industryDivision: '73' })).toBe(false);
  });
});
