import { describe, it, expect } from 'vitest';
import {
  categories,
  departments,
  districts,
  enterpriseSizes,
  industrySections,
  isDistrictCode,
  isDivisionInSection,
  isSectionCode,
  isSizeCode,
  samplePolicies,
  sectionOfDivision,
} from './index';
import { validateRule } from '../rules';

describe('reference data', () => {
  it('has the expected sizes of each list', () => {
    expect(industrySections).toHaveLength(20);
    expect(districts).toHaveLength(11);
    expect(enterpriseSizes.map((s) => s.code)).toEqual(['large', 'medium', 'small', 'micro']);
    expect(departments).toHaveLength(10);
    expect(categories).toHaveLength(20);
    expect(samplePolicies).toHaveLength(9);
  });

  it('covers divisions 01–97 without gaps or overlaps', () => {
    for (let n = 1; n <= 97; n++) {
      const division = String(n).padStart(2, '0');
      const owners = industrySections.filter((s) => s.divisionFrom <= division && division <= s.divisionTo);
      expect(owners, division).toHaveLength(1);
    }
  });

  it('gives every category parent as an existing category', () => {
    const codes = new Set(categories.map((c) => c.code));
    for (const c of categories) if (c.parent !== null) expect(codes.has(c.parent), c.code).toBe(true);
  });

  it('sample policies name known departments, categories and valid audiences', () => {
    const deptCodes = new Set(departments.map((d) => d.code));
    const catCodes = new Set(categories.map((c) => c.code));
    for (const p of samplePolicies) {
      expect(deptCodes.has(p.department), p.docNumber).toBe(true);
      for (const c of p.categories) expect(catCodes.has(c), `${p.docNumber} ${c}`).toBe(true);
      expect(validateRule(p.audience), p.docNumber).toEqual([]);
    }
  });
});

describe('sectionOfDivision', () => {
  it('maps divisions at the edges of their ranges', () => {
    expect(sectionOfDivision('01')).toBe('A');
    expect(sectionOfDivision('05')).toBe('A');
    expect(sectionOfDivision('06')).toBe('B');
    expect(sectionOfDivision('13')).toBe('C');
    expect(sectionOfDivision('43')).toBe('C');
    expect(sectionOfDivision('70')).toBe('K');
    expect(sectionOfDivision('97')).toBe('T');
  });

  it('rejects numbers outside 01–97 and malformed input', () => {
    for (const bad of ['00', '98', '99', '1', '013', 'C1', '', ' 13']) expect(sectionOfDivision(bad), bad).toBeNull();
  });
});

describe('code helpers', () => {
  it('checks a division against its section', () => {
    expect(isDivisionInSection('C', '27')).toBe(true);
    expect(isDivisionInSection('M', '27')).toBe(false);
    expect(isDivisionInSection('Z', '27')).toBe(false);
  });

  it('knows section, district and size codes', () => {
    expect(isSectionCode('A')).toBe(true);
    expect(isSectionCode('T')).toBe(true);
    expect(isSectionCode('U')).toBe(false);
    expect(isSectionCode('c')).toBe(false);
    expect(isDistrictCode('440106')).toBe(true);
    expect(isDistrictCode('440100')).toBe(false);
    expect(isSizeCode('micro')).toBe(true);
    expect(isSizeCode('tiny')).toBe(false);
  });
});
