import type { Readable } from 'node:stream';
import { isValidCreditCode, normalizeCreditCode, type ReachabilityRule, validateRule } from '@policy-push/core';
import {
  type Database,
  enterpriseIdsByCreditCode,
  type GroupAudience,
  groupAudience,
  type NewServiceGroup,
  type ServiceGroup,
  type Queryable,
  addMembers,
  clearMembers,
  deleteServiceGroup,
  getDepartment,
  getServiceGroup,
  getServiceGroupForUpdate,
  insertServiceGroup,
  isServiceGroupTargeted,
  memberCount,
  missingEnterpriseIds,
  removeMember,
  replaceMembers,
  updateServiceGroup,
} from '@policy-push/db';
import {
  ApiError,
  conflict,
  type FieldProblem,
  invalidField,
  isForeignKeyViolation,
  notFound,
  rejected,
  unprocessable,
} from '../../errors';
import { readCsv } from '../enterprise-import/csv-reader';
import { type AudienceRuleBody, asAudienceRule } from '../../schemas/audience-rule';

export interface ServiceGroupInput {
  departmentId: string;
  name: string;
  description?: string | null;
  rule?: AudienceRuleBody | null;
}

type Problem = { path: string; code: string; message: string };

// A 422 response names at most this many unknown ids: enough to fix a list, small enough to read.
const MAX_REPORTED_IDS = 100;

function ruleProblems(rule: AudienceRuleBody | null | undefined): Problem[] {
  if (!rule) return [];
  return validateRule(asAudienceRule(rule)).map((p) => ({ ...p, path: p.path ? `rule.${p.path}` : 'rule' }));
}

const unknownDepartment: Problem = { path: 'departmentId', code: 'unknown_department', message: 'no such department' };

export async function createServiceGroup(db: Database, input: ServiceGroupInput): Promise<ServiceGroup> {
  const values: NewServiceGroup = {
    departmentId: Number(input.departmentId),
    name: input.name,
    description: input.description ?? null,
    rule: input.rule ? asAudienceRule(input.rule) : null,
  };
  const problems = ruleProblems(input.rule);
  if (!(await getDepartment(db, values.departmentId))) problems.unshift(unknownDepartment);
  if (problems.length) throw rejected(problems);
  try {
    return await insertServiceGroup(db, values);
  } catch (err) {
    // The department deleted since the check: its foreign key refuses the row.
    if (isForeignKeyViolation(err)) throw rejected([unknownDepartment]);
    throw err;
  }
}

export async function changeServiceGroup(
  db: Database,
  id: number,
  input: Partial<Omit<ServiceGroupInput, 'departmentId'>>,
): Promise<ServiceGroup> {
  const problems = ruleProblems(input.rule);
  if (problems.length) throw rejected(problems);
  const { rule, ...rest } = input;
  const values: Partial<NewServiceGroup> = rule === undefined ? rest : { ...rest, rule: rule ? asAudienceRule(rule) : null };
  return db.transaction(async (tx) => {
    const current = await getServiceGroupForUpdate(tx, id);
    if (!current) throw notFound('service group');
    // A rule group has no members: the rule replaces the static list.
    if (values.rule && !current.rule) await clearMembers(tx, id);
    return (await updateServiceGroup(tx, id, values))!;
  });
}

export async function removeServiceGroup(db: Database, id: number): Promise<void> {
  await db.transaction(async (tx) => {
    // Lock first, then look for policies: one targeting it in the meantime waits or is seen.
    if (!(await getServiceGroupForUpdate(tx, id))) throw notFound('service group');
    if (await isServiceGroupTargeted(tx, id)) throw conflict('id', 'in_use', 'a policy targets this service group');
    await deleteServiceGroup(tx, id);
  });
}

const ruleGroupHasNoMembers = () =>
  invalidField('enterpriseIds', 'rule_group_has_no_members', 'this group is defined by a rule: its audience is computed, not listed');

/** The static group, locked for the transaction; 404 or 422 otherwise. */
async function staticGroupForUpdate(tx: Queryable, id: number): Promise<ServiceGroup> {
  const group = await getServiceGroupForUpdate(tx, id);
  if (!group) throw notFound('service group');
  if (group.rule) throw ruleGroupHasNoMembers();
  return group;
}

/** The ids, checked to exist (422 naming the index of each unknown one in the request). */
async function knownEnterpriseIds(tx: Queryable, requested: string[]): Promise<number[]> {
  const ids = [...new Set(requested.map(Number))];
  const missing = await missingEnterpriseIds(tx, ids);
  if (missing.size === 0) return ids;
  const fields: { path: string; code: string }[] = [];
  requested.forEach((id, i) => {
    if (missing.has(Number(id))) fields.push({ path: `enterpriseIds.${i}`, code: 'unknown_enterprise' });
  });
  const shown = fields.slice(0, MAX_REPORTED_IDS);
  const listed = fields.length > shown.length ? `; the first ${shown.length} of ${fields.length} are listed` : '';
  throw unprocessable(shown, `no enterprise has these ids${listed}`);
}

export async function setMembers(db: Database, groupId: number, enterpriseIds: string[]): Promise<number> {
  return db.transaction(async (tx) => {
    await staticGroupForUpdate(tx, groupId);
    await replaceMembers(tx, groupId, await knownEnterpriseIds(tx, enterpriseIds));
    return memberCount(tx, groupId);
  });
}

export async function includeMembers(db: Database, groupId: number, enterpriseIds: string[]): Promise<number> {
  return db.transaction(async (tx) => {
    await staticGroupForUpdate(tx, groupId);
    await addMembers(tx, groupId, await knownEnterpriseIds(tx, enterpriseIds));
    return memberCount(tx, groupId);
  });
}

export async function excludeMember(db: Database, groupId: number, enterpriseId: number): Promise<void> {
  await db.transaction(async (tx) => {
    await staticGroupForUpdate(tx, groupId);
    if (!(await removeMember(tx, groupId, enterpriseId))) throw notFound('member');
  });
}

/** The group for reading its members: 404 if unknown, 422 for a rule group. */
export async function staticGroup(db: Database, id: number): Promise<ServiceGroup> {
  const group = await getServiceGroup(db, id);
  if (!group) throw notFound('service group');
  if (group.rule) throw ruleGroupHasNoMembers();
  return group;
}

export interface MemberImportReport {
  memberCount: number;
  failed: number;
  rows: { row: number; creditCode: string | null; errors: FieldProblem[] }[];
}

// Credit codes are looked up this many at a time while the file is read.
const LOOKUP_BATCH_SIZE = 500;

/**
 * Makes a static group's members exactly the enterprises whose credit codes the CSV lists (a
 * `credit_code` column; other columns are ignored, repeats too). Codes that are invalid or name no
 * enterprise are reported with their line and left out; the others are applied. The file is read
 * as a stream, the codes resolved 500 at a time; only their enterprise ids are kept, and the
 * member list is replaced in one transaction at the end, so a file that cannot be read to the
 * end (400 invalid_csv) changes nothing.
 */
export async function importMembers(db: Database, groupId: number, csv: Readable): Promise<MemberImportReport> {
  await staticGroup(db, groupId); // 404 or 422 before the upload is read
  const failed: MemberImportReport['rows'] = [];
  const rowOfId = new Map<number, { row: number; creditCode: string }>();
  let pending: { row: number; creditCode: string }[] = [];

  async function resolve() {
    const ids = await enterpriseIdsByCreditCode(
      db,
      pending.map((p) => p.creditCode),
    );
    for (const { row, creditCode } of pending) {
      const id = ids.get(creditCode);
      if (id === undefined) failed.push({ row, creditCode, errors: [{ path: 'credit_code', code: 'unknown_enterprise' }] });
      else if (!rowOfId.has(id)) rowOfId.set(id, { row, creditCode });
    }
    pending = [];
  }

  const { stoppedAt } = await readCsv(csv, { required: ['credit_code'], optional: [], otherColumns: 'ignore' }, async (record) => {
    const creditCode = normalizeCreditCode(record.cells.credit_code);
    const problem: FieldProblem | undefined =
      record.problems[0] ??
      (creditCode === ''
        ? { path: 'credit_code', code: 'required' }
        : !isValidCreditCode(creditCode)
          ? { path: 'credit_code', code: 'invalid_credit_code' }
          : undefined);
    if (problem) failed.push({ row: record.row, creditCode: creditCode || null, errors: [problem] });
    else pending.push({ row: record.row, creditCode });
    if (pending.length >= LOOKUP_BATCH_SIZE) await resolve();
  });
  if (stoppedAt !== null) {
    throw new ApiError(400, 'invalid_csv', `line ${stoppedAt} is malformed (a quote does not close where it should); nothing was changed`, [
      { path: `line ${stoppedAt}`, code: 'malformed_csv' },
    ]);
  }
  await resolve();

  const count = await db.transaction(async (tx) => {
    await staticGroupForUpdate(tx, groupId);
    // Deleted since they were looked up: reported like the unknown ones.
    const gone = await missingEnterpriseIds(tx, [...rowOfId.keys()]);
    for (const id of gone) failed.push({ ...rowOfId.get(id)!, errors: [{ path: 'credit_code', code: 'unknown_enterprise' }] });
    await replaceMembers(
      tx,
      groupId,
      [...rowOfId.keys()].filter((id) => !gone.has(id)),
    );
    return memberCount(tx, groupId);
  });
  failed.sort((a, b) => a.row - b.row);
  return { memberCount: count, failed: failed.length, rows: failed };
}

/** Who the group reaches now: counts and a sample, computed in SQL. */
export async function audienceOf(db: Database, id: number, sampleSize: number, rule: ReachabilityRule): Promise<GroupAudience> {
  const group = await getServiceGroup(db, id);
  if (!group) throw notFound('service group');
  return groupAudience(db, group, sampleSize, rule);
}
