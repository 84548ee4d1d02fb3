import { isDistrictCode, isDivisionInSection, isSectionCode, isSizeCode, isValidCreditCode, normalizeCreditCode } from '@policy-push/core';
import { type Database, type Enterprise, type NewEnterprise, insertEnterprise, updateEnterprise } from '@policy-push/db';
import { conflict, type FieldProblem, isUniqueViolation, notFound, rejected } from '../../errors';

export interface EnterpriseInput {
  creditCode: string;
  name: string;
  industry: { section: string; division?: string | null };
  district: string;
  size: string;
  tags?: string[];
}

type Problem = FieldProblem & { message: string };

/**
 * The columns for the given fields, normalised, with every problem found in them. The API
 * answers a 422 with the problems; the CSV import reports them for the row.
 */
export function checkEnterprise(input: Partial<EnterpriseInput>): { values: Partial<NewEnterprise>; problems: Problem[] } {
  const problems: Problem[] = [];
  const values: Partial<NewEnterprise> = {};
  if (input.name !== undefined) values.name = input.name;
  if (input.creditCode !== undefined) {
    values.creditCode = normalizeCreditCode(input.creditCode);
    if (!isValidCreditCode(values.creditCode)) {
      problems.push({ path: 'creditCode', code: 'invalid_credit_code', message: 'not a valid unified social credit code' });
    }
  }
  if (input.industry !== undefined) {
    const { section, division = null } = input.industry;
    values.industrySection = section;
    values.industryDivision = division;
    if (!isSectionCode(section)) {
      problems.push({ path: 'industry.section', code: 'unknown_industry', message: `'${section}' is not a GB/T 4754 section` });
    } else if (division !== null && !isDivisionInSection(section, division)) {
      problems.push({
        path: 'industry.division',
        code: 'division_outside_section',
        message: `division ${division} is not in section ${section}`,
      });
    }
  }
  if (input.district !== undefined) {
    values.district = input.district;
    if (!isDistrictCode(input.district))
      problems.push({ path: 'district', code: 'unknown_district', message: 'not a Guangzhou district code' });
  }
  if (input.size !== undefined) {
    values.size = input.size;
    if (!isSizeCode(input.size))
      problems.push({ path: 'size', code: 'unknown_size', message: 'size is one of large, medium, small, micro' });
  }
  if (input.tags !== undefined) {
    const tags = input.tags.map((t) => t.trim());
    tags.forEach((t, i) => {
      if (t === '') problems.push({ path: `tags.${i}`, code: 'invalid_tag', message: 'a tag cannot be blank' });
    });
    values.tags = [...new Set(tags)];
  }
  return { values, problems };
}

/** The columns for the given fields, normalised; throws a 422 listing every problem found. */
export function enterpriseValues(input: Partial<EnterpriseInput>): Partial<NewEnterprise> {
  const { values, problems } = checkEnterprise(input);
  if (problems.length) throw rejected(problems);
  return values;
}

/** A 422 naming every problem found, with one message for humans; the other feature services use it too. */
// The unique key is the duplicate check: no window between a look-up and the write.
async function uniqueCreditCode<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('creditCode', 'duplicate_credit_code', 'an enterprise with this credit code exists');
    throw err;
  }
}

export const createEnterprise = (db: Database, input: EnterpriseInput): Promise<Enterprise> =>
  uniqueCreditCode(() => insertEnterprise(db, enterpriseValues(input) as NewEnterprise));

export async function changeEnterprise(db: Database, id: number, input: Partial<EnterpriseInput>): Promise<Enterprise> {
  const row = await uniqueCreditCode(() => updateEnterprise(db, id, enterpriseValues(input)));
  if (!row) throw notFound('enterprise');
  return row;
}
