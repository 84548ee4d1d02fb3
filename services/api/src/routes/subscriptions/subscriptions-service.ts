import {
  type Database,
  type NewSubscription,
  type Subscription,
  type Queryable,
  getEnterprise,
  getSubscriptionForUpdate,
  insertSubscription,
  lockExistingCategoryIds,
  lockExistingDepartmentIds,
  updateSubscription,
} from '@policy-push/db';
import type { Channel } from '@policy-push/core';
import { isForeignKeyViolation, notFound, rejected } from '../../errors';

export interface SubscriptionInput {
  enterpriseId: string;
  categoryIds?: string[];
  departmentIds?: string[];
  channels?: Channel[];
  frequency?: 'immediate' | 'daily' | 'weekly';
  active?: boolean;
}

type Problem = { path: string; code: string; message: string };

const toIds = (ids: string[] | undefined) => ids?.map(Number);

function emptiness(s: { categoryIds?: number[]; departmentIds?: number[] }): Problem[] {
  if (s.categoryIds?.length || s.departmentIds?.length) return [];
  const message = 'a subscription needs at least one category or department';
  return [
    { path: 'categoryIds', code: 'empty_subscription', message },
    { path: 'departmentIds', code: 'empty_subscription', message },
  ];
}

/**
 * The listed ids that name nothing. Those that exist stay share-locked until the transaction
 * ends, so a category or department cannot be deleted between this check and the write.
 */
async function unknownReferences(tx: Queryable, s: { categoryIds?: number[]; departmentIds?: number[] }): Promise<Problem[]> {
  const problems: Problem[] = [];
  const categories = await lockExistingCategoryIds(tx, s.categoryIds ?? []);
  s.categoryIds?.forEach((id, i) => {
    if (!categories.has(id)) problems.push({ path: `categoryIds.${i}`, code: 'unknown_category', message: `no category ${id}` });
  });
  const departments = await lockExistingDepartmentIds(tx, s.departmentIds ?? []);
  s.departmentIds?.forEach((id, i) => {
    if (!departments.has(id)) problems.push({ path: `departmentIds.${i}`, code: 'unknown_department', message: `no department ${id}` });
  });
  return problems;
}

const unknownEnterprise: Problem = { path: 'enterpriseId', code: 'unknown_enterprise', message: 'no such enterprise' };

export async function createSubscription(db: Database, input: SubscriptionInput): Promise<Subscription> {
  const values = {
    ...input,
    enterpriseId: Number(input.enterpriseId),
    categoryIds: toIds(input.categoryIds) ?? [],
    departmentIds: toIds(input.departmentIds) ?? [],
  } satisfies NewSubscription;
  const empty = emptiness(values);
  if (empty.length) throw rejected(empty);
  try {
    return await db.transaction(async (tx) => {
      const problems = (await getEnterprise(tx, values.enterpriseId)) ? [] : [unknownEnterprise];
      problems.push(...(await unknownReferences(tx, values)));
      if (problems.length) throw rejected(problems);
      return insertSubscription(tx, values);
    });
  } catch (err) {
    // The enterprise deleted since the check: its foreign key refuses the row.
    if (isForeignKeyViolation(err)) throw rejected([unknownEnterprise]);
    throw err;
  }
}

export async function changeSubscription(
  db: Database,
  id: number,
  input: Omit<Partial<SubscriptionInput>, 'enterpriseId'>,
): Promise<Subscription> {
  const { categoryIds, departmentIds, ...rest } = input;
  const values: Partial<NewSubscription> = { ...rest };
  if (categoryIds) values.categoryIds = toIds(categoryIds);
  if (departmentIds) values.departmentIds = toIds(departmentIds);
  return db.transaction(async (tx) => {
    // Locked, so that two partial updates emptying different lists cannot both pass the check.
    const current = await getSubscriptionForUpdate(tx, id);
    if (!current) throw notFound('subscription');
    const problems = emptiness({ ...current, ...values });
    if (problems.length) throw rejected(problems);
    const unknown = await unknownReferences(tx, values);
    if (unknown.length) throw rejected(unknown);
    return (await updateSubscription(tx, id, values))!;
  });
}
