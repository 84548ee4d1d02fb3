import { foldDigests } from '@policy-push/db';
import { shanghaiDate, SHANGHAI_TIME_ZONE } from '@policy-push/core';
import type { Job } from '../registry';

// Daily subscribers hear at 08:30 and weekly ones on Monday at 08:30, Beijing time (ARCHITECTURE.md).

export const dailyDigest: Job = {
  name: 'daily-digest',
  cron: () => '0 30 8 * * *',
  timezone: SHANGHAI_TIME_ZONE,
  async run({ db, logger }, firedAt) {
    const made = await foldDigests(db, 'daily', `daily:${shanghaiDate(firedAt)}`);
    logger.info({ digests: made }, 'daily digests folded');
  },
};

export const weeklyDigest: Job = {
  name: 'weekly-digest',
  cron: () => '0 30 8 * * 1',
  timezone: SHANGHAI_TIME_ZONE,
  async run({ db, logger }, firedAt) {
    const made = await foldDigests(db, 'weekly', `weekly:${shanghaiDate(firedAt)}`);
    logger.info({ digests: made }, 'weekly digests folded');
  },
};
