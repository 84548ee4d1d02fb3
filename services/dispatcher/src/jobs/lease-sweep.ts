import { pruneJobRuns, sweepExpiredLeases } from '@policy-push/db';
import type { Job } from '../registry';

// A dispatcher that died mid-send leaves deliveries `sending` with a lease in the past: they go
// back to pending and are sent again, with the delivery id as the provider's idempotency key.
export const leaseSweep: Job = {
  name: 'lease-sweep',
  cron: (s) => s.sweepCron,
  async run({ db, logger }) {
    const swept = await sweepExpiredLeases(db);
    if (swept) logger.warn({ swept }, 'returned deliveries with expired leases to pending');
    await pruneJobRuns(db, 7);
  },
};
