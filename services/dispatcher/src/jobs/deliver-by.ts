import { failOverdueWaits } from '@policy-push/db';
import type { Job } from '../registry';

// A delivery whose channel stays paused (WeChat's daily quota, until Beijing midnight) or whose
// provider's circuit stays open past its deliver-by time falls back then, claimed or not.
export const deliverBy: Job = {
  name: 'deliver-by',
  cron: () => '30 * * * * *',
  async run({ db, logger, settings, openCircuits }, firedAt) {
    const failed = await failOverdueWaits(db, {
      now: firedAt,
      openCircuits: openCircuits?.() ?? [],
      deliverByMinutes: settings.deliverByMinutes,
      rule: { requireConfirmedEmail: settings.requireConfirmedEmail },
    });
    if (failed.length) logger.warn({ failed: failed.length }, 'deliveries past their deliver-by time on a closed channel fell back');
  },
};
