import { refreshReach } from '@policy-push/db';
import type { Job } from '../registry';

// The reach counters follow the deliveries: recount the (policy, enterprise) pairs that changed.
export const reachRefresh: Job = {
  name: 'reach-refresh',
  cron: () => '*/5 * * * * *',
  async run({ db, logger }) {
    const { pairs, more } = await refreshReach(db, { maxBatches: 50 });
    if (more) logger.info({ pairs }, 'reach counters catching up');
  },
};
