import {
  type Category,
  type Database,
  categoryUsage,
  deleteCategory,
  getCategoryForUpdate,
  insertCategory,
  lockCategoryTree,
  updateCategory,
  wouldCreateCycle,
} from '@policy-push/db';
import { conflict, invalidField, isForeignKeyViolation, isUniqueViolation, notFound } from '../../errors';

export interface CategoryInput {
  code: string;
  parentId?: string | null;
  nameZh: string;
  nameEn: string;
}

const toParent = (parentId: string | null | undefined) => (parentId == null ? parentId : Number(parentId));

// The unique and foreign keys are the checks: one statement, no window between check and write.
function writeError(err: unknown): unknown {
  if (isUniqueViolation(err)) return conflict('code', 'duplicate_code', 'a category with this code exists');
  if (isForeignKeyViolation(err)) return invalidField('parentId', 'unknown_category', 'the parent category does not exist');
  return err;
}

export async function createCategory(db: Database, input: CategoryInput): Promise<Category> {
  try {
    return await insertCategory(db, { ...input, parentId: toParent(input.parentId) ?? null });
  } catch (err) {
    throw writeError(err);
  }
}

export async function changeCategory(db: Database, id: number, input: Partial<CategoryInput>): Promise<Category> {
  const { parentId: parentInput, ...rest } = input;
  const values = parentInput === undefined ? rest : { ...rest, parentId: toParent(parentInput) };
  try {
    const row = await db.transaction(async (tx) => {
      if ('parentId' in values && typeof values.parentId === 'number') {
        await lockCategoryTree(tx);
        if (await wouldCreateCycle(tx, id, values.parentId)) {
          throw invalidField('parentId', 'category_cycle', 'the category would become its own ancestor');
        }
      }
      return updateCategory(tx, id, values);
    });
    if (!row) throw notFound('category');
    return row;
  } catch (err) {
    throw writeError(err);
  }
}

const usageMessages = {
  children: 'the category has child categories',
  subscriptions: 'subscriptions name the category',
  policies: 'policies name the category',
};

export async function removeCategory(db: Database, id: number): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      // Lock first, then look for users: a concurrent writer naming this category either
      // committed already (and is seen) or waits on the lock and then finds it gone.
      if (!(await getCategoryForUpdate(tx, id))) throw notFound('category');
      const usage = await categoryUsage(tx, id);
      if (usage) throw conflict('id', 'in_use', usageMessages[usage]);
      await deleteCategory(tx, id);
    });
  } catch (err) {
    if (isForeignKeyViolation(err)) throw conflict('id', 'in_use', usageMessages.children);
    throw err;
  }
}
