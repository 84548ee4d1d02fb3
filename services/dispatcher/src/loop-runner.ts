import { type Logger, safeError } from '@policy-push/core';
import { isDatabaseUnavailable } from '@policy-push/db';
import { WakeSignal } from './wake-signal';

/** One pass of a loop: does some work and says whether there was any (none: sleep until woken). */
export type LoopStep = () => Promise<boolean>;

/**
 * Runs loops that repeat while there is work, sleep until woken (a NOTIFY, a publish in this
 * process) or the poll interval when there is none, and back off while steps fail.
 */
export class LoopRunner {
  private readonly signal = new WakeSignal();
  private readonly running: Promise<void>[] = [];
  private stopping = false;

  constructor(private readonly opts: { pollIntervalMs: number; log: Logger }) {}

  /** Wakes every sleeping loop now. */
  wake(): void {
    this.signal.wake();
  }

  run(name: string, step: LoopStep): void {
    this.running.push(this.loop(name, step));
  }

  /** Lets each loop finish its current step, and resolves when they have all ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.signal.wake();
    await Promise.all(this.running);
  }

  private async loop(name: string, step: LoopStep): Promise<void> {
    const { log, pollIntervalMs } = this.opts;
    // Consecutive failures: while the database is down or restarting, wait longer each time
    // (up to MAX_BACKOFF_MS) instead of hammering it and the log every poll.
    let failures = 0;
    while (!this.stopping) {
      let worked = false;
      try {
        worked = await step();
        if (failures) log.warn({ loop: name, failures }, 'loop recovered');
        failures = 0;
      } catch (err) {
        failures++;
        if (isDatabaseUnavailable(err)) log.warn({ err: safeError(err), loop: name, failures }, 'database unavailable; backing off');
        else log.error({ err: safeError(err), loop: name, failures }, 'loop step failed');
      }
      if (failures && !this.stopping) await this.signal.wait(backoffMs(failures, pollIntervalMs));
      else if (!worked && !this.stopping) await this.signal.wait(pollIntervalMs);
    }
  }
}

const MAX_BACKOFF_MS = 5_000;

/** Exponential backoff after `failures` failures in a row, from the poll interval up to MAX_BACKOFF_MS. */
export function backoffMs(failures: number, baseMs: number): number {
  return Math.min(MAX_BACKOFF_MS, Math.max(baseMs, 100) * 2 ** Math.min(failures - 1, 10));
}
