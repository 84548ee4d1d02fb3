import type { DispatcherSettings, Logger } from '@policy-push/core';
import { type Database, fanOutNextChunk } from '@policy-push/db';
import type { LoopStep } from './loop-runner';

/**
 * The fan-out loop's step: turns the next chunk of a push's audience into deliveries, and wakes
 * the send loop when it made some.
 */
export function fanOutStep(deps: { db: Database; settings: DispatcherSettings; log: Logger; wakeSenders: () => void }): LoopStep {
  const { db, settings, log } = deps;
  return async () => {
    const chunk = await fanOutNextChunk(db, settings.fanoutChunkSize, { requireConfirmedEmail: settings.requireConfirmedEmail });
    if (chunk && chunk.inserted > 0) deps.wakeSenders();
    if (chunk?.done) log.info({ pushId: chunk.pushId }, 'push fanned out');
    return chunk !== null;
  };
}
