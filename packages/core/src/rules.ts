import { isDistrictCode, isSectionCode, isSizeCode, sectionOfDivision } from './reference';

export interface AnyOf {
  any: string[];
}

/** Who a service group or an inline policy audience is for; dimensions are ANDed. */
export interface AudienceRule {
  industries?: AnyOf;
  districts?: AnyOf;
  sizes?: AnyOf;
  tags?: { any?: string[]; all?: string[] };
}

/** `path` is relative to the rule, e.g. 'industries.any.1'. */
export interface RuleProblem {
  path: string;
  code: string;
  message: string;
}

export interface RuleSubject {
  industrySection: string;
  industryDivision: string | null;
  district: string;
  size: string;
  tags: string[];
}

export const MAX_TAG_LENGTH = 64;

type ValueCheck = (value: string) => { code: string; message: string } | null;

const knownIndustry: ValueCheck = (v) =>
  isSectionCode(v) || sectionOfDivision(v) !== null
    ? null
    : { code: 'unknown_industry', message: `'${v}' is neither a GB/T 4754 section letter nor a 2-digit division` };
const knownDistrict: ValueCheck = (v) =>
  isDistrictCode(v) ? null : { code: 'unknown_district', message: `'${v}' is not a known district code` };
const knownSize: ValueCheck = (v) => (isSizeCode(v) ? null : { code: 'unknown_size', message: `'${v}' is not a known enterprise size` });
const validTag: ValueCheck = (v) =>
  v.trim() !== '' && [...v].length <= MAX_TAG_LENGTH
    ? null
    : { code: 'invalid_tag', message: `a tag must be 1–${MAX_TAG_LENGTH} characters` };

const SINGLE_VALUED: Record<string, ValueCheck> = {
  industries: knownIndustry,
  districts: knownDistrict,
  sizes: knownSize,
};

/**
 * Every problem in a rule, empty when it is valid. Rules arrive as JSON, so nothing about
 * their shape is taken on trust: wrong types are reported as `invalid_type`.
 */
export function validateRule(rule: AudienceRule): RuleProblem[] {
  if (!isPlainObject(rule)) return [problem('', 'invalid_type', 'a rule must be an object')];
  const problems: RuleProblem[] = [];
  for (const [key, value] of Object.entries(rule)) {
    if (key in SINGLE_VALUED) problems.push(...validateSingleValued(key, value, SINGLE_VALUED[key]));
    else if (key === 'tags') problems.push(...validateTags(value));
    else problems.push(problem(key, 'unknown_key', `'${key}' is not a rule dimension`));
  }
  return problems;
}

function validateSingleValued(dim: string, value: unknown, check: ValueCheck): RuleProblem[] {
  if (!isPlainObject(value)) return [problem(dim, 'invalid_type', `${dim} must be an object like { any: [...] }`)];
  const problems: RuleProblem[] = [];
  for (const key of Object.keys(value)) {
    if (key === 'all') {
      problems.push(problem(`${dim}.all`, 'all_not_allowed', `${dim} has one value per enterprise: use any`));
    } else if (key !== 'any') {
      problems.push(problem(`${dim}.${key}`, 'unknown_key', `'${key}' is not allowed in ${dim}`));
    }
  }
  if (!('any' in value)) {
    if (!('all' in value)) problems.push(problem(dim, 'empty_list', `${dim} needs an any list`));
    return problems;
  }
  return [...problems, ...validateList(`${dim}.any`, value.any, check)];
}

function validateTags(value: unknown): RuleProblem[] {
  if (!isPlainObject(value)) return [problem('tags', 'invalid_type', 'tags must be an object with any and/or all')];
  const problems: RuleProblem[] = [];
  for (const key of Object.keys(value)) {
    if (key === 'any' || key === 'all') problems.push(...validateList(`tags.${key}`, value[key], validTag));
    else problems.push(problem(`tags.${key}`, 'unknown_key', `'${key}' is not allowed in tags`));
  }
  if (!('any' in value) && !('all' in value)) problems.push(problem('tags', 'empty_list', 'tags needs any and/or all'));
  return problems;
}

function validateList(path: string, list: unknown, check: ValueCheck): RuleProblem[] {
  if (!Array.isArray(list)) return [problem(path, 'invalid_type', 'must be a list of strings')];
  if (list.length === 0) return [problem(path, 'empty_list', 'an empty list would match no one: omit the dimension instead')];
  const problems: RuleProblem[] = [];
  list.forEach((item, i) => {
    if (typeof item !== 'string') {
      problems.push(problem(`${path}.${i}`, 'invalid_type', 'must be a string'));
      return;
    }
    const bad = check(item);
    if (bad) problems.push(problem(`${path}.${i}`, bad.code, bad.message));
  });
  return problems;
}

function problem(path: string, code: string, message: string): RuleProblem {
  return { path, code, message };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether an enterprise is in a rule's audience. Assumes a rule that passed validateRule. */
export function subjectMatchesRule(rule: AudienceRule, e: RuleSubject): boolean {
  return (
    matchesIndustry(rule.industries, e) && anyOf(rule.districts, e.district) && anyOf(rule.sizes, e.size) && matchesTags(rule.tags, e.tags)
  );
}

// Section letters and division numbers never collide, so one list can hold both.
function matchesIndustry(dim: AnyOf | undefined, e: RuleSubject): boolean {
  return !dim || dim.any.some((v) => v === e.industrySection || v === e.industryDivision);
}

function anyOf(dim: AnyOf | undefined, value: string): boolean {
  return !dim || dim.any.includes(value);
}

function matchesTags(dim: AudienceRule['tags'], tags: string[]): boolean {
  if (!dim) return true;
  const anyOk = !dim.any || dim.any.some((t) => tags.includes(t));
  const allOk = !dim.all || dim.all.every((t) => tags.includes(t));
  return anyOk && allOk;
}
