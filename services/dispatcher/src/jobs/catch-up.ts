import { catchUpNewcomers } from '@policy-push/db';
import type { Job } from '../registry';

// Newcomers (a new subscription, a profile that now matches) get the policies still in force that
// they missed, once (catch-up-queries.ts). The queue is written in the change's own transaction,
// so this job only has to come round: every 30 seconds, a few batches at a time.
export const catchUp: Job = {
  name: 'catch-up',
  cron: () => '*/30 * * * * *',
  async run({ db, logger, settings }, firedAt) {
    for (let i = 0; i < 20; i++) {
      const done = await catchUpNewcomers(db, { now: firedAt, requireConfirmedEmail: settings.requireConfirmedEmail });
      if (done.enterprises) logger.info(done, 'newcomers caught up');
      if (!done.more || !done.enterprises) return;
    }
  },
};
