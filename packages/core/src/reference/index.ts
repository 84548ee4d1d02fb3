import { districts } from './districts';
import { enterpriseSizes } from './enterprise-sizes';
import { industrySections } from './industry-sections';

export * from './categories';
export * from './departments';
export * from './districts';
export * from './enterprise-sizes';
export * from './industry-sections';
export * from './sample-policies';

const DIVISION = /^\d{2}$/;

/** The section letter a 2-digit GB/T 4754 division belongs to, or null for an unused number. */
export function sectionOfDivision(division: string): string | null {
  if (!DIVISION.test(division)) return null;
  // Two-digit strings compare in numeric order, so the ranges can stay as written in the standard.
  const section = industrySections.find((s) => s.divisionFrom <= division && division <= s.divisionTo);
  return section ? section.code : null;
}

export function isDivisionInSection(section: string, division: string): boolean {
  return sectionOfDivision(division) === section;
}

export function isSectionCode(code: string): boolean {
  return industrySections.some((s) => s.code === code);
}

export function isDistrictCode(code: string): boolean {
  return districts.some((d) => d.code === code);
}

export function isSizeCode(code: string): boolean {
  return enterpriseSizes.some((s) => s.code === code);
}
