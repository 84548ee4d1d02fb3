// Where sandbox adapters keep what they would have sent, for ops and demos to read. The
// dispatcher provides the recorder that writes table sandbox_messages (createSandboxRecorder);
// unit tests use the one in memory.
import type { Channel, SendResult } from '../channel';

export interface SandboxRecord {
  deliveryId: string;
  channel: Channel;
  recipient: string;
  content: unknown;
  /** What the sandbox answered to the send. */
  outcome: SendResult['outcome'];
}

export interface SandboxRecorder {
  record(entry: SandboxRecord): void;
  /** Writes whatever is buffered; resolves once it is written (or the failure reported). */
  flush(): Promise<void>;
  /** Flushes, then refuses further entries. */
  close(): Promise<void>;
}

export interface MemoryRecorder extends SandboxRecorder {
  readonly entries: SandboxRecord[];
  clear(): void;
}

/** A recorder that keeps entries in memory, for unit tests. */
export function memoryRecorder(): MemoryRecorder {
  const entries: SandboxRecord[] = [];
  return {
    entries,
    record: (entry) => void entries.push(entry),
    flush: async () => {},
    close: async () => {},
    clear: () => void entries.splice(0),
  };
}
