// The sandbox adapters' recorder over table sandbox_messages, for ops and demos to read. Sends are
// hot and rows are many, so entries are buffered and written in multi-row inserts; recording
// never slows down or fails a send.
import type { SandboxRecorder } from '@policy-push/channels';
import { safeError } from '@policy-push/core';
import { blankErasedSandboxMessages, type Database, sandboxMessages } from '@policy-push/db';

export interface SandboxRecorderOptions {
  /** Rows per insert, and the buffer size that triggers a write at once. Default 500. */
  maxBatch?: number;
  /** Longest time an entry waits in the buffer. Default 200 ms. */
  flushMs?: number;
  /** A failed insert (its rows are dropped) or an entry that cannot be stored. */
  onError?: (err: unknown, lost: number) => void;
}

type Row = typeof sandboxMessages.$inferInsert;

export function createSandboxRecorder(db: Database, opts: SandboxRecorderOptions = {}): SandboxRecorder {
  const maxBatch = Math.max(1, opts.maxBatch ?? 500);
  const flushMs = opts.flushMs ?? 200;
  const onError = opts.onError ?? warn;
  let buffer: Row[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // Inserts run one after another: in order, and one connection at a time (PGlite has one).
  let writing: Promise<void> = Promise.resolve();

  async function insert(rows: Row[]): Promise<void> {
    try {
      await db.insert(sandboxMessages).values(rows);
      await blankErasedSandboxMessages(
        db,
        rows.map((r) => r.deliveryId),
      );
    } catch (err) {
      onError(err, rows.length);
    }
  }

  function drain(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    while (buffer.length > 0) {
      const rows = buffer.slice(0, maxBatch);
      buffer = buffer.slice(maxBatch);
      writing = writing.then(() => insert(rows));
    }
    return writing;
  }

  return {
    record(entry) {
      if (closed) return onError(new Error('sandbox recorder is closed'), 1);
      // delivery ids are bigint in the database; keep them exact rather than rounding.
      const deliveryId = Number(entry.deliveryId);
      if (!Number.isSafeInteger(deliveryId)) return onError(new Error(`sandbox recorder: delivery id is not an integer`), 1);
      buffer.push({ deliveryId, channel: entry.channel, recipient: entry.recipient, content: entry.content, outcome: entry.outcome });
      if (buffer.length >= maxBatch) void drain();
      else if (!timer) {
        timer = setTimeout(() => void drain(), flushMs);
        timer.unref();
      }
    },
    flush: drain,
    async close() {
      closed = true;
      await drain();
    },
  };
}

// Without a callback the failure still shows; safeError drops the query parameters (addresses).
function warn(err: unknown, lost: number): void {
  process.emitWarning(`sandbox recorder lost ${lost} message(s): ${String(safeError(err).message)}`);
}
