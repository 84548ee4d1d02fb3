import { validateRule } from '@policy-push/core';
import {
  type Database,
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
import { conflict, invalidField, isForeignKeyViolation, notFound, rejected, unprocessable } from '../../errors';
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
