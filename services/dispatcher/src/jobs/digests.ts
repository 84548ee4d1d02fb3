import { foldDigests } from '@policy-push/db';
import type { Job } from '../registry';

// Daily subscribers hear at 08:30 and weekly ones on Monday at 08:30, Beijing time (ARCHITECTURE.md).
const shanghaiDate = (d: Date) => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);

export const dailyDigest: Job = {
  name: 'daily-digest',
  cron: () => '0 30 8 * * *',
  timezone: 'Asia/Shanghai',
  async run({ db, logger }, firedAt) {
    const made = await foldDigests(db, 'daily', `daily:${shanghaiDate(firedAt)}`);
    logger.info({ digests: made }, 'daily digests folded');
  },
};

export const weeklyDigest: Job = {
  name: 'weekly-digest',
  cron: () => '0 30 8 * * 1',
  timezone: 'Asia/Shanghai',
  async run({ db, logger }, firedAt) {
    const made = await foldDigests(db, 'weekly', `weekly:${shanghaiDate(firedAt)}`);
    logger.info({ digests: made }, 'weekly digests folded');
  },
};
