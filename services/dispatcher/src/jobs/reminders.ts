import { createDueReminders, type Database, refreshReach } from '@policy-push/db';
import type { DispatcherSettings, Logger } from '@policy-push/core';
import type { Job } from '../registry';

/**
 * Takes the follow-up steps due at `now` (reminder-queries.ts): engagement is recounted first, so
 * an enterprise that engaged since the last refresh is not reminded.
 */
export async function runReminders(
  deps: { db: Database; logger: Logger; settings: DispatcherSettings },
  now: Date,
): Promise<Awaited<ReturnType<typeof createDueReminders>>> {
  const { db, logger, settings } = deps;
  await refreshReach(db, { maxBatches: 50 });
  const result = await createDueReminders(db, {
    now,
    maxSteps: settings.reminderMaxSteps,
    rule: { requireConfirmedEmail: settings.requireConfirmedEmail },
  });
  if (result.steps.length || result.cancelled) logger.info({ steps: result.steps, cancelled: result.cancelled }, 'follow-up steps taken');
  return result;
}

// Follow-up reminders, once a minute like the other jobs.
export const reminders: Job = {
  name: 'reminders',
  cron: () => '30 * * * * *',
  async run(deps, firedAt) {
    await runReminders(deps, firedAt);
  },
};
