import { runArchive } from '@policy-push/db';
import type { Job } from '../registry';

// Keeps the outbox small: finished policies' deliveries move to the archive in short batches, and
// the archive is purged past ARCHIVE_RETENTION_DAYS (packages/db archive-queries.ts). Hourly by
// default; a run stops after a bounded number of batches and the next one carries on, and the
// archiver's advisory lock keeps it to one replica even when a run outlasts its hour.
export const archiveDeliveries: Job = {
  name: 'archive-deliveries',
  cron: (s) => s.retention.cron,
  async run({ db, logger, settings }) {
    const run = await runArchive(db, settings.retention, { maxBatches: 2_000 });
    if (run.deliveries || run.purged || run.more) logger.info({ ...run }, 'deliveries archived');
  },
};
